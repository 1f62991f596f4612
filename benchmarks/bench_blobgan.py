"""BlobGAN's cost on CPU at 64 px, with the default recipe's sizes (training/configs/model/blobgan_small.yaml).

1. Splatting's share of a generator forward: `layout.splat` of the structure grid and of the style maps at every
   layer's resolution (what `BlobGANGenerator.forward` does first) vs. the whole forward, timed in the same run
   (target: under 10%), with the alphas sampled on each grid and averaged down from the image's size
   (`pooled_alphas`); and the alphas' two forms side by side (`blob_alphas`, the generator's, against
   `composite(blob_opacities(...))`, the equations as written).
2. Sampling: images/second of `BlobGANPipeline` (layout network + generator), and of re-rendering a given layout
   (an edit: one generator forward).
3. Training: images/second of training/train_blobgan.py's loop (D step, G step, EMA; DiffAugment and lazy R1 as
   configured; the median of its logged 5-step windows, start-up and release left out) on in-memory images, and
   the same for train_dcgan.py's default recipe for scale, run back to back.

    python benchmarks/bench_blobgan.py               # about 3 minutes on 2 cores
    python benchmarks/bench_blobgan.py --steps 50 --batch-size 32
    python benchmarks/bench_blobgan.py --paper       # also the splatting share at the paper's 256 px sizes
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
from pathlib import Path

import torch
import yaml

from _runs import run_training  # the sibling module: a training script run as a command
from bench_sampling import time_it  # median of timed repeats after a warm-up

ROOT = Path(__file__).resolve().parents[1]


def build_pipe(model: str = "blobgan_small", image_size: int = 64, pooled_alphas: bool | None = None):
    """An untrained pipeline with the sizes of training/configs/model/<model>.yaml (speed does not need weights);
    `pooled_alphas` None: the config's."""
    from hfgan import BlobGANGenerator, BlobGANPipeline, BlobLayoutNet

    m = yaml.safe_load((ROOT / f"training/configs/model/{model}.yaml").read_text())
    torch.manual_seed(0)
    layout_net = BlobLayoutNet(m["latent_dim"], m["num_blobs"], m["structure_dim"], m["style_dim"],
                               m["layout_hidden_dim"], m["layout_layers"], m["blob_variance"])
    pooled = m["pooled_alphas"] if pooled_alphas is None else pooled_alphas
    generator = BlobGANGenerator(image_size, m["input_size"], m["structure_dim"], m["style_dim"], m["g_channel_base"],
                                 m["g_channel_max"], pooled)
    pipe = BlobGANPipeline(layout_net=layout_net.eval(), generator=generator.eval())
    pipe.set_progress_bar_config(disable=True)
    return pipe


@torch.no_grad()
def splat_share(batch_size: int, repeats: int, model: str = "blobgan_small", image_size: int = 64,
                pooled_alphas: bool | None = None) -> None:
    pipe = build_pipe(model, image_size, pooled_alphas)
    layout = pipe.layout_net(torch.randn(batch_size, pipe.layout_net.config.latent_dim))
    g = pipe.generator

    splat_t, forward_t = [], []
    for _ in range(3):  # interleaved, so drift in machine load hits both alike
        splat_t.append(time_it(lambda: list(g.style_maps(layout)), repeats))  # exactly the splats of a forward
        forward_t.append(time_it(lambda: g(layout), repeats))
    s, f = statistics.median(splat_t), statistics.median(forward_t)
    alphas = "pooled" if g.config.pooled_alphas else "sampled"
    print(f"splatting ({model}, {alphas} alphas): {1000 * s:.1f} ms of a {1000 * f:.1f} ms generator forward "
          f"(batch {batch_size}, {layout.num_blobs} blobs, grids {g.config.input_size}..{g.config.image_size} px): "
          f"{100 * s / f:.1f}% (target < 10%)")


