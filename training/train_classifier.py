"""Train a discriminator-classifier from a few labels; write checkpoints and a Hub-ready classifier release.

Three methods, on any prepared dataset with a label column (docs/classifier.md):

- `ssgan`: the semi-supervised GAN of Salimans et al. (2016). The discriminator has K class logits and an implicit
  fake class (D(x) = Z / (Z + 1)); it learns from the cross-entropy on the labeled images and the GAN loss on every
  image, while a generator trained by feature matching feeds it fakes.
- `probe`: a linear probe (Radford et al., 2016) on the discriminator of a DCGAN trained with no labels at all
  (`training/train_dcgan.py`): every stage max-pooled and concatenated, then an L2-regularised linear classifier
  fitted on the labeled images only. It trains no network.
- `supervised`: the baseline: the same discriminator architecture trained with the cross-entropy on the labeled
  images only, with the same augmentation.

    # semi-supervised, 10 labels per class (base emoji) of the shipped emoji set: the zoo's dcgan-emoji-classifier
    # (8,000 steps with the learning rates ramped down over the second half, or 20 minutes, whichever comes first)
    python training/train_classifier.py
    # a quicker look, or the whole schedule whatever it takes
    python training/train_classifier.py max_minutes=5
    python training/train_classifier.py max_minutes=null
    # the supervised-only baseline on the same labels
    python training/train_classifier.py method=supervised
    # a linear probe on the zoo's unsupervised DCGAN discriminator
    python training/train_classifier.py method=probe probe.discriminator=zoo/dcgan-emoji/discriminator
    # 1 label per class, or every label
    python training/train_classifier.py labels.per_class=1
    python training/train_classifier.py labels.per_class=null
    # your own labeled images: prepare once (a folder per class), then train
    hfgan prepare-data my_photos/ --size 64 --out my-photos-64.parquet
    python training/train_classifier.py data.source=my-photos-64.parquet data.name=my-photos labels.group_by=null
    # the handwritten digits and the letters of docs/classifier.md (built locally by data/*/build_*_dataset.py)
    python training/train_classifier.py data.source=data/digits data.name=mnist-5k-32 labels.group_by=null
    python training/train_classifier.py data.source=data/letters data.name=letters-32 labels.group_by=glyph
    # tiny, for tests
    python training/train_classifier.py experiment=classifier_debug output_dir=/tmp/classifier-debug
    # push the release to the Hub (token from HF_TOKEN or `hf auth login`)
    python training/train_classifier.py hub.push=true hub.repo_id=user/dcgan-emoji-classifier

Every value lives in training/configs/train_classifier.yaml (and the groups it shares with train_dcgan.py); an
unknown key is an error naming it. Around the training step, everything is `hfgan.training.TrainingRun`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import hydra
import torch
from accelerate import Accelerator
from omegaconf import MISSING, DictConfig

from common import training_run
from hfgan import DCGANDiscriminator, DCGANGenerator, DiscriminatorClassifierPipeline
from hfgan.augment import DiffAugment, rotate_quarters
from hfgan.data import balanced_weights, load_image_dataset, resolve_data_source
from hfgan.losses import classification_loss, consistency_loss, feature_matching_loss, g_loss, semi_supervised_d_loss
from hfgan.metrics import evaluate_classifier
from hfgan.training import (
    EMA,
    DCGANModelConfig,
    DCGANRunConfig,
    EMAConfig,
    ScheduleConfig,
    batch_indices,
    check_finite,
    fit_linear_probe,
    ramp_down,
    recalibrate_batch_norm,
    run_main,
    set_learning_rates,
    step_seed,
    validate_config,
)

METHODS = ("ssgan", "probe", "supervised")
GENERATOR_LOSSES = ("feature_matching", "non_saturating")


@dataclass
class ModelConfig(DCGANModelConfig):
    d_dropout: float = MISSING
    d_norm: str = MISSING
    d_noise: float = MISSING


@dataclass
class LabelsConfig:
    column: str = MISSING
    per_class: int | None = MISSING  # None: every label
    group_by: str | None = MISSING
    seed: int = MISSING
    balance: bool = MISSING
    test_split: str = MISSING


@dataclass
class LossConfig:
    generator: str = MISSING
    unsupervised_weight: float = MISSING
    rotation_weight: float = MISSING
    consistency_weight: float = MISSING


@dataclass
class ProbeConfig:
    discriminator: str | None = MISSING
    grid: int = MISSING
    l2: float = MISSING


@dataclass
class EvalConfig:  # replaces the sample-quality metrics of RunConfig: a classifier is scored on its test split
    every: int = MISSING
    bn_batches: int | None = MISSING  # None: every calibration image once


@dataclass
class TrainClassifierConfig(DCGANRunConfig):
    method: str = MISSING
    model: ModelConfig = field(default_factory=ModelConfig)  # the DCGAN sizes and the discriminator's dropout
    labels: LabelsConfig = field(default_factory=LabelsConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    probe: ProbeConfig = field(default_factory=ProbeConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    ema: EMAConfig = field(default_factory=EMAConfig)
    metrics: EvalConfig = field(default_factory=EvalConfig)


def check_choices(cfg: DictConfig) -> None:
    """Fail before any work on a value the schema's types cannot catch."""
    if cfg.method not in METHODS:
        raise ValueError(f"method={cfg.method!r}: choose one of {', '.join(METHODS)}")
    if cfg.loss.generator not in GENERATOR_LOSSES:
        raise ValueError(f"loss.generator={cfg.loss.generator!r}: choose one of {', '.join(GENERATOR_LOSSES)}")
    if cfg.method == "probe" and not cfg.probe.discriminator:
        raise ValueError("method=probe needs probe.discriminator=<folder or Hub id of an unsupervised "
                         "DCGANDiscriminator>, e.g. zoo/dcgan-emoji/discriminator or <train_dcgan run>/release/discriminator")
    for term in ("rotation_weight", "consistency_weight"):
        if cfg.loss[term] and cfg.method != "ssgan":
            raise ValueError(f"loss.{term}={cfg.loss[term]}: the term learns from unlabeled images, which only "
                             f"method=ssgan uses; set it to 0 for method={cfg.method}")
    DiffAugment(list(cfg.augment.policy))  # an unknown transform fails now


