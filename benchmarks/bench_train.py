"""Training throughput: training/train_dcgan.py vs. the classic plain-PyTorch DCGAN tutorial loop, in one run.

Both train the seed architecture on the same in-memory emoji images with the same batch size, loss (BCE) and Adam
settings, no augmentation; the framework adds what it adds in real use: the deterministic batch order, EMA updates,
scalar logging (JSONL + wandb offline) at the default intervals, and at the end of the timed loop a sample grid with
BatchNorm recalibration, an atomic checkpoint and the release folder (in real runs these come every 250-500 steps,
so a short benchmark over-counts them). Runs alternate, and the better run of each is kept.
Target: the framework costs at most 10% of throughput.

    python benchmarks/bench_train.py                 # 64 px, batch 64, 150 steps each (about 3 minutes on 2 cores)
    python benchmarks/bench_train.py --steps 200 --batch-size 128
    python benchmarks/bench_train.py --variants      # the 7,000-step recipe's step under speed variants (issue 13)
    python benchmarks/bench_train.py --recipes       # the budget recipe vs. the 7,000-step one vs. the tutorial loop

`--variants` times the 7,000-step recipe's training step (train_dcgan.yaml with `plan=full`: its networks, loss,
DiffAugment, Adam and EMA) as is and with one change each: channels-last memory format, Adam
`fused=True`, `torch.compile` of G and D (`--compile`: a minute or more of warm-up), DiffAugment off (what the
augmentation costs), and one thread instead of all. `--recipes` times the training step of both plans of the
default recipe (`plan=full`, the 7,000-step recipe; `plan=short`, the budget recipe) and the tutorial loop, the fixed
yardstick, each at its own batch size. Rounds are interleaved and the median and spread of each are printed, so a
ratio compares runs made side by side.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

from _runs import run_training  # the sibling module: a training script run as a command

ROOT = Path(__file__).resolve().parents[1]


def tutorial_nets(nz=100, ngf=64, ndf=64, nc=3):
    """The PyTorch DCGAN tutorial's networks, written as there: plain nn.Sequential, final Sigmoid in D."""
    g = nn.Sequential(
        nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 8), nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 4), nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 2), nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf), nn.ReLU(True),
        nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False), nn.Tanh(),
    )
    d = nn.Sequential(
        nn.Conv2d(nc, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 2), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 4), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 8), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False), nn.Sigmoid(),
    )
    return g, d


