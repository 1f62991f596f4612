"""Sample-quality metrics: Fréchet distance, KID, precision/recall and a memorisation check, on any backbone.

The maths (`distances`) works on feature tensors; backbones (`backbones`) turn images into features; the
[`Evaluator`] (`evaluate`) samples a generator in chunks and caches reference features. See docs/metrics.md.
"""

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

_EXPORTS = {
    "EmojiFeatureNet": "..models.emoji_cnn",
    "EmojiFeatureNetOutput": "..models.emoji_cnn",
    "BACKBONES": ".backbones",
    "BackboneWeightsError": ".backbones",
    "DINOv2Backbone": ".backbones",
    "EmojiCNNBackbone": ".backbones",
    "FeatureBackbone": ".backbones",
    "InceptionBackbone": ".backbones",
    "extract_features": ".backbones",
    "load_backbone": ".backbones",
    "MemorizationResult": ".distances",
    "feature_statistics": ".distances",
    "frechet_distance": ".distances",
    "frechet_distance_from_statistics": ".distances",
    "kernel_distance": ".distances",
    "memorization": ".distances",
    "nearest_neighbor_distances": ".distances",
    "precision_recall": ".distances",
    "METRIC_REGISTRY": ".registry",
    "METRICS": ".registry",
    "EvaluationResult": ".evaluate",
    "Evaluator": ".evaluate",
    "Metric": ".registry",
    "closest_pairs_grid": ".evaluate",
    "metric_names": ".registry",
    "to_model_index": "..cards",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

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
    from .registry import METRIC_REGISTRY, METRICS, Metric, metric_names
