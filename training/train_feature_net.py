"""Train the offline metric backbone `emoji-cnn` ([`EmojiFeatureNet`]) on the shipped emoji dataset.

The network classifies each emoji's Unicode group (9 classes) and subgroup (99 classes) from the train split; its
pooled 256-d features then serve as the feature space of `fd_emoji_cnn`, `kid_emoji_cnn`, ... The test split is
only used to report accuracy. 30 epochs (1,470 steps at batch 64); about 2 minutes on 2 idle CPU threads (the
shipped weights took 458 s on 2 threads of a busy shared machine, with this recipe before it ran on the shared
`hfgan.training` scaffolding):

    # train, and install the network as the package data of this checkout (what hfgan ships)
    python training/train_feature_net.py install_to=hfgan/metrics/weights/emoji-cnn
    # a quick try
    python training/train_feature_net.py max_steps=100 output_dir=/tmp/emoji-cnn
    # FD of damaged test images for docs/metrics.md, from the shipped network (trains nothing)
    python training/train_feature_net.py report=hfgan/metrics/weights/emoji-cnn
    # tiny, for tests
    python training/train_feature_net.py max_steps=2 batch_size=8 model.base_channels=4 output_dir=/tmp/fn

Run from the repository root: the data is `data.source=emoji`, the shipped set (`data/emoji`, or
`$HFGAN_EMOJI_DATA`), which carries the `subgroup` column. Every value lives in training/configs/
(train_feature_net.yaml); an unknown key is an error naming it. Around the step, everything is
`hfgan.training.TrainingRun`: checkpoints, resume, a release folder with a model card, Ctrl-C, `max_minutes`.

Augmentation: random scale (0.8-1.05) and shift (up to 6 px) on a white canvas, as emoji sit on white; no flips
(arrows and hands have a direction), no colour changes (skin tones are subgroups' business). `augment=shift`
(whole-pixel shifts, no resampling) was tried too: same sensitivity to blur, slightly lower accuracy.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import hydra
import torch
import torch.nn.functional as F
from accelerate import Accelerator
from omegaconf import MISSING, DictConfig

from common import training_run
from hfgan.data import decode_images, resolve_data_source
from hfgan.metrics import frechet_distance, load_backbone
from hfgan.models import EmojiFeatureNet
from hfgan.training import RunConfig, batch_indices, check_finite, run_main, step_seed, validate_config
from hfgan.utils import atomic_directory

AUGMENTS = ("scale-shift", "shift")


@dataclass
class FeatureNetModelConfig:
    base_channels: int = MISSING


@dataclass
class FeatureNetOptimConfig:
    lr: float = MISSING
    weight_decay: float = MISSING
    warmup: float = MISSING  # the one-cycle schedule's warm-up, as a fraction of max_steps
    label_smoothing: float = MISSING


@dataclass
class TrainFeatureNetConfig(RunConfig):
    install_to: str | None = MISSING
    report: str | None = MISSING
    augment: str = MISSING
    model: FeatureNetModelConfig = field(default_factory=FeatureNetModelConfig)
    optim: FeatureNetOptimConfig = field(default_factory=FeatureNetOptimConfig)


def load_split(data: str, split: str):
    """Images uint8 `(N, 3, 64, 64)`, group labels, subgroup names and group names of one split of the emoji set."""
    source = resolve_data_source(data, split)
    if "subgroup" not in source.features:
        raise ValueError(f"data.source={data}: the emoji-cnn network learns Unicode subgroups, and {split} has no "
                         f"'subgroup' column (columns: {list(source.features)}); use the shipped emoji set")
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


def train(cfg: DictConfig) -> dict:
    """Run one training; returns a summary (steps, wall time, output paths, test accuracies, why it stopped)."""
    cfg = validate_config(cfg, TrainFeatureNetConfig)
    if cfg.augment not in AUGMENTS:
        raise ValueError(f"augment={cfg.augment!r}: choose one of {', '.join(AUGMENTS)}")
    if cfg.report:
        report = damage_report(Path(cfg.report), cfg.data.source)
        print(json.dumps({k: round(v, 3) for k, v in report.items()}, indent=2))
        return {"report": report, "stopped_by": None}
    augment = shift if cfg.augment == "shift" else scale_shift
    accelerator = Accelerator(mixed_precision=cfg.mixed_precision, cpu=not torch.cuda.is_available())
    rank, world = accelerator.process_index, accelerator.num_processes
    with training_run(cfg, accelerator) as run:
        # ---- data: the train split's images with group and subgroup labels; the test split for accuracy only
        train_u8, train_groups, train_sub_names, group_names = load_split(cfg.data.source, cfg.data.split)
        test_u8, test_groups, test_sub_names, _ = load_split(cfg.data.source, "test")
        subgroup_names = sorted(set(train_sub_names))
        index = {name: i for i, name in enumerate(subgroup_names)}
        train_subs = torch.tensor([index[s] for s in train_sub_names])
        test_subs = torch.tensor([index.get(s, -1) for s in test_sub_names])  # -1: subgroup absent from train
        x_train = train_u8.float() / 127.5 - 1  # (N, 3, 64, 64) in [-1, 1]
        x_test = test_u8.float() / 127.5 - 1
        print(f"train {len(x_train)} images, test {len(x_test)}; {len(group_names)} groups, {len(subgroup_names)} "
              f"subgroups ({int((test_subs < 0).sum())} test images in subgroups unseen in train)", flush=True)

        # ---- the network, AdamW and its one-cycle schedule over max_steps; all restored when resuming
        torch.manual_seed(cfg.seed)
        net = EmojiFeatureNet(num_groups=len(group_names), num_subgroups=len(subgroup_names),
                              base_channels=cfg.model.base_channels, image_size=x_train.shape[-1],
                              group_names=group_names, subgroup_names=subgroup_names)
        optimizer = torch.optim.AdamW(net.parameters(), lr=cfg.optim.lr, weight_decay=cfg.optim.weight_decay)
        schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=cfg.optim.lr, total_steps=cfg.max_steps,
                                                       pct_start=cfg.optim.warmup)
        run.track(models={"net": net}, optimizers={"optimizer": optimizer}, states={"schedule": schedule})
        net, optimizer = accelerator.prepare(net, optimizer)

        def evaluate(model: EmojiFeatureNet) -> dict[str, float]:
            group_acc, sub_acc = accuracy(model, x_test, test_groups, test_subs)
            model.train()
            return {"test_group_accuracy": group_acc, "test_subgroup_accuracy": sub_acc}

        run.set_release(
            pipeline=lambda: accelerator.unwrap_model(net),  # the network itself is the release
            evaluator=evaluate if run.is_main and cfg.metrics.every >= 0 else None,
            card={"task": "Unicode group and subgroup of each emoji (its pooled features are the product)",
                  "augmentation": cfg.augment, "loss": f"cross-entropy on both heads, label smoothing "
                  f"{cfg.optim.label_smoothing}"},
        )

        # ---- the loop
        net.train()
        while run.next_step():
            step = run.step
            torch.manual_seed(step_seed(cfg.seed, step, rank))  # this step's draws depend only on (seed, step, rank)
            idx = batch_indices(len(x_train), cfg.batch_size, step, cfg.seed, rank, world)
            x = augment(x_train[idx], None).to(accelerator.device)  # (B, 3, 64, 64), drawn from torch's seeded RNG
            out = net(x)
            smoothing = cfg.optim.label_smoothing
            loss = (F.cross_entropy(out.group_logits, train_groups[idx].to(x.device), label_smoothing=smoothing)
                    + F.cross_entropy(out.subgroup_logits, train_subs[idx].to(x.device), label_smoothing=smoothing))
            check_finite(step, loss, run.out)
            optimizer.zero_grad(set_to_none=True)
            accelerator.backward(loss)
            optimizer.step()
            schedule.step()

            run.step_done(images=cfg.batch_size * world)
            if run.due(cfg.logging.every, at_end=True):
                run.log({"loss": loss.item(), "lr": schedule.get_last_lr()[0]})
            run.periodic()  # sample grid, evaluation, checkpoint: each when due
        summary = run.finish()

    if cfg.install_to and run.is_main:  # the package data: the network and the record of how it was trained
        install(Path(run.out / "release"), Path(cfg.install_to), cfg, summary)
    return summary


def install(release: Path, target: Path, cfg: DictConfig, summary: dict) -> None:
    """Copy the released network to `target` with `training.json` (the recipe and its accuracies), atomically."""
    net = EmojiFeatureNet.from_pretrained(release)
    record = {"data": f"{cfg.data.source}, split {cfg.data.split}", "steps": summary["steps"],
              "batch_size": cfg.batch_size, "lr": cfg.optim.lr, "weight_decay": cfg.optim.weight_decay,
              "seed": cfg.seed, "augment": cfg.augment, "train_seconds": round(summary["wall_seconds"], 1),
              "torch_threads": torch.get_num_threads(),
              "num_parameters": sum(p.numel() for p in net.parameters()),
              "accuracy": {k: round(v, 4) for k, v in summary["metrics"].items()}}
    with atomic_directory(target) as tmp:  # an interrupted install never leaves a half-written folder
        net.save_pretrained(tmp)
        (tmp / "training.json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"installed to {target}", flush=True)


@hydra.main(config_path="configs", config_name="train_feature_net", version_base=None)
def main(cfg: DictConfig) -> None:
    run_main(train, cfg)


if __name__ == "__main__":
    main()