def plain_loop(images: torch.Tensor, steps: int, batch_size: int) -> float:
    """The tutorial's training loop; returns images/second over the loop."""
    torch.manual_seed(0)
    net_g, net_d = tutorial_nets()
    criterion = nn.BCELoss()
    opt_d = torch.optim.Adam(net_d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(net_g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    start = time.perf_counter()
    order = torch.randperm(len(images))
    for step in range(steps):
        idx = order[(step * batch_size) % (len(images) - batch_size) :][:batch_size]
        real = images[idx].float().div_(127.5).sub_(1.0)
        b = real.size(0)
        # (1) Update D: maximize log(D(x)) + log(1 - D(G(z)))
        net_d.zero_grad()
        err_d_real = criterion(net_d(real).view(-1), torch.ones(b))
        err_d_real.backward()
        fake = net_g(torch.randn(b, 100, 1, 1))
        err_d_fake = criterion(net_d(fake.detach()).view(-1), torch.zeros(b))
        err_d_fake.backward()
        opt_d.step()
        # (2) Update G: maximize log(D(G(z)))
        net_g.zero_grad()
        err_g = criterion(net_d(fake).view(-1), torch.ones(b))
        err_g.backward()
        opt_g.step()
    return steps * batch_size / (time.perf_counter() - start)


def framework_run(steps: int, batch_size: int, workdir: Path) -> float:
    """training/train_dcgan.py with its framework on, run as a command; returns images/second over its loop (the
    run's own wall time, from its summary.json: the process start-up is not counted, as it was not in-process)."""
    overrides = [
        "plan=full",  # a constant learning rate and no start-up timing
        "model=dcgan",  # the seed architecture, as the plain loop
        "overwrite=true",
        f"max_steps={steps}",
        f"batch_size={batch_size}",
        "loss.kind=bce",
        "augment.policy=[]",
        "logging.wandb=offline",
        "logging.progress_bar=false",  # the default intervals otherwise: logs every 10 steps, grids every 250,
        "metrics.every=-1",  # checkpoints every 500, and the final grid + checkpoint + release inside the timing
    ]
    summary = run_training("train_dcgan", workdir, overrides)
    return summary["images_seen"] / summary["wall_seconds"]


VARIANTS = {  # name -> what changes from the 7,000-step recipe's step
    "7,000-step recipe": {},
    "channels_last": {"channels_last": True},
    "Adam fused": {"adam": {"fused": True}},
    "DiffAugment off": {"policy": []},
    "1 thread": {"threads": 1},
}


RECIPES = {  # name -> overrides of training/configs/train_dcgan.yaml
    "7,000-step recipe": ["plan=full"],  # the default where its 7,000 steps fit the budget, and the one before
    "budget recipe": ["plan=short"],  # the default where they do not
}


def compose_recipe(overrides=()):
    """training/configs/train_dcgan.yaml as the command line composes it with `overrides`."""
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=str(ROOT / "training" / "configs"), version_base=None):
        return compose(config_name="train_dcgan", overrides=list(overrides))


def recipe_step(images: torch.Tensor, overrides=("plan=full",), channels_last=False, adam=None, compile=False,
                policy=None, threads=None):
    """A recipe's networks, optimisers, loss, augmentation, batch size and EMA (read from its config), and
    `run(steps) -> images/second` of its training step: the step train_dcgan.py runs (`hfgan.steps.gan_step` with
    the config's loss, DiffAugment and R1), on networks and optimisers sized as train_dcgan.py sizes them;
    `policy` replaces the recipe's DiffAugment policy, `adam` adds options to its optimisers."""
    from accelerate import Accelerator
    from omegaconf import OmegaConf

    from hfgan import DCGANDiscriminator, DCGANGenerator
    from hfgan.augment import DiffAugment
    from hfgan.steps import gan_step
    from hfgan.training.ema import EMA

    cfg = compose_recipe(overrides)
    if policy is not None:
        cfg = OmegaConf.merge(cfg, {"augment": {"policy": policy}})
    batch_size, latent_dim = cfg.batch_size, cfg.model.latent_dim
    torch.manual_seed(0)
    # train_dcgan.py's networks and Adam optimisers (its build_networks), from hfgan's classes: importing the script
    # would put training/ on sys.path
    g = DCGANGenerator(cfg.model.latent_dim, cfg.model.g_channels, cfg.data.image_size)
    d = DCGANDiscriminator(cfg.model.d_channels, cfg.data.image_size)
    if channels_last:
        g, d = g.to(memory_format=torch.channels_last), d.to(memory_format=torch.channels_last)
    betas = (cfg.optim.beta1, cfg.optim.beta2)
    opt_g = torch.optim.Adam(g.parameters(), lr=cfg.optim.g_lr, betas=betas, **(adam or {}))
    opt_d = torch.optim.Adam(d.parameters(), lr=cfg.optim.d_lr, betas=betas, **(adam or {}))
    augment = DiffAugment(list(cfg.augment.policy))
    ema = EMA(g, decay=cfg.ema.decay, warmup=cfg.ema.warmup)
    run_g, run_d = (torch.compile(g), torch.compile(d)) if compile else (g, d)
    accelerator = Accelerator(cpu=True)  # fp32, no wrapping: what train_dcgan.py gets on a CPU
    all_threads = torch.get_num_threads()

    def run(steps: int) -> float:
        torch.set_num_threads(threads or all_threads)
        draw = torch.Generator().manual_seed(1)
        start = time.perf_counter()
        for step in range(steps):
            real = images[torch.randint(len(images), (batch_size,), generator=draw)].float().div_(127.5).sub_(1.0)
            if channels_last:
                real = real.contiguous(memory_format=torch.channels_last)
            z = torch.randn(batch_size, latent_dim)
            gan_step(lambda: run_g(z).sample, run_d, real, opt_g, opt_d, augment=augment, kind=cfg.loss.kind,
                     r1_gamma=cfg.loss.r1_gamma, r1_every=cfg.loss.r1_every, step=step, accelerator=accelerator)
            ema.update(g)
        rate = steps * batch_size / (time.perf_counter() - start)
        torch.set_num_threads(all_threads)
        return rate

    return run


def interleaved(runs: dict, steps: int, rounds: int) -> dict[str, list[float]]:
    """Warm each `run(steps) -> images/s` up, then time them round by round; returns each one's rates."""
    for name, run in runs.items():  # warm-up: allocator, oneDNN primitives, compilation
        start = time.perf_counter()
        run(3)
        print(f"  warm-up {name}: {time.perf_counter() - start:.1f} s")
    rates = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            rates[name].append(run(steps))
    return rates


def compare_variants(images: torch.Tensor, steps: int, rounds: int, with_compile: bool) -> None:
    variants = dict(VARIANTS, **({"torch.compile": {"compile": True}} if with_compile else {}))
    rates = interleaved({name: recipe_step(images, **change) for name, change in variants.items()}, steps, rounds)
    base = statistics.median(rates["7,000-step recipe"])
    print(f"the 7,000-step recipe's step, {steps} steps x {rounds} interleaved rounds, median (spread):")
    for name, values in rates.items():
        m = statistics.median(values)
        print(f"  {name:18s} {m:6.1f} images/s  {m / base:.2f}x  ({min(values):.1f}-{max(values):.1f})")


def compare_recipes(images: torch.Tensor, steps: int, rounds: int) -> None:
    """The tutorial loop (the fixed yardstick) and both plans of the default recipe, side by side."""
    runs = {"tutorial loop": lambda n: plain_loop(images, n, 64)}
    runs |= {name: recipe_step(images, overrides) for name, overrides in RECIPES.items()}
    batch = {"tutorial loop": 64} | {name: compose_recipe(o).batch_size for name, o in RECIPES.items()}
    rates = interleaved(runs, steps, rounds)
    median = {name: statistics.median(values) for name, values in rates.items()}
    print(f"{steps} steps x {rounds} interleaved rounds, {torch.get_num_threads()} threads, median (spread):")
    for name, values in rates.items():
        m = median[name]
        print(f"  {name:26s} batch {batch[name]:3d}  {m:6.1f} images/s  {m / batch[name]:5.2f} steps/s  "
              f"{m / median['tutorial loop']:.2f}x the tutorial loop  ({min(values):.1f}-{max(values):.1f})")
    new, old = median["budget recipe"], median["7,000-step recipe"]
    print(f"  budget vs. 7,000-step recipe: {new / old:.2f}x images/s, "
          f"{(new / batch['budget recipe']) / (old / batch['7,000-step recipe']):.2f}x steps/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--variants", action="store_true", help="time the 7,000-step recipe's step under variants")
    parser.add_argument("--compile", action="store_true", help="with --variants: also torch.compile")
    parser.add_argument("--recipes", action="store_true", help="the budget recipe vs. the 7,000-step one vs. the "
                        "tutorial loop")
    args = parser.parse_args()
    os.environ.setdefault("WANDB_SILENT", "true")

    from hfgan.data import load_image_dataset

    images = load_image_dataset(None, split="train", image_size=64).images  # the same uint8 tensor for both
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; {len(images)} emoji, 64 px, "
          f"batch {args.batch_size}, {args.steps} steps per run")
    if args.variants:
        compare_variants(images, args.steps, max(args.rounds, 3), args.compile)
        return
    if args.recipes:
        compare_recipes(images, args.steps, max(args.rounds, 3))
        return
    plain, framework = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            plain.append(plain_loop(images, args.steps, args.batch_size))
            framework.append(framework_run(args.steps, args.batch_size, Path(tmp) / "run"))
            print(f"  round {r + 1}: plain {plain[-1]:.1f} images/s, train_dcgan.py {framework[-1]:.1f} images/s")
    p, f = max(plain), max(framework)
    print(f"best: plain loop {p:.1f} images/s, train_dcgan.py {f:.1f} images/s, framework cost {100 * (1 - f / p):+.1f}%")


if __name__ == "__main__":
    main()
