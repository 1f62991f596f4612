"""Evaluate a generator against a dataset: sample in chunks, extract features, compute the chosen metrics.

```py
from hfgan.metrics import Evaluator

evaluator = Evaluator("data/emoji", backbone="emoji-cnn", metrics=["fd", "kid"], num_samples=5000)
scores = evaluator(pipe)          # {"fd_emoji_cnn": ..., "kid_emoji_cnn": ..., "kid_emoji_cnn_std": ...}
result = evaluator.evaluate(pipe) # the same, with the protocol, memorisation details and closest-pairs picture
```
"""

from __future__ import annotations

import datetime
import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

import PIL.Image
import torch

from ..cards import to_model_index
from .backbones import FeatureBackbone, extract_features, load_backbone, to_uint8
from .distances import MemorizationResult, nearest_neighbor_distances
from .registry import BACKBONE_REGISTRY, METRIC_REGISTRY, Metric, MetricContext, MetricOptions
from ..version import __version__
from .reference import ReferenceDataset, cache_path, default_cache_dir, read_cached_features, write_cached_features

logger = logging.getLogger(__name__)


@dataclass
class EvaluationResult:
    """
    What one evaluation measured, and how.

    Args:
        metrics (`dict[str, float]`): the numbers, keyed as [`metric_names`] says.
        protocol (`dict`): backbone and weights, preprocessing, sample counts, reference split, KID/PR settings.
        memorization ([`MemorizationResult`], *optional*): per-sample nearest-training-image distances.
        closest_pairs (`PIL.Image.Image`, *optional*): top row the generated samples closest to a training image,
            bottom row those training images.
    """

    metrics: dict[str, float]
    protocol: dict[str, Any]
    memorization: MemorizationResult | None = None
    closest_pairs: PIL.Image.Image | None = None
    closest_pairs_info: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able: metrics, protocol, the model-index list and, with memorisation, distance quantiles."""
        out: dict[str, Any] = {
            "metrics": self.metrics,
            "protocol": self.protocol,
            "model_index": to_model_index(self.metrics),
        }
        if self.memorization is not None:
            qs = (0.0, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 1.0)
            d = self.memorization.distances.double()
            out["memorization"] = {
                "sample_nn_distance_quantiles": {str(q): float(torch.quantile(d, q)) for q in qs},
                "closest_pairs": self.closest_pairs_info,
            }
            if self.memorization.heldout_distances is not None:
                h = self.memorization.heldout_distances.double()
                out["memorization"]["heldout_nn_distance_quantiles"] = {str(q): float(torch.quantile(h, q)) for q in qs}
        return out

    def save(self, path: str | os.PathLike) -> Path:
        """Write the JSON to `path` (atomically); with memorisation, also the closest pairs as
        `<path stem>.closest_pairs.png` beside it."""
        from ..utils import atomic_write

        path = Path(path)
        data = self.to_dict()
        if self.closest_pairs is not None:
            png = path.with_name(path.stem + ".closest_pairs.png")
            atomic_write(png, lambda tmp: self.closest_pairs.save(tmp, format="PNG"))
            data.setdefault("memorization", {})["closest_pairs_image"] = png.name
        atomic_write(path, lambda tmp: Path(tmp).write_text(json.dumps(data, indent=2) + "\n"))
        return path


def closest_pairs_grid(samples: torch.Tensor, train_images: torch.Tensor, padding: int = 2) -> PIL.Image.Image:
    """Generated samples (top row) over their nearest training images (bottom row), same order.

    Args:
        samples, train_images: `(k, 3, H, W)` each, float in [0, 1] or uint8. The training images are resized to the
            samples' size when they differ.
    """
    from ..utils import make_image_grid

    samples, train_images = to_uint8(samples), to_uint8(train_images)
    if len(samples) != len(train_images) or len(samples) == 0:
        raise ValueError(f"need as many samples as training images (>0), got {len(samples)} and {len(train_images)}")
    if train_images.shape[-2:] != samples.shape[-2:]:
        train_images = (
            torch.nn.functional.interpolate(
                train_images.float(), size=samples.shape[-2:], mode="bilinear", antialias=True
            )
            .round()
            .clamp(0, 255)
            .to(torch.uint8)
        )
    images = torch.cat([samples, train_images]).float() / 255
    return make_image_grid(images, rows=2, cols=len(samples), padding=padding)


class _ClosestTracker:
    """Keeps, across chunks, the `k` generated images nearest to a training image (without storing all samples)."""

    def __init__(self, train_features: torch.Tensor, k: int):
        self.train_features, self.k = train_features, k
        self.distances = torch.empty(0, dtype=torch.float64)
        self.indices = torch.empty(0, dtype=torch.long)
        self.images = torch.empty(0, dtype=torch.uint8)

    def update(self, images: torch.Tensor, features: torch.Tensor, offset: int) -> None:
        d, _ = nearest_neighbor_distances(features, self.train_features)
        distances = torch.cat([self.distances, d.cpu()])
        indices = torch.cat([self.indices, torch.arange(offset, offset + len(d))])
        pool = torch.cat([self.images, to_uint8(images).cpu()]) if len(self.images) else to_uint8(images).cpu()
        order = distances.argsort(stable=True)[: self.k]
        self.distances, self.indices, self.images = distances[order], indices[order], pool[order]


def _check_count(name: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return value


class Evaluator:
    r"""
    Computes FD / KID / precision-recall / memorisation of a generator against a reference dataset.

    Constructing it loads the backbone and the reference features (from the disk cache, or computed once and
    cached), and checks that the sample counts suit the metrics, so a bad configuration fails before any sampling.
    Calling it samples `num_samples` images in chunks of `batch_size` with a fixed seed (the same images at every
    call for the same weights), extracts their features and returns the metrics.

    Args:
        reference (`str`, `os.PathLike` or `torch.Tensor`):
            A dataset, any source of `hfgan.data.resolve_data_source` (`"emoji"`, a parquet file, a folder of
            parquet files or of images, a Hub dataset repo id), or images `(N, 3, H, W)` in [0, 1] or uint8.
        backbone (`str` or [`FeatureBackbone`], defaults to `"emoji-cnn"`):
            `"inception"` (FID), `"dinov2"` or `"emoji-cnn"` (offline), or a loaded backbone.
        metrics (`Sequence[str]`, defaults to `("fd",)`): any of `"fd"`, `"kid"`, `"pr"`, `"memorization"` (or of
            the metrics registered in `hfgan.metrics.registry.METRIC_REGISTRY`).
        num_samples (`int`, defaults to 10000): generated samples per evaluation.
        split (`str`, defaults to `"train"`): the reference split. Memorisation compares samples with it, so it should
            be the split the model was trained on.
        heldout (`str` or `torch.Tensor`, *optional*, defaults to `"test"`):
            Real images not trained on, for the memorisation baseline: a split of `reference`, or images. Skipped
            (with a log message) when the dataset has no such split.
        resolution (`int`, *optional*): resize reference images to this size first (Lanczos), normally the model's
            resolution; by default they stay at their native size.
        backbone_weights (`str`, *optional*): weights file/folder (or DINOv2 repo id) for the backbone.
        batch_size (`int`, defaults to 250): images sampled and embedded at once.
        device (`str`, defaults to `"cpu"`): where the backbone runs (the model stays where it is).
        seed (`int`, defaults to 0): seed of the sampling and of the KID subsets.
        kid_subset_size (`int`, defaults to 1000), kid_subsets (`int`, defaults to 100): KID subsets.
        pr_k (`int`, defaults to 3): neighbourhood size of precision/recall.
        num_pairs (`int`, defaults to 8): closest sample/training pairs shown by the memorisation check.
        cache_dir (`str`, *optional*): where reference features are cached (default `$HFGAN_CACHE/metrics`, i.e.
            `~/.cache/hfgan/metrics`); `False` turns the disk cache off.
    """

    def __init__(
        self,
        reference: str | os.PathLike | torch.Tensor,
        backbone: str | FeatureBackbone = "emoji-cnn",
        metrics: Sequence[str] = ("fd",),
        num_samples: int = 10_000,
        *,
        split: str = "train",
        heldout: str | torch.Tensor | None = "test",
        resolution: int | None = None,
        backbone_weights: str | os.PathLike | None = None,
        batch_size: int = 250,
        device: str | torch.device = "cpu",
        seed: int = 0,
        kid_subset_size: int = 1000,
        kid_subsets: int = 100,
        pr_k: int = 3,
        num_pairs: int = 8,
        cache_dir: str | os.PathLike | bool | None = None,
    ):
        metrics = [metrics] if isinstance(metrics, str) else list(dict.fromkeys(metrics))
        unknown = [m for m in metrics if m not in METRIC_REGISTRY]  # registered now
        if unknown or not metrics:
            raise ValueError(f"unknown metrics {unknown}; choose one or more of {', '.join(METRIC_REGISTRY)}")
        self.metrics = metrics
        self.num_samples = _check_count("num_samples", num_samples)
        self.batch_size = _check_count("batch_size", batch_size)
        self.kid_subset_size = _check_count("kid_subset_size", kid_subset_size, 2)
        self.kid_subsets = _check_count("kid_subsets", kid_subsets)
        self.pr_k = _check_count("pr_k", pr_k)
        self.num_pairs = _check_count("num_pairs", num_pairs)
        self.resolution = None if resolution is None else _check_count("resolution", resolution, 8)
        self.seed, self.device, self.split = seed, torch.device(device), split
        if cache_dir is False:
            self.cache_dir = None
        else:
            self.cache_dir = Path(cache_dir) if cache_dir not in (None, True) else default_cache_dir()

        self.backbone = backbone if isinstance(backbone, FeatureBackbone) else load_backbone(backbone, backbone_weights)
        self.backbone.to(self.device)
        self.heldout_features: torch.Tensor | None = None
        self.heldout_info: dict[str, Any] | None = None
        self._check_sample_counts("num_samples", self.num_samples)

        # reference (training) features, and held-out features for the memorisation baseline
        self._reference_images: torch.Tensor | None = None
        if isinstance(reference, torch.Tensor):
            self.dataset = None
            self._reference_images = self._resize(to_uint8(reference))
            self.reference_features = extract_features(self.backbone, self._reference_images, batch_size)
            self.reference_info = {"dataset": "in-memory images", "split": None}
        else:
            self.dataset = ReferenceDataset(reference, split)
            self.reference_features = self._dataset_features(self.dataset)
            self.reference_info = {
                "dataset": self.dataset.name,
                "split": split,
                "data_fingerprint": self.dataset.fingerprint,
            }
        self.reference_info.update(num_images=len(self.reference_features), resolution=self.resolution or "native")
        self._check_sample_counts("the reference", len(self.reference_features))

        if "memorization" in self.metrics and heldout is not None:
            if isinstance(heldout, torch.Tensor):
                self.heldout_features = extract_features(self.backbone, self._resize(to_uint8(heldout)), batch_size)
                self.heldout_info = {"dataset": "in-memory images", "num_images": len(self.heldout_features)}
            elif self.dataset is not None:
                try:
                    heldout_dataset = ReferenceDataset(reference, heldout)
                except ValueError:  # no such split (a single parquet file has only "train")
                    heldout_dataset = None
                if heldout_dataset is not None:
                    self.heldout_features = self._dataset_features(heldout_dataset)
                    self.heldout_info = {"split": heldout, "num_images": len(self.heldout_features)}
            if self.heldout_features is None:
                logger.warning(
                    "no held-out split %r in %s: memorisation is reported without a baseline",
                    heldout,
                    self.reference_info["dataset"],
                )

    # ------------------------------------------------------------------------------------------------ reference

    def _resize(self, images: torch.Tensor) -> torch.Tensor:
        if self.resolution is None or tuple(images.shape[-2:]) == (self.resolution, self.resolution):
            return images
        from ..data import decode_images

        return decode_images([PIL.Image.fromarray(a.permute(1, 2, 0).numpy()) for a in images], self.resolution)

    def _dataset_features(self, dataset: ReferenceDataset) -> torch.Tensor:
        key = dataset.cache_key(self.resolution, self.backbone)
        path = cache_path(self.cache_dir, key) if self.cache_dir is not None else None
        if path is not None:
            features = read_cached_features(path, key)
            if features is not None:
                logger.info("reference features of %s/%s read from %s", dataset.name, dataset.split, path)
                return features
        start = time.perf_counter()
        images = dataset.load_images(self.resolution)
        if dataset.split == self.split:
            self._reference_images = images
        features = extract_features(self.backbone, images, self.batch_size)
        logger.info(
            "reference features of %s/%s (%d images) computed in %.1f s",
            dataset.name,
            dataset.split,
            len(images),
            time.perf_counter() - start,
        )
        if path is not None:
            write_cached_features(path, key, features)
        return features

    def reference_images(self) -> torch.Tensor:
        """The reference images, uint8 `(N, 3, H, W)` (decoded on first use when the features came from the cache)."""
        if self._reference_images is None:
            self._reference_images = self.dataset.load_images(self.resolution)
        return self._reference_images

    def _chosen(self) -> list[tuple[str, Metric]]:
        """The chosen metrics in the registry's order (the order of the results, whatever order they were asked in)."""
        return [(name, metric) for name, metric in METRIC_REGISTRY.items() if name in self.metrics]

    def options(self) -> MetricOptions:
        """The settings the metrics read (see [`MetricOptions`])."""
        return MetricOptions(
            backbone=self.backbone.name,
            feature_dim=self.backbone.feature_dim,
            seed=self.seed,
            kid_subset_size=self.kid_subset_size,
            kid_subsets=self.kid_subsets,
            pr_k=self.pr_k,
            num_pairs=self.num_pairs,
            heldout_info=self.heldout_info,
        )

    def _check_sample_counts(self, what: str, n: int) -> None:
        options = self.options()
        for _, metric in self._chosen():
            problem = metric.too_few(options, what, n) if metric.too_few is not None else None
            if problem is not None:
                raise ValueError(problem)

    # --------------------------------------------------------------------------------------------------- samples

    def _chunks(self, model) -> Iterator[torch.Tensor]:
        """Generated images in [0, 1], `batch_size` at a time, `num_samples` in all."""
        if isinstance(model, torch.Tensor):
            if len(model) < self.num_samples:
                raise ValueError(f"{len(model)} images given but num_samples={self.num_samples}")
            yield from model[: self.num_samples].split(self.batch_size)
            return
        from ..pipelines.pipeline_utils import GENERATION, check_generates, pipeline_for

        pipe = model
        if isinstance(model, torch.nn.Module):
            pipe = pipeline_for(model, task=GENERATION)  # a bare generator network, in the pipeline made of it alone
        if pipe is None or not hasattr(pipe, "components"):
            raise TypeError(
                f"cannot sample from a {type(model).__name__}: pass a pipeline, a generator model, or an image tensor"
            )
        check_generates(pipe)
        pipe.set_progress_bar_config(disable=True)
        generator = torch.Generator().manual_seed(self.seed)
        remaining = self.num_samples
        while remaining > 0:
            n = min(self.batch_size, remaining)
            images = pipe(num_images=n, generator=generator, output_type="pt", max_batch_size=self.batch_size).images
            remaining -= n
            yield images

    def evaluate(self, model) -> EvaluationResult:
        """Sample from `model` (a pipeline, a generator model, or images `(N, 3, H, W)` in [0, 1]) and measure it."""
        start = time.perf_counter()
        tracker = None
        if "memorization" in self.metrics:
            tracker = _ClosestTracker(self.reference_features, self.num_pairs)
        features, generated_size = [], None
        for chunk in self._chunks(model):
            generated_size = tuple(chunk.shape[-2:])
            chunk_features = self.backbone(chunk)
            if tracker is not None:
                tracker.update(chunk, chunk_features, sum(len(f) for f in features))
            features.append(chunk_features)
        fake = torch.cat(features)
        sampling_seconds = time.perf_counter() - start

        metric_start = time.perf_counter()
        context = MetricContext(fake, self.reference_features, self.heldout_features, self.options())
        results: dict[str, float] = {}
        details: dict[str, Any] = {}
        for name, metric in self._chosen():
            values, details[name] = metric.compute(context)
            results.update(values)
        mem = details.get("memorization")
        closest_pairs, closest_info = None, []
        if mem is not None:  # the closest generated/training pairs, tracked while sampling
            train_idx = mem.indices[tracker.indices]
            closest_info = [
                {"sample": int(s), "train_index": int(t), "distance": float(d)}
                for s, t, d in zip(tracker.indices, train_idx, tracker.distances, strict=True)
            ]
            closest_pairs = closest_pairs_grid(tracker.images, self.reference_images()[train_idx])
        metric_seconds = time.perf_counter() - metric_start

        protocol = self.protocol()
        protocol.update(
            generated_resolution=list(generated_size) if generated_size else None,
            seconds={"sampling_and_features": round(sampling_seconds, 2), "metrics": round(metric_seconds, 2)},
        )
        if generated_size and self.reference_images_size() not in (None, generated_size):
            logger.warning(
                "generated images are %s but reference images are %s: both are resized by the backbone, but "
                "pass resolution= to compare at the model's resolution",
                generated_size,
                self.reference_images_size(),
            )
        return EvaluationResult(results, protocol, mem, closest_pairs, closest_info)

    def reference_images_size(self) -> tuple[int, int] | None:
        if self.resolution is not None:
            return (self.resolution, self.resolution)
        if self._reference_images is not None:
            return tuple(self._reference_images.shape[-2:])
        return None

    def __call__(self, model) -> dict[str, float]:
        """The metrics of `model` as `{name: value}` (see [`metric_names`]); [`evaluate`] has the details."""
        return self.evaluate(model).metrics

    def protocol(self) -> dict[str, Any]:
        """How the numbers are computed, for the result JSON."""
        b = self.backbone
        spec = BACKBONE_REGISTRY.get(b.name)
        protocol: dict[str, Any] = {
            "metrics": self.metrics,
            "backbone": {
                "name": b.name,
                "display_name": b.display_name,
                "feature_dim": b.feature_dim,
                "weights": b.weights_source,
                "weights_sha256_16": b.fingerprint(),
                "preprocessing": spec.preprocessing if spec is not None else "custom",
            },
            "num_samples": self.num_samples,
            "seed": self.seed,
            "batch_size": self.batch_size,
            "reference": self.reference_info,
            "hfgan_version": __version__,
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        }
        options = self.options()
        for name, metric in self._chosen():
            if metric.protocol is not None:
                protocol[name] = metric.protocol(options)
        return protocol