def alphas_speed(batch_size: int, repeats: int, image_size: int = 64) -> None:
    """`blob_alphas` (what the generator uses) against `composite(blob_opacities(...))` (the equations as written),
    interleaved in one run, forward and forward + backward, at the top resolution."""
    from hfgan.models.blobgan.splat import blob_alphas, blob_opacities, composite

    pipe = build_pipe()
    layout = pipe.layout_net(torch.randn(batch_size, pipe.layout_net.config.latent_dim))
    args = [t.detach().requires_grad_(True) for t in layout.splat_args()]

    def written():
        return composite(blob_opacities(*args, image_size))

    def fused():
        return blob_alphas(*args, image_size)

    def backward(make):
        return lambda: make().square().sum().backward()

    times = {name: [] for name in ("written", "fused", "written_backward", "fused_backward")}
    for _ in range(3):  # interleaved, so drift in machine load hits both alike
        with torch.no_grad():
            times["written"].append(time_it(written, repeats))
            times["fused"].append(time_it(fused, repeats))
        times["written_backward"].append(time_it(backward(written), repeats))
        times["fused_backward"].append(time_it(backward(fused), repeats))
    t = {name: 1000 * statistics.median(values) for name, values in times.items()}
    print(f"alphas at {image_size} px, batch {batch_size}, {layout.num_blobs} blobs: blob_alphas {t['fused']:.1f} ms, "
          f"composite(blob_opacities) {t['written']:.1f} ms ({t['written'] / t['fused']:.1f}x); forward + backward "
          f"{t['fused_backward']:.1f} vs {t['written_backward']:.1f} ms "
          f"({t['written_backward'] / t['fused_backward']:.1f}x)")


def sampling(batch_size: int, repeats: int) -> None:
    pipe = build_pipe()
    layout = pipe(num_images=batch_size, generator=torch.Generator().manual_seed(0)).layouts
    sample_t = time_it(lambda: pipe(num_images=batch_size, output_type="pt"), repeats)
    render_t = time_it(lambda: pipe(layout=layout.move(0, dx=0.1), output_type="pt"), repeats)
    print(f"sampling: {batch_size / sample_t:.0f} images/s; re-rendering an edited layout: "
          f"{batch_size / render_t:.0f} images/s, {1000 * time_it(lambda: pipe(layout=layout[0]), repeats):.0f} "
          "ms for one image")


def training(script: str, overrides: list[str], steps: int, workdir: Path) -> float:
    """Images/second of training/<script>.py's loop, run as a command: the median of its logged 5-step windows."""
    overrides = ["overwrite=true", f"max_steps={steps}", "max_minutes=null",
                 "logging.wandb=disabled", "logging.every=5", "logging.progress_bar=false", "logging.sample_every=0",
                 "metrics.every=-1", "checkpoint.every=0", *overrides]
    run_training(script, workdir, overrides)
    logged = [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]
    return statistics.median(r["images_per_second"] for r in logged[1:] if "images_per_second" in r)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=40, help="training steps per script")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--paper", action="store_true", help="also the splatting share at the paper's 256 px sizes")
    args = parser.parse_args()
    os.environ.setdefault("WANDB_SILENT", "true")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, 64 px")
    splat_share(args.batch_size, args.repeats, pooled_alphas=False)
    splat_share(args.batch_size, args.repeats, pooled_alphas=True)
    alphas_speed(args.batch_size, args.repeats)
    if args.paper:  # StyleGAN2 config-f widths: the same splats, far more convolution per pixel
        splat_share(2, 2, model="blobgan256", image_size=256)
    sampling(args.batch_size, args.repeats)
    with tempfile.TemporaryDirectory() as tmp:  # both on the shipped emoji images: the data does not change speed
        blob = training("train_blobgan", ["data=emoji", f"batch_size={args.batch_size}"], args.steps, Path(tmp) / "b")
        dcgan = training("train_dcgan", [f"batch_size={args.batch_size}"], args.steps, Path(tmp) / "d")
    print(f"training loop (median over 5-step windows after the first), batch {args.batch_size}: "
          f"train_blobgan.py {blob:.1f} images/s, train_dcgan.py (default recipe) {dcgan:.1f} images/s "
          f"({dcgan / blob:.1f}x)")


if __name__ == "__main__":
    main()
