"""Sample-quality metrics: Fréchet distance, KID, precision/recall and a memorisation check, on any backbone.

The maths (`distances`) works on feature tensors; backbones (`backbones`) turn images into features; the
[`Evaluator`] (`evaluate`) samples a generator in chunks and caches reference features. See docs/metrics.md.
"""

from ..models.emoji_cnn import EmojiFeatureNet, EmojiFeatureNetOutput  # the network lives with the others
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
from .evaluate import (
    METRIC_REGISTRY,
    METRICS,
    EvaluationResult,
    Evaluator,
    Metric,
    closest_pairs_grid,
    metric_names,
    to_model_index,
)

__all__ = [
    "BACKBONES",
    "METRICS",
    "METRIC_REGISTRY",
    "BackboneWeightsError",
    "DINOv2Backbone",
    "EmojiCNNBackbone",
    "EmojiFeatureNet",
    "EmojiFeatureNetOutput",
    "EvaluationResult",
    "Evaluator",
    "FeatureBackbone",
    "InceptionBackbone",
    "MemorizationResult",
    "Metric",
    "closest_pairs_grid",
    "extract_features",
    "feature_statistics",
    "frechet_distance",
    "frechet_distance_from_statistics",
    "kernel_distance",
    "load_backbone",
    "memorization",
    "metric_names",
    "nearest_neighbor_distances",
    "precision_recall",
    "to_model_index",
]