def load_labeled(cfg: DictConfig, split: str, per_class: int | None):
    """A split with its labels; with `per_class`, only a seeded, balanced subset keeps them (counted by group)."""
    try:
        dataset = load_image_dataset(
            cfg.data.source, split=split, image_size=cfg.data.image_size, with_labels=True,
            labeled_per_class=per_class, labeled_by=cfg.labels.group_by if per_class else None,
            seed=cfg.labels.seed, label_column=cfg.labels.column,
        )
    except ValueError as error:
        raise ValueError(f"labels ({split} split): {error}") from None
    if dataset.num_classes < 2:
        raise ValueError(f"{cfg.labels.column!r} has {dataset.num_classes} class(es) in {split}; need at least 2")
    print(f"Data: {dataset} from {cfg.data.source} (split {split})", flush=True)
    return dataset


def align_classes(dataset, class_names: list[str], split: str) -> None:
    """Renumber `dataset`'s labels to `class_names` (a split of a plain, non-ClassLabel column may lack a class)."""
    if dataset.class_names == class_names:
        return
    index = {name: i for i, name in enumerate(class_names)}
    unknown = [name for name in dataset.class_names if name not in index]
    if unknown:
        raise ValueError(f"the {split} split has classes the training split lacks: {unknown[:10]}")
    remap = torch.tensor([index[name] for name in dataset.class_names] + [-1])  # -1 (unlabeled) stays -1
    dataset.labels = dataset.true_labels = remap[dataset.true_labels]
    dataset.class_names = list(class_names)


