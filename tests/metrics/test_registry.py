"""The one metric registry: every metric names its result keys and their model-card names, it imports without torch,
and a metric registered there is computed by the Evaluator from a small context and named on the card."""

import json
import subprocess
import sys

import pytest
import torch

from hfgan.cards import to_model_index
from hfgan.metrics import BACKBONES, Evaluator, Metric, MetricContext
from hfgan.metrics.registry import (
    BACKBONE_REGISTRY,
    INVERSION_METRICS,
    METRIC_GROUPS,
    METRIC_REGISTRY,
    METRICS,
    display_name,
    metric_names,
)

# the result keys that stay off model cards: spreads, raw memorisation distances, counts, and the reconstruction FD of
# the backbones other than emoji-cnn (as before the registry)
OFF_CARD = {
    "kid_std", "kid_dinov2_std", "kid_emoji_cnn_std", "visible_blobs_per_image",
    "reconstruction_fd_inception", "reconstruction_fd_dinov2",
    *(f"memorization_{slug}_{k}" for slug in ("inception", "dinov2", "emoji_cnn")
      for k in ("nn_median", "nn_p05", "nn_min", "heldout_nn_median")),
}


def test_every_registered_key_has_a_card_name_or_stays_off_cards():
    keys = {
        key
        for group in METRIC_GROUPS.values()
        for metric in group.values()
        for backbone in BACKBONE_REGISTRY
        for key in metric.keys(backbone)
    }
    assert {key for key in keys if display_name(key) is None} == OFF_CARD
    assert display_name("fid") == "FID" and display_name("kid") == "KID"
    assert display_name("precision_inception") == "Precision (Inception)"
    assert display_name("memorization_dinov2_copy_fraction") == "Memorization copy fraction (DINOv2)"
    assert display_name("balanced_accuracy") == "Balanced accuracy"
    assert display_name("object_hit_rate") == "Objects hit by a visible blob centre"
    assert display_name("fd_mean_colour") == "FD (mean_colour)"  # an unregistered backbone: its slug
    # every card name of every metric is reached by one of its keys
    for group in METRIC_GROUPS.values():
        for metric in group.values():
            named = {display_name(key) for backbone in BACKBONE_REGISTRY for key in metric.keys(backbone)}
            for name in metric.card_names.values():
                assert any(name.replace("{backbone}", spec.card_name) in named for spec in BACKBONE_REGISTRY.values())


def test_one_backbone_table():
    assert list(BACKBONES) == list(BACKBONE_REGISTRY)
    for name, cls in BACKBONES.items():
        spec = BACKBONE_REGISTRY[name]
        assert cls.__name__ == spec.class_name and cls.name == name and cls.display_name == spec.display_name


def test_inversion_metrics_are_registered_with_their_keys():
    assert list(INVERSION_METRICS) == ["psnr", "fd", "latent", "alignment"]
    assert metric_names("fd", "emoji-cnn", group="inversion") == ["reconstruction_fd_emoji_cnn"]
    assert metric_names("alignment", "emoji-cnn", group="inversion") == [
        "object_hit_rate", "blob_in_object_rate", "visible_blobs_per_image",
    ]
    with pytest.raises(ValueError, match="unknown metric 'lpips'; choose from psnr, fd, latent, alignment"):
        metric_names("lpips", "emoji-cnn", group="inversion")
    with pytest.raises(ValueError, match="unknown metric 'psnr'; choose from fd, kid, pr, memorization"):
        metric_names("psnr", "emoji-cnn")


def test_registry_and_cards_import_without_torch():
    code = (
        "import json, sys\nimport hfgan.metrics.registry, hfgan.cards, hfgan.commands.evaluate\n"
        "print(json.dumps([m for m in ('torch', 'numpy') if m in sys.modules]))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


def test_a_registered_metric_is_computed_from_its_context_and_named_on_the_card(monkeypatch):
    seen = []

    def mean_norm(context: MetricContext):
        seen.append(context)
        gap = (context.fake.mean(0) - context.real.mean(0)).norm().item()
        return dict(zip(metric_names("mean_gap", context.options.backbone), [gap])), None

    monkeypatch.setitem(METRIC_REGISTRY, "mean_gap", Metric(
        keys=lambda backbone: [f"mean_gap_{backbone.replace('-', '_')}"],
        card_names={"mean_gap_{backbone}": "Mean gap ({backbone})"},
        compute=mean_norm,
        protocol=lambda options: {"seed": options.seed},
    ))
    reference = torch.rand(20, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    evaluator = Evaluator(reference, backbone="emoji-cnn", metrics=["mean_gap", "pr"], num_samples=10, cache_dir=False)
    result = evaluator.evaluate(reference[:10])
    assert list(result.metrics)[-1] == "mean_gap_emoji_cnn" and result.protocol["mean_gap"] == {"seed": 0}
    context = seen[0]
    assert context.fake.shape == (10, 256) and context.real.shape == (20, 256) and context.heldout is None
    assert context.options.backbone == "emoji-cnn" and context.options.feature_dim == 256
    assert context.options.pr_k == 3
    entries = to_model_index(result.metrics)
    assert {"type": "mean_gap_emoji_cnn", "name": "Mean gap (emoji-cnn)",
            "value": pytest.approx(result.metrics["mean_gap_emoji_cnn"], rel=1e-5)} in entries
    assert METRICS == ("fd", "kid", "pr", "memorization")
