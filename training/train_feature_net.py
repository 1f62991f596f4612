"""Train the offline metric backbone `emoji-cnn` ([`EmojiFeatureNet`]) on the shipped emoji dataset.

The network classifies each emoji's Unicode group (9 classes) and subgroup (99 classes) from the train split; its
pooled 256-d features then serve as the feature space of `fd_emoji_cnn`, `kid_emoji_cnn`, ... The test split is
only used to report accuracy. 30 epochs; 3-4 s per epoch on 2 idle CPU threads (the shipped weights took 458 s on
2 threads of a busy shared machine):

    python training/train_feature_net.py                          # writes hfgan/metrics/weights/emoji-cnn
    python training/train_feature_net.py --out /tmp/emoji-cnn --epochs 2   # a quick try
    python training/train_feature_net.py --report     # FD of damaged test images, for docs/metrics.md

Run from the repository root: the data is `--data emoji`, the shipped set (`data/emoji`, or `$HFGAN_EMOJI_DATA`), and
the weights go to the package data of this checkout, `hfgan/metrics/weights/emoji-cnn`.

Augmentation: random scale (0.8-1.05) and shift (up to 6 px) on a white canvas, as emoji sit on white; no flips
(arrows and hands have a direction), no colour changes (skin tones are subgroups' business). `--augment shift`
(whole-pixel shifts, no resampling) was tried too: same sensitivity to blur, slightly lower accuracy.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from hfgan.data import decode_images, resolve_data_source
from hfgan.metrics import frechet_distance, load_backbone
from hfgan.models import EmojiFeatureNet
from hfgan.utils import atomic_directory

# the package data of this checkout (not of wherever hfgan is installed): this script lives in the repository
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "hfgan" / "metrics" / "weights" / "emoji-cnn"


def load_split(data: str, split: str):
    """Images uint8 `(N, 3, 64, 64)`, group labels, subgroup names and group names of one split of the emoji set."""
    source = resolve_data_source(data, split)
    images = decode_images(source)
    groups = torch.tensor(source.column("label").to_pylist())
    subgroups = source.column("subgroup").to_pylist()
    return images, groups, subgroups, list(source.features["label"].names)


def shift(x: torch.Tensor, generator: torch.Generator, pixels: int = 6) -> torch.Tensor:
    """Random whole-pixel shift of images in [-1, 1] (no resampling, so no blur), the border filled with white."""
    n, _, h, w = x.shape
    padded = F.pad(x, (pixels,) * 4, value=1.0)
    dx, dy = torch.randint(0, 2 * pixels + 1, (2, n), generator=generator).tolist()
    return torch.stack([padded[i, :, dy[i] : dy[i] + h, dx[i] : dx[i] + w] for i in range(n)])


def scale_shift(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random scale and shift of images in [-1, 1] (bilinear resampling), the uncovered border filled with white."""
    n = x.shape[0]
    scale = torch.empty(n).uniform_(0.8, 1.05, generator=generator)
    shift = torch.empty(n, 2).uniform_(-6 / 32, 6 / 32, generator=generator)  # up to 6 px at 64 px
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = theta[:, 1, 1] = 1 / scale
    theta[:, :, 2] = shift
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x - 1, grid, mode="bilinear", padding_mode="zeros", align_corners=False) + 1  # white = 1


@torch.no_grad()
def accuracy(
    net: EmojiFeatureNet, x: torch.Tensor, groups: torch.Tensor, subgroups: torch.Tensor
) -> tuple[float, float]:
    net.eval()
    out = [net(chunk) for chunk in x.split(512)]
    group_pred = torch.cat([o.group_logits for o in out]).argmax(1)
    sub_pred = torch.cat([o.subgroup_logits for o in out]).argmax(1)
    known = subgroups >= 0
    return float((group_pred == groups).double().mean()), float((sub_pred[known] == subgroups[known]).double().mean())


