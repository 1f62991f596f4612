import pytest
import torch

from hfgan import DCGANDiscriminator
from hfgan.data import load_image_dataset
from hfgan.metrics import classification_metrics, evaluate_classifier


def test_balanced_accuracy_is_the_mean_recall_over_present_classes():
    targets = torch.tensor([0, 0, 0, 0, 1, 2])  # class 3 never occurs: it does not count
    predictions = torch.tensor([0, 0, 0, 0, 0, 2])  # always the big class, plus one hit on class 2
    out = classification_metrics(predictions, targets, num_classes=4)
    assert out["accuracy"] == pytest.approx(5 / 6)
    assert out["balanced_accuracy"] == pytest.approx((1 + 0 + 1) / 3)
    with pytest.raises(ValueError, match="as many predictions"):
        classification_metrics(predictions[:2], targets, 4)


def test_evaluate_classifier_checks_the_class_count():
    test = load_image_dataset("emoji", split="test", image_size=8, with_labels=True)
    right = DCGANDiscriminator(base_channels=4, image_size=8, num_classes=9)
    out = evaluate_classifier(right, test)
    assert set(out) == {"accuracy", "balanced_accuracy"} and right.training  # the mode is given back
    with pytest.raises(ValueError, match="3 classes, the evaluation dataset 9"):
        evaluate_classifier(DCGANDiscriminator(base_channels=4, image_size=8, num_classes=3), test)
