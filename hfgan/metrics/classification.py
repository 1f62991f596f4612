"""Classification metrics: accuracy and balanced accuracy (mean recall over the classes present)."""

from __future__ import annotations

import torch


def classification_metrics(predictions: torch.Tensor, targets: torch.Tensor, num_classes: int) -> dict[str, float]:
    """`{"accuracy", "balanced_accuracy"}` of integer `predictions` against `targets`.

    Balanced accuracy is the mean over classes of the share of that class's images predicted right, over the
    classes that occur in `targets`: on an imbalanced test set it does not reward guessing the largest class.
    """
    predictions, targets = torch.as_tensor(predictions).flatten(), torch.as_tensor(targets).flatten()
    if predictions.shape != targets.shape or not len(targets):
        raise ValueError(f"need as many predictions as targets (> 0), got {len(predictions)} and {len(targets)}")
    correct = (predictions == targets).float()
    counts = torch.bincount(targets, minlength=num_classes).float()  # (K,)
    hits = torch.bincount(targets, weights=correct, minlength=num_classes)
    present = counts > 0
    return {
        "accuracy": correct.mean().item(),
        "balanced_accuracy": (hits[present] / counts[present]).mean().item(),
    }


@torch.no_grad()
def evaluate_classifier(discriminator, dataset, batch_size: int = 256) -> dict[str, float]:
    """Accuracy and balanced accuracy of a discriminator-classifier (eval mode) on a labeled
    `hfgan.data.ImageTensorDataset` at the model's resolution (every image with a true label counts)."""
    if dataset.true_labels is None:
        raise ValueError("the evaluation dataset has no labels")
    dataset = dataset.subset(torch.nonzero(dataset.true_labels >= 0).flatten())
    num_classes = discriminator.config.num_classes
    if dataset.num_classes is not None and dataset.num_classes != num_classes:
        raise ValueError(f"the model has {num_classes} classes, the evaluation dataset {dataset.num_classes}")
    was_training, device = discriminator.training, discriminator.device
    discriminator.eval()
    predictions = []
    for start in range(0, len(dataset), batch_size):
        images = dataset[torch.arange(start, min(start + batch_size, len(dataset)))][0].to(device)
        predictions.append(discriminator(images).class_logits.argmax(1).cpu())  # (B, K) -> (B,)
    discriminator.train(was_training)
    return classification_metrics(torch.cat(predictions), dataset.true_labels.cpu(), num_classes)