def damage_report(weights: Path, data: str) -> dict[str, float]:
    """How `fd_emoji_cnn` of the test split (against the train split) grows when the test images are damaged.

    Returns `{"clean": FD, "<damage>": FD(damaged) / FD(clean), ...}`; the table in docs/metrics.md.
    """
    backbone = load_backbone("emoji-cnn", weights=weights)
    train = backbone(load_split(data, "train")[0])
    test = load_split(data, "test")[0]
    clean = frechet_distance(backbone(test), train)
    x = test.float()
    noise = 12 * torch.randn(x.shape, generator=torch.Generator().manual_seed(0))
    damaged = {
        "blur_3x3": F.avg_pool2d(x, 3, 1, 1, count_include_pad=False),
        "blur_5x5": F.avg_pool2d(x, 5, 1, 2, count_include_pad=False),
        "noise_sigma_12": x + noise,
        "down_up_2x": F.interpolate(
            F.interpolate(x, scale_factor=0.5, mode="bilinear", antialias=True), scale_factor=2, mode="bilinear"
        ),
        "shift_4px": torch.roll(x, (4, 4), (2, 3)),
    }
    report = {"clean": clean}
    for name, images in damaged.items():
        images = images.round().clamp(0, 255).to(torch.uint8)
        report[name] = frechet_distance(backbone(images), train) / clean
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data", default="emoji", help="the emoji dataset: 'emoji' (the shipped set), or its folder (train/test)"
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder to save the network to")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--weight-decay", type=float, default=5e-4)
    parser.add_argument("--base-channels", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--augment",
        choices=("scale-shift", "shift"),
        default="scale-shift",
        help="scale-shift: random rescale and shift (default); shift: whole-pixel shifts only, no resampling",
    )
    parser.add_argument(
        "--report", action="store_true", help="do not train: print how the saved network's FD reacts to damage"
    )
    args = parser.parse_args(argv)
    if args.report:
        print(json.dumps({k: round(v, 3) for k, v in damage_report(args.out, args.data).items()}, indent=2))
        return 0
    augment = shift if args.augment == "shift" else scale_shift

    torch.manual_seed(args.seed)
    train_u8, train_groups, train_sub_names, group_names = load_split(args.data, "train")
    test_u8, test_groups, test_sub_names, _ = load_split(args.data, "test")
    subgroup_names = sorted(set(train_sub_names))
    index = {name: i for i, name in enumerate(subgroup_names)}
    train_subs = torch.tensor([index[s] for s in train_sub_names])
    test_subs = torch.tensor([index.get(s, -1) for s in test_sub_names])  # -1: subgroup absent from train
    x_train = train_u8.float() / 127.5 - 1
    x_test = test_u8.float() / 127.5 - 1
    print(
        f"train {len(x_train)} images, test {len(x_test)}; {len(group_names)} groups, {len(subgroup_names)} subgroups "
        f"({int((test_subs < 0).sum())} test images in subgroups unseen in train)"
    )

    net = EmojiFeatureNet(
        num_groups=len(group_names),
        num_subgroups=len(subgroup_names),
        base_channels=args.base_channels,
        image_size=x_train.shape[-1],
        group_names=group_names,
        subgroup_names=subgroup_names,
    )
    optimizer = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    steps_per_epoch = math.ceil(len(x_train) / args.batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=args.lr, total_steps=args.epochs * steps_per_epoch, pct_start=0.15
    )
    generator = torch.Generator().manual_seed(args.seed)
    start = time.perf_counter()
    for epoch in range(args.epochs):
        net.train()
        order = torch.randperm(len(x_train), generator=generator)
        total = 0.0
        for batch in order.split(args.batch_size):
            out = net(augment(x_train[batch], generator))
            loss = F.cross_entropy(out.group_logits, train_groups[batch], label_smoothing=0.1) + F.cross_entropy(
                out.subgroup_logits, train_subs[batch], label_smoothing=0.1
            )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            total += float(loss.detach()) * len(batch)
        if epoch % 5 == 4 or epoch == args.epochs - 1:
            group_acc, sub_acc = accuracy(net, x_test, test_groups, test_subs)
            print(
                f"epoch {epoch + 1}/{args.epochs}: loss {total / len(x_train):.3f}, test group acc {group_acc:.3f}, "
                f"subgroup acc {sub_acc:.3f} ({time.perf_counter() - start:.0f} s)"
            )
    seconds = time.perf_counter() - start

    net.eval()
    train_group_acc, train_sub_acc = accuracy(net, x_train, train_groups, train_subs)
    test_group_acc, test_sub_acc = accuracy(net, x_test, test_groups, test_subs)
    majority = float((test_groups == train_groups.mode().values).double().mean())
    report = {
        "data": "Noto Color Emoji 64x64 (data/emoji), train split",
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "weight_decay": args.weight_decay,
        "seed": args.seed,
        "augment": args.augment,
        "train_seconds": round(seconds, 1),
        "torch_threads": torch.get_num_threads(),
        "num_parameters": sum(p.numel() for p in net.parameters()),
        "accuracy": {
            "train_group": round(train_group_acc, 4),
            "train_subgroup": round(train_sub_acc, 4),
            "test_group": round(test_group_acc, 4),
            "test_subgroup": round(test_sub_acc, 4),
            "test_group_majority_baseline": round(majority, 4),
        },
    }
    print(json.dumps(report, indent=2))

    with atomic_directory(args.out) as tmp:  # an interrupted run never leaves a half-written folder
        net.save_pretrained(tmp)
        (tmp / "training.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"saved to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
