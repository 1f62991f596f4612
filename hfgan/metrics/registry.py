"""The one registry of metrics and feature backbones by name, importable without torch (the CLI builds its choices from
it, and model cards read their metric names from it).

Every number hfgan reports comes from a [`Metric`] here: its result keys, the names they carry on a model card and, for
the metrics computed from features, how they are computed, what they need and the settings they record. The metrics
come in groups, each with its own names (`METRIC_GROUPS`):

- `"samples"`, `METRIC_REGISTRY`: fd, kid, pr, memorization; the [`Evaluator`] and `hfgan evaluate --metrics`.
- `"inversion"`, `INVERSION_METRICS`: psnr, fd, latent, alignment; computed together by
  `hfgan.metrics.inversion.evaluate_inversion`, chosen by `training/train_inversion.py`'s `metrics.metrics`.
- `"classification"`, `CLASSIFICATION_METRICS`: accuracy, balanced_accuracy; `classification_metrics`.

A sample metric's `compute` receives a [`MetricContext`] (the features and the [`MetricOptions`]), not the `Evaluator`,
as stylegan2-ada's `metric_main` hands its metrics an options object; the maths is imported when a metric runs.
`BACKBONE_REGISTRY` describes the feature backbones (`hfgan.metrics.backbones.BACKBONES` maps the same names to the
classes). [`display_name`] names any result key for a model card (`hfgan.cards.to_model_index` asks it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    import torch

    from .distances import MemorizationResult

# ------------------------------------------------------------------------------------------------------- backbones


@dataclass(frozen=True)
class BackboneSpec:
    """
    What hfgan says about one feature backbone.

    Args:
        class_name (`str`): its class in `hfgan.metrics.backbones`.
        display_name (`str`): its name in the evaluation protocol (the class's `display_name`).
        card_name (`str`): how it reads in a model card's metric names (`"FD (Inception)"`).
        preprocessing (`str`): how images reach the network, recorded in the protocol.
    """

    class_name: str
    display_name: str
    card_name: str
    preprocessing: str


BACKBONE_REGISTRY: dict[str, BackboneSpec] = {
    "inception": BackboneSpec(
        "InceptionBackbone", "Inception-V3 (FID)", "Inception",
        "uint8 quantisation, TF1-compatible bilinear resize to 299x299 (torch-fidelity), (x - 128) / 128",
    ),
    "dinov2": BackboneSpec(
        "DINOv2Backbone", "DINOv2", "DINOv2",
        "uint8 quantisation, bicubic antialiased resize to 224x224 (no crop), ImageNet mean/std",
    ),
    "emoji-cnn": BackboneSpec(
        "EmojiCNNBackbone", "emoji-cnn", "emoji-cnn",
        "uint8 quantisation, bilinear antialiased resize to 64x64, [0, 1] -> [-1, 1]",
    ),
}
"""Every feature backbone by name (what `--backbone` takes)."""


def backbone_slug(backbone: str) -> str:
    """A backbone's name as result keys carry it: `"emoji-cnn"` -> `"emoji_cnn"`."""
    return backbone.replace("-", "_")


# ------------------------------------------------------------------------------------------------------ the metrics


@dataclass(frozen=True)
class MetricOptions:
    """
    The settings a metric may read: the backbone's, and the `Evaluator`'s.

    Args:
        backbone (`str`): the backbone's name (`"emoji-cnn"`), which result keys carry.
        feature_dim (`int`): the dimension of its features.
        seed (`int`): seed of random subsets (KID).
        kid_subset_size, kid_subsets (`int`): KID's subsets.
        pr_k (`int`): neighbourhood size of precision/recall.
        num_pairs (`int`): closest sample/training pairs kept by the memorisation check.
        heldout_info (`dict`, *optional*): what the held-out features are, for the protocol.
    """

    backbone: str
    feature_dim: int
    seed: int = 0
    kid_subset_size: int = 1000
    kid_subsets: int = 100
    pr_k: int = 3
    num_pairs: int = 8
    heldout_info: dict[str, Any] | None = None


@dataclass(frozen=True)
class MetricContext:
    """What a metric is computed from: generated, reference and held-out features `(n, feature_dim)`, and options."""

    fake: torch.Tensor
    real: torch.Tensor
    heldout: torch.Tensor | None
    options: MetricOptions


BACKBONE = "{backbone}"  # in card names: the backbone's slug in a key pattern, its card name in a display name


@dataclass(frozen=True)
class Metric:
    """
    One metric of the registry: its result keys, their model-card names, how it is computed and what it needs.

    Args:
        keys (`Callable[[str], list[str]]`): the result keys for a backbone name (`"emoji-cnn"` -> `["fd_emoji_cnn"]`).
        card_names (`dict[str, str]`): the keys that go to a model card, as patterns, and their names there;
            `{backbone}` stands for a backbone's slug in a key and for its card name in a name
            (`{"fd_{backbone}": "FD ({backbone})"}`). Keys matching no pattern stay off cards.
        compute (`Callable`, *optional*): `context -> (values, details)` from a [`MetricContext`]: `values` maps result
            keys to numbers; `details` is kept in the `EvaluationResult` (the memorisation result), or None. None for
            metrics computed elsewhere (inversion: `evaluate_inversion`; classification: `classification_metrics`).
        too_few (`Callable`, *optional*): `(options, what, n) -> message` when `n` images (`what`: the samples or the
            reference) are too few for this metric, else None.
        protocol (`Callable`, *optional*): `options -> settings`, recorded in the protocol under the metric's name.
    """

    keys: Callable[[str], list[str]]
    card_names: dict[str, str] = field(default_factory=dict)
    compute: Callable[[MetricContext], tuple[dict[str, float], Any]] | None = None
    too_few: Callable[[MetricOptions, str, int], str | None] | None = None
    protocol: Callable[[MetricOptions], dict[str, Any]] | None = None


def _fixed(*keys: str) -> Callable[[str], list[str]]:
    """The keys of a metric whose keys do not depend on the backbone."""
    return lambda backbone: list(keys)


def _kid_base(backbone: str) -> str:
    return "kid" if backbone == "inception" else f"kid_{backbone_slug(backbone)}"


def _named(metric: str, context: MetricContext, values) -> dict[str, float]:
    """`values` keyed by the result keys of `metric` with the context's backbone, in order."""
    return dict(zip(metric_names(metric, context.options.backbone), values, strict=True))


def _fd(context: MetricContext) -> tuple[dict[str, float], None]:
    from .distances import frechet_distance

    return _named("fd", context, [frechet_distance(context.fake, context.real)]), None


def _fd_too_few(options: MetricOptions, what: str, n: int) -> str | None:
    d, name = options.feature_dim, options.backbone
    if n >= d:
        return None
    return (
        f"the Fréchet distance on {name} features ({d} dimensions) needs at least {d} images; {what} has {n}. "
        "Use more images, or a backbone with fewer dimensions (emoji-cnn: 256)."
    )


def _kid(context: MetricContext) -> tuple[dict[str, float], None]:
    from .distances import kernel_distance

    o = context.options
    values = kernel_distance(
        context.fake, context.real, subset_size=o.kid_subset_size, num_subsets=o.kid_subsets, seed=o.seed
    )
    return _named("kid", context, values), None


def _kid_too_few(options: MetricOptions, what: str, n: int) -> str | None:
    if n >= options.kid_subset_size:
        return None
    return (
        f"KID with kid_subset_size={options.kid_subset_size} needs at least that many images; {what} has {n}. "
        "Use more images or a smaller kid_subset_size."
    )


def _pr(context: MetricContext) -> tuple[dict[str, float], None]:
    from .distances import precision_recall

    return _named("pr", context, precision_recall(context.real, context.fake, k=context.options.pr_k)), None


def _pr_too_few(options: MetricOptions, what: str, n: int) -> str | None:
    k = options.pr_k
    return None if n > k else f"precision/recall with k={k} needs more than {k} images; {what} has {n}"


def _memorization(context: MetricContext) -> tuple[dict[str, float], MemorizationResult]:
    from .distances import memorization

    mem = memorization(context.fake, context.real, context.heldout, num_pairs=context.options.num_pairs)
    prefix = f"memorization_{backbone_slug(context.options.backbone)}_"
    return {prefix + k: v for k, v in mem.summary().items()}, mem


MEMORIZATION_KEYS = ("ratio", "copy_fraction")  # the memorisation numbers that go to a model card
# every memorisation number, as `MemorizationResult.summary()` names them (the last three need held-out images)
MEMORIZATION_SUMMARY = ("nn_median", "nn_p05", "nn_min", "heldout_nn_median", *MEMORIZATION_KEYS)

METRIC_REGISTRY: dict[str, Metric] = {
    "fd": Metric(
        keys=lambda backbone: ["fid" if backbone == "inception" else f"fd_{backbone_slug(backbone)}"],
        card_names={"fid": "FID", f"fd_{BACKBONE}": f"FD ({BACKBONE})"},
        compute=_fd,
        too_few=_fd_too_few,
    ),
    "kid": Metric(
        keys=lambda backbone: [_kid_base(backbone), f"{_kid_base(backbone)}_std"],
        card_names={"kid": "KID", f"kid_{BACKBONE}": f"KID ({BACKBONE})"},
        compute=_kid,
        too_few=_kid_too_few,
        protocol=lambda o: {
            "subset_size": o.kid_subset_size,
            "num_subsets": o.kid_subsets,
            "kernel": "(x.y / d + 1)^3",
            "estimator": "unbiased MMD^2",
        },
    ),
    "pr": Metric(
        keys=lambda backbone: [f"precision_{backbone_slug(backbone)}", f"recall_{backbone_slug(backbone)}"],
        card_names={f"precision_{BACKBONE}": f"Precision ({BACKBONE})", f"recall_{BACKBONE}": f"Recall ({BACKBONE})"},
        compute=_pr,
        too_few=_pr_too_few,
        protocol=lambda o: {"k": o.pr_k, "distance": "euclidean"},
    ),
    "memorization": Metric(
        keys=lambda backbone: [f"memorization_{backbone_slug(backbone)}_{k}" for k in MEMORIZATION_SUMMARY],
        card_names={
            f"memorization_{BACKBONE}_{k}": f"Memorization {k.replace('_', ' ')} ({BACKBONE})"
            for k in MEMORIZATION_KEYS
        },
        compute=_memorization,
        protocol=lambda o: {
            "heldout": o.heldout_info,
            "distance": "euclidean, to the nearest reference image",
            "copy_fraction": "samples closer than the 5% quantile of held-out distances",
        },
    ),
}
"""The sample-quality metrics by name; `METRICS`, `metric_names`, the `Evaluator` and `hfgan evaluate --metrics` read
it, in this order."""

INVERSION_METRICS: dict[str, Metric] = {  # `evaluate_inversion`'s numbers, by train_inversion.py's metrics.metrics
    "psnr": Metric(
        keys=_fixed("reconstruction_psnr", "visible_blobs_per_image"),
        card_names={"reconstruction_psnr": "Reconstruction PSNR (dB)"},
    ),
    "fd": Metric(  # the Fréchet distance between real images and their reconstructions
        keys=lambda backbone: [f"reconstruction_fd_{backbone_slug(backbone)}"],
        card_names={"reconstruction_fd_emoji_cnn": "Reconstruction FD (emoji-cnn)"},  # only emoji-cnn's goes to a card
    ),
    "latent": Metric(
        keys=_fixed("latent_error", "fake_reconstruction_psnr"),
        card_names={
            "fake_reconstruction_psnr": "Reconstruction PSNR on generated images (dB)",
            "latent_error": "Latent error on generated images (MSE)",
        },
    ),
    "alignment": Metric(
        keys=_fixed("object_hit_rate", "blob_in_object_rate", "visible_blobs_per_image"),
        card_names={
            "object_hit_rate": "Objects hit by a visible blob centre",
            "blob_in_object_rate": "Visible blob centres inside an object",
        },
    ),
}

CLASSIFICATION_METRICS: dict[str, Metric] = {  # `classification_metrics`'s numbers
    "accuracy": Metric(keys=_fixed("accuracy"), card_names={"accuracy": "Accuracy"}),
    "balanced_accuracy": Metric(
        keys=_fixed("balanced_accuracy"), card_names={"balanced_accuracy": "Balanced accuracy"}
    ),
}

METRIC_GROUPS: dict[str, dict[str, Metric]] = {
    "samples": METRIC_REGISTRY,
    "inversion": INVERSION_METRICS,
    "classification": CLASSIFICATION_METRICS,
}
"""Every metric, by group and name: a name means one metric within its group (`fd` of samples, `fd` of inversion)."""

METRICS = tuple(METRIC_REGISTRY)


def metric_names(metric: str, backbone: str, group: str = "samples") -> list[str]:
    """Result keys of `metric` ("fd", "kid", "pr", "memorization"; or one of another group's) computed with `backbone`.

    Only Inception-V3 gives `fid` and `kid`; other backbones carry their own name (`fd_dinov2`, `kid_emoji_cnn`, ...)
    so no number is mistaken for a published FID.
    """
    registry = METRIC_GROUPS[group]
    if metric not in registry:
        raise ValueError(f"unknown metric {metric!r}; choose from {', '.join(registry)}")
    return registry[metric].keys(backbone)


def display_name(key: str) -> str | None:
    """The model-card name of a result key (`"fd_emoji_cnn"` -> `"FD (emoji-cnn)"`) from the metric that makes it, or
    None for keys that stay off cards (spreads `*_std`, raw distances, counts)."""
    if key.endswith("_std"):
        return None
    patterns = [item for group in METRIC_GROUPS.values() for m in group.values() for item in m.card_names.items()]
    for pattern, name in patterns:  # whole keys first ("fid" before "fd_{backbone}")
        if pattern == key:
            return name
    for pattern, name in patterns:
        if BACKBONE in pattern:
            prefix, suffix = pattern.split(BACKBONE)
            if key.startswith(prefix) and key.endswith(suffix):
                slug = key[len(prefix) : len(key) - len(suffix)]
                return name.replace(BACKBONE, _CARD_NAMES.get(slug, slug))
    return None


_CARD_NAMES = {backbone_slug(name): spec.card_name for name, spec in BACKBONE_REGISTRY.items()}  # by slug
