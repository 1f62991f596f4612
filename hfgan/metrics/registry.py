"""The registry of metrics and backbones by name, importable without torch (the CLI builds its choices from it).

`METRIC_REGISTRY` says, for each metric, its result keys, how it is computed from feature tensors and what it needs;
the `Evaluator`, `metric_names` and `hfgan evaluate --metrics` read it. `BACKBONE_CLASSES` names the feature backbones
(`hfgan.metrics.backbones.BACKBONES` maps the same names to the classes). The maths is imported when a metric runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from ..cards import MEMORIZATION_KEYS

if TYPE_CHECKING:
    import torch

    from .distances import MemorizationResult
    from .evaluate import Evaluator

# every memorisation number, as `MemorizationResult.summary()` names them (the last three need held-out images)
MEMORIZATION_SUMMARY = ("nn_median", "nn_p05", "nn_min", "heldout_nn_median", *MEMORIZATION_KEYS)

BACKBONE_CLASSES = {"inception": "InceptionBackbone", "dinov2": "DINOv2Backbone", "emoji-cnn": "EmojiCNNBackbone"}
"""Every feature backbone by name, and the name of its class in `hfgan.metrics.backbones`."""


# ---------------------------------------------------------------------------------------------------- the registry


@dataclass(frozen=True)
class Metric:
    """
    One metric of `METRIC_REGISTRY`: its result keys, how it is computed and what it needs.

    Args:
        keys (`Callable[[str], list[str]]`): the result keys for a backbone name (`"emoji-cnn"` -> `["fd_emoji_cnn"]`).
        compute (`Callable`): `(fake, real, evaluator) -> (values, details)`: `values` maps result keys to numbers
            computed from generated and reference features; `details` is kept in the [`EvaluationResult`] (the
            memorisation result), or None.
        too_few (`Callable`, *optional*): `(evaluator, what, n) -> message` when `n` images (`what`: the samples or
            the reference) are too few for this metric, else None.
        protocol (`Callable`, *optional*): `evaluator -> settings`, recorded in the protocol under the metric's name.
    """

    keys: Callable[[str], list[str]]
    compute: Callable[[torch.Tensor, torch.Tensor, "Evaluator"], tuple[dict[str, float], Any]]
    too_few: Callable[["Evaluator", str, int], str | None] | None = None
    protocol: Callable[["Evaluator"], dict[str, Any]] | None = None


def _slug(backbone: str) -> str:
    return backbone.replace("-", "_")


def _kid_base(backbone: str) -> str:
    return "kid" if backbone == "inception" else f"kid_{_slug(backbone)}"


def _named(metric: str, evaluator, values) -> dict[str, float]:
    """`values` keyed by the result keys of `metric` with the evaluator's backbone, in order."""
    return dict(zip(metric_names(metric, evaluator.backbone.name), values, strict=True))


def _fd(fake, real, evaluator) -> tuple[dict[str, float], None]:
    from .distances import frechet_distance

    return _named("fd", evaluator, [frechet_distance(fake, real)]), None


def _fd_too_few(evaluator, what: str, n: int) -> str | None:
    d, name = evaluator.backbone.feature_dim, evaluator.backbone.name
    if n >= d:
        return None
    return (
        f"the Fréchet distance on {name} features ({d} dimensions) needs at least {d} images; {what} has {n}. "
        "Use more images, or a backbone with fewer dimensions (emoji-cnn: 256)."
    )


def _kid(fake, real, evaluator) -> tuple[dict[str, float], None]:
    from .distances import kernel_distance

    values = kernel_distance(
        fake, real, subset_size=evaluator.kid_subset_size, num_subsets=evaluator.kid_subsets, seed=evaluator.seed
    )
    return _named("kid", evaluator, values), None


def _kid_too_few(evaluator, what: str, n: int) -> str | None:
    if n >= evaluator.kid_subset_size:
        return None
    return (
        f"KID with kid_subset_size={evaluator.kid_subset_size} needs at least that many images; {what} has {n}. "
        "Use more images or a smaller kid_subset_size."
    )


def _pr(fake, real, evaluator) -> tuple[dict[str, float], None]:
    from .distances import precision_recall

    return _named("pr", evaluator, precision_recall(real, fake, k=evaluator.pr_k)), None


def _pr_too_few(evaluator, what: str, n: int) -> str | None:
    k = evaluator.pr_k
    return None if n > k else f"precision/recall with k={k} needs more than {k} images; {what} has {n}"


def _memorization(fake, real, evaluator) -> tuple[dict[str, float], MemorizationResult]:
    from .distances import memorization

    mem = memorization(fake, real, evaluator.heldout_features, num_pairs=evaluator.num_pairs)
    prefix = f"memorization_{_slug(evaluator.backbone.name)}_"
    return {prefix + k: v for k, v in mem.summary().items()}, mem


METRIC_REGISTRY: dict[str, Metric] = {
    "fd": Metric(
        keys=lambda backbone: ["fid" if backbone == "inception" else f"fd_{_slug(backbone)}"],
        compute=_fd,
        too_few=_fd_too_few,
    ),
    "kid": Metric(
        keys=lambda backbone: [_kid_base(backbone), f"{_kid_base(backbone)}_std"],
        compute=_kid,
        too_few=_kid_too_few,
        protocol=lambda e: {
            "subset_size": e.kid_subset_size,
            "num_subsets": e.kid_subsets,
            "kernel": "(x.y / d + 1)^3",
            "estimator": "unbiased MMD^2",
        },
    ),
    "pr": Metric(
        keys=lambda backbone: [f"precision_{_slug(backbone)}", f"recall_{_slug(backbone)}"],
        compute=_pr,
        too_few=_pr_too_few,
        protocol=lambda e: {"k": e.pr_k, "distance": "euclidean"},
    ),
    "memorization": Metric(
        keys=lambda backbone: [f"memorization_{_slug(backbone)}_{k}" for k in MEMORIZATION_SUMMARY],
        compute=_memorization,
        protocol=lambda e: {
            "heldout": e.heldout_info,
            "distance": "euclidean, to the nearest reference image",
            "copy_fraction": "samples closer than the 5% quantile of held-out distances",
        },
    ),
}
"""Every metric by name; `METRICS`, `metric_names`, the `Evaluator` and `hfgan evaluate --metrics` read it."""

METRICS = tuple(METRIC_REGISTRY)


def metric_names(metric: str, backbone: str) -> list[str]:
    """Result keys of `metric` ("fd", "kid", "pr", "memorization") computed with `backbone`.

    Only Inception-V3 gives `fid` and `kid`; other backbones carry their own name (`fd_dinov2`, `kid_emoji_cnn`, ...)
    so no number is mistaken for a published FID.
    """
    if metric not in METRIC_REGISTRY:
        raise ValueError(f"unknown metric {metric!r}; choose from {', '.join(METRICS)}")
    return METRIC_REGISTRY[metric].keys(backbone)
