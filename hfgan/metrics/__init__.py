"""Sample-quality metrics: Fréchet distance, KID, precision/recall and a memorisation check, on any backbone; and
BlobGAN inversion's (`inversion`: reconstruction PSNR, latent error, blob-object alignment).

The maths (`distances`) works on feature tensors; backbones (`backbones`) turn images into features; the
[`Evaluator`] (`evaluate`) samples a generator in chunks and caches reference features. Every metric and backbone is
named in one torch-free registry (`registry`). See docs/metrics.md.
"""

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

_MODULES = {  # where each public name lives; imported on first use
    "..models.emoji_cnn": ["EmojiFeatureNet", "EmojiFeatureNetOutput"],
    ".backbones": [
        "BACKBONES",
        "BackboneWeightsError",
        "DINOv2Backbone",
        "EmojiCNNBackbone",
        "FeatureBackbone",
        "InceptionBackbone",
        "extract_features",
        "load_backbone",
    ],
    ".distances": [
        "MemorizationResult",
        "feature_statistics",
        "frechet_distance",
        "frechet_distance_from_statistics",
        "kernel_distance",
        "memorization",
        "nearest_neighbor_distances",
        "precision_recall",
    ],
    ".classification": ["classification_metrics", "evaluate_classifier"],
    ".inversion": [
        "blob_object_alignment",
        "blob_peak_alphas",
        "evaluate_inversion",
        "latent_error",
        "psnr",
        "scenes_with_boxes",
        "visible_blobs",
    ],
    ".registry": ["METRIC_REGISTRY", "METRICS", "Metric", "MetricContext", "MetricOptions", "metric_names"],
    ".evaluate": ["EvaluationResult", "Evaluator", "closest_pairs_grid"],
    "..cards": ["to_model_index"],
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, _MODULES)

if TYPE_CHECKING:
    from ..models.emoji_cnn import EmojiFeatureNet, EmojiFeatureNetOutput
    from .backbones import (
        BACKBONES,
        BackboneWeightsError,
        DINOv2Backbone,
        EmojiCNNBackbone,
        FeatureBackbone,
        InceptionBackbone,
        extract_features,
        load_backbone,
    )
    from .classification import classification_metrics, evaluate_classifier
    from .inversion import (
        blob_object_alignment,
        blob_peak_alphas,
        evaluate_inversion,
        latent_error,
        psnr,
        scenes_with_boxes,
        visible_blobs,
    )
    from .distances import (
        MemorizationResult,
        feature_statistics,
        frechet_distance,
        frechet_distance_from_statistics,
        kernel_distance,
        memorization,
        nearest_neighbor_distances,
        precision_recall,
    )
    from ..cards import to_model_index
    from .evaluate import EvaluationResult, Evaluator, closest_pairs_grid
    from .registry import METRIC_REGISTRY, METRICS, Metric, MetricContext, MetricOptions, metric_names