def train(cfg: DictConfig) -> dict:
    """Run one training; returns a summary (steps, wall time, output paths, test metrics, why it stopped)."""
    cfg = validate_config(cfg, TrainClassifierConfig)
    check_choices(cfg)
    method = cfg.method
    accelerator = Accelerator(mixed_precision=cfg.mixed_precision, cpu=not torch.cuda.is_available())
    rank, world = accelerator.process_index, accelerator.num_processes
    augment = DiffAugment(list(cfg.augment.policy))
    with training_run(cfg, accelerator) as run:
        # ---- data: the training split, where only the labeled subset keeps labels; the test split, fully labeled
        train_set = load_labeled(cfg, cfg.data.split, cfg.labels.per_class)
        test_set = load_labeled(cfg, cfg.labels.test_split, None)
        align_classes(test_set, train_set.class_names, cfg.labels.test_split)
        labeled = train_set.labeled_indices  # (L,)
        groups = None
        if cfg.labels.group_by and cfg.labels.per_class:
            groups = resolve_data_source(cfg.data.source, cfg.data.split).column(cfg.labels.group_by).to_pylist()
        # each labeled image's share of the labeled batches (and of the probe's loss): every class equally with
        # labels.balance (a group's variants share one share), else every labeled image equally
        label_weights = (balanced_weights(train_set.labels, groups)[labeled] if cfg.labels.balance
                         else torch.full((len(labeled),), 1.0 / len(labeled), dtype=torch.float64))
        id2label = dict(enumerate(train_set.class_names))
        num_images, image_size = len(train_set), cfg.data.image_size

        # ---- networks: a discriminator-classifier (and for ssgan a generator); all restored when resuming
        torch.manual_seed(cfg.seed)
        betas = (cfg.optim.beta1, cfg.optim.beta2)
        if method == "probe":
            discriminator = DCGANDiscriminator.from_pretrained(cfg.probe.discriminator)
            if discriminator.config.image_size != image_size or discriminator.config.num_classes is not None:
                raise ValueError(f"probe.discriminator must be an unsupervised (num_classes=None) {image_size} px "
                                 f"discriminator for data.image_size={image_size}; got {dict(discriminator.config)}")
            discriminator.register_to_config(probe_grid=cfg.probe.grid)
        else:
            discriminator = DCGANDiscriminator(cfg.model.d_channels, image_size, num_classes=len(id2label),
                                               id2label=id2label, dropout=cfg.model.d_dropout,
                                               norm=cfg.model.d_norm, noise=cfg.model.d_noise)
        models, optimizers, states = {"discriminator": discriminator}, {}, {}
        generator = rotation_head = None
        d_params = list(discriminator.parameters())
        if cfg.loss.rotation_weight:  # 4 quarter turns from D's last features; a training aid, not released
            rotation_head = torch.nn.Linear(discriminator.feature_dim * 16, 4)  # (B, C * 4 * 4) -> (B, 4)
            states["rotation_head"] = rotation_head
            d_params += list(rotation_head.parameters())
        if method != "probe":
            optimizers["opt_d"] = torch.optim.Adam(d_params, lr=cfg.optim.d_lr, betas=betas)
        if method == "ssgan":
            generator = DCGANGenerator(cfg.model.latent_dim, cfg.model.g_channels, image_size)
            models["generator"] = generator
            optimizers["opt_g"] = torch.optim.Adam(generator.parameters(), lr=cfg.optim.g_lr, betas=betas)
        ema = None
        if cfg.ema.decay and method != "probe":  # classify with an average of the discriminator's recent weights
            ema = EMA(discriminator, decay=cfg.ema.decay, warmup=cfg.ema.warmup)
            models["discriminator_ema"], states["ema"] = ema.model, ema
        run.track(models=models, optimizers=optimizers, states=states)
        device = accelerator.device
        discriminator.to(device)
        if ema is not None:
            ema.model.to(device)
        if rotation_head is not None:
            rotation_head = accelerator.prepare(rotation_head.to(device))
        opt_d, opt_g = optimizers.get("opt_d"), optimizers.get("opt_g")
        if method != "probe":
            discriminator, opt_d = accelerator.prepare(discriminator, opt_d)
        if generator is not None:
            generator, opt_g = accelerator.prepare(generator, opt_g)

        # BatchNorm statistics for classifying (eval mode) come from real images: the labeled ones for the baseline,
        # which sees no other image; every training image for the methods that learn from unlabeled images.
        calibration = labeled if method == "supervised" else torch.arange(num_images)
        bn_rng = torch.Generator().manual_seed(cfg.seed + 1)  # its own RNG: training draws stay as they are

        def recalibrate(model) -> None:
            """BatchNorm statistics from `metrics.bn_batches` random batches of the calibration images, or from
            every one of them once (None): then the same statistics at every evaluation, without sampling noise."""
            if cfg.metrics.bn_batches is None:
                picks = list(calibration.split(cfg.batch_size))
            else:
                picks = [calibration[torch.randint(len(calibration), (cfg.batch_size,), generator=bn_rng)]
                         for _ in range(cfg.metrics.bn_batches)]
            batches = iter(picks)
            recalibrate_batch_norm(model, lambda: train_set[next(batches)][0].to(device), len(picks))  # (B, 3, S, S)

        def classifier_pipeline() -> DiscriminatorClassifierPipeline:
            """The current discriminator (or its EMA) as a classifier (probe fitted for `probe`), BatchNorm from real
            images."""
            model = ema.model if ema is not None else accelerator.unwrap_model(discriminator)
            recalibrate(model)
            if method == "probe":
                model = with_fitted_probe(model, train_set, labeled, label_weights, id2label, cfg.probe.l2, device)
            return DiscriminatorClassifierPipeline(discriminator=model)

        labels_used = (f"{cfg.labels.per_class} per class" if cfg.labels.per_class else "all") + (
            f" (counted by {cfg.labels.group_by})" if cfg.labels.per_class and cfg.labels.group_by else "")
        run.set_release(
            pipeline=classifier_pipeline,
            evaluator=(lambda pipe: evaluate_classifier(pipe.discriminator, test_set)) if run.is_main else None,
            extra_models={"generator": generator} if generator is not None else None,
            card={
                "method": {"ssgan": "semi-supervised GAN (Salimans et al., 2016)",
                           "probe": "linear probe on an unsupervised DCGAN discriminator (Radford et al., 2016)",
                           "supervised": "supervised only (baseline)"}[method],
                "labels": f"{labels_used}: {len(labeled)} labeled of {num_images} training images",
                "test split": f"{cfg.labels.test_split} ({len(test_set)} images)",
                **({"generator loss": cfg.loss.generator} if method == "ssgan" else {}),
                **({"rotation task": f"weight {cfg.loss.rotation_weight}"} if rotation_head is not None else {}),
                **({"consistency term": f"weight {cfg.loss.consistency_weight}"}
                   if cfg.loss.consistency_weight else {}),  # ssgan only (check_choices)
                **({"probed discriminator": cfg.probe.discriminator} if method == "probe" else {}),
                "augmentation": augment.description,
                **({"weights": f"EMA of the discriminator's (decay {cfg.ema.decay})"} if ema is not None else {}),
            },
        )
        if method == "probe":  # nothing to train: `finish` fits the probe, evaluates and releases
            return run.finish()

        # ---- the loop
        batch = cfg.batch_size
        while run.next_step():
            step = run.step
            lr_scale = ramp_down(run.progress, cfg.schedule.lr_ramp_down, cfg.schedule.lr_final)  # by steps or clock
            set_learning_rates([(opt_d, cfg.optim.d_lr), (opt_g, cfg.optim.g_lr)], lr_scale)
            torch.manual_seed(step_seed(cfg.seed, step, rank))  # this step's draws depend only on (seed, step, rank)
            pick = labeled[torch.multinomial(label_weights, batch, replacement=True)]  # seeded by (seed, step, rank)
            x_labeled, y = (t.to(device) for t in train_set[pick])  # (B, 3, S, S) in [-1, 1], (B,)

            if method == "supervised":
                with accelerator.autocast():
                    d_out = classification_loss(discriminator(augment(x_labeled)).class_logits.float(), y)
                d_out["train_accuracy"] = d_out.pop("accuracy")
            else:  # ssgan: unlabeled real images, the labeled batch and fakes
                idx = batch_indices(num_images, batch, step, cfg.seed, rank, world)
                x = train_set[idx][0].to(device)  # labels unused: every image counts as unlabeled here
                z = torch.randn(batch, cfg.model.latent_dim, device=device)
                with accelerator.autocast():
                    fake = generator(z).sample
                    real_out = discriminator(augment(torch.cat([x, x_labeled])))  # one pass, (2B, ...)
                    fake_logits = discriminator(augment(fake.detach())).logits
                    d_out = semi_supervised_d_loss(real_out.class_logits[batch:].float(), y,
                                                   real_out.logits[:batch].float(), fake_logits.float(),
                                                   cfg.loss.unsupervised_weight)
                    if rotation_head is not None:  # which way up is each unlabeled image (Chen et al., 2019)
                        turned, turns = rotate_quarters(augment(x))
                        rotation = classification_loss(
                            rotation_head(discriminator(turned).features.flatten(1)).float(), turns)
                        d_out["loss"] = d_out["loss"] + cfg.loss.rotation_weight * rotation["loss"]
                        d_out.update(loss_rotation=rotation["loss"].detach(), rotation_accuracy=rotation["accuracy"])
                    if cfg.loss.consistency_weight:  # the same unlabeled images, augmented anew, same classes
                        again = consistency_loss(real_out.class_logits[:batch].float(),
                                                 discriminator(augment(x)).class_logits.float())
                        d_out["loss"] = d_out["loss"] + cfg.loss.consistency_weight * again["loss"]
                        d_out["loss_consistency"] = again["loss"].detach()
            check_finite(step, d_out["loss"], run.out)
            opt_d.zero_grad(set_to_none=True)
            accelerator.backward(d_out["loss"])
            opt_d.step()
            if ema is not None:
                ema.update(accelerator.unwrap_model(discriminator))

            g_out = {}
            if method == "ssgan":  # the generator chases the real images' features in the updated discriminator
                with accelerator.autocast():
                    fake_out = discriminator(augment(fake))
                    if cfg.loss.generator == "feature_matching":
                        g_out = feature_matching_loss(real_out.features[:batch].detach().float(),
                                                      fake_out.features.float())
                    else:
                        g_out = g_loss("non_saturating", fake_out.logits.float())
                check_finite(step, g_out["loss"], run.out)
                opt_g.zero_grad(set_to_none=True)
                accelerator.backward(g_out["loss"])
                opt_g.step()

            run.step_done(images=batch * world)
            if run.due(cfg.logging.every, at_end=True):
                run.log({
                    "loss_d": d_out["loss"].item(),
                    **{k: d_out[k].item() for k in ("loss_supervised", "loss_unsupervised", "d_real", "d_fake",
                                                 "loss_rotation", "rotation_accuracy", "loss_consistency")
                       if k in d_out},
                    "train_accuracy": d_out["train_accuracy"].item(),  # on the (augmented) labeled batch
                    **({"loss_g": g_out["loss"].item()} if g_out else {}),
                    "lr_d": opt_d.param_groups[0]["lr"],
                })
            run.periodic()  # sample grid, evaluation, checkpoint: each when due
        return run.finish()


@torch.no_grad()
def with_fitted_probe(discriminator, train_set, labeled, weights, id2label, l2: float, device) -> DCGANDiscriminator:
    """Fit the linear probe on the labeled images' features (standardised by every training image's) and return
    the discriminator-classifier that applies it."""
    discriminator.eval()
    chunks = torch.arange(len(train_set)).split(256)
    features = torch.cat([discriminator.probe_features(train_set[c][0].to(device)).cpu() for c in chunks])  # (N, F)
    with torch.enable_grad():
        weight, bias = fit_linear_probe(features[labeled], train_set.labels[labeled], len(id2label), l2, features,
                                        sample_weights=weights)
    discriminator.train()
    return discriminator.with_probe(weight.to(device), bias.to(device), id2label)


@hydra.main(config_path="configs", config_name="train_classifier", version_base=None)
def main(cfg: DictConfig) -> None:
    run_main(train, cfg)


if __name__ == "__main__":
    main()
