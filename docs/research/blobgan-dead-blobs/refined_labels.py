"""An encoder taught by refinement: does supervising it on real scenes' refined layouts fit them better than the
image losses alone?

    # 1. labels: each training scene's layout after pipe.invert's refinement (shards, one process each)
    OMP_NUM_THREADS=1 python docs/research/blobgan-dead-blobs/refined_labels.py label OUT/labels-0.pt \
        --start 0 --stop 2500 [--release zoo/blobgan-emoji-scenes-inversion] [--steps 50] [--space raw]
    # how close to the labels an encoder must come: PSNR on the way from the encoder's answer to the label
    OMP_NUM_THREADS=1 python docs/research/blobgan-dead-blobs/refined_labels.py blend --labels OUT/labels-0.pt [256]
    # how many dimensions the labels need: PSNR of the labels projected on their best rank-r subspace
    OMP_NUM_THREADS=1 python docs/research/blobgan-dead-blobs/refined_labels.py rank [5000] --labels OUT/labels-*.pt
    # 2. the encoder trained on them, and the control (the same loop, no label term)
    OMP_NUM_THREADS=1 python docs/research/blobgan-dead-blobs/refined_labels.py train OUT/labelled \
        --labels OUT/labels-*.pt [--label-weight 10] [--minutes 30] > out.json
    OMP_NUM_THREADS=1 python docs/research/blobgan-dead-blobs/refined_labels.py train OUT/control \
        --labels OUT/labels-*.pt --label-weight 0 ...

Round 14 found the encoder underfitting its own training scenes (14.7 dB on them), where refinement reaches 20 dB
on any scene in 50 steps and the encoder reaches 18.5-20.5 dB on generated images, whose exact layouts it is taught
with the latent term. Hypothesis: the image losses' gradient through the generator is a slow teacher; the refined
layout of each real scene, a target in the layout's own space, teaches faster.

`label` runs `refine_in_space` (pipe.invert's refinement) from the release's encoder answer for scenes
[start, stop) of the training parquet (`--space raw`: the raw vector, pipe.invert's default; `hidden`: the layout
network's last hidden vector, the more editable refinement) and saves the raw layouts with each one's PSNR.

`train` trains the release's encoder on train_inversion.py's loss (emoji-cnn-distance + L2 on a real and a generated
half, + 10 x the latent L2 on the generated half; batch 16 + 16, Adam lr 1e-3 (0.9, 0.99)) plus `--label-weight` x
the mean squared error between E(x_real) and x_real's refined raw layout, the reals drawn from the labelled scenes
only, for `--minutes` of wall time. With `--labels-only` the image losses go: the generated half keeps the latent
L2 (x 10), the real half only the label's, so a step needs no generator backward. `--width` trains a fresh encoder
of other widths (started at the mean layout) instead of the release's; `--mlp-head H` adds to its linear head an MLP
of H hidden units whose output starts at zero (`ResidualHead`); `--pooled H` wraps it in pooled_encoder.py's
`PooledEncoder` (a per-blob MLP of H hidden units on the features under each blob, round 17; `--footprint`: under
each blob's shape at size 0, visible or not). Printed every `--every` steps: PSNR on the first 256 held-out emoji
scenes and on the first 256 labelled ones, and the label error on those; then evaluate_inversion's numbers on the
emoji and icons test sets and carry_rate.py's editability on the first 64 emoji scenes. The encoder's weights go
to OUT/encoder.safetensors.
"""
import argparse
import json
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

torch.set_num_threads(1)
from hfgan import BlobGANEncoder, BlobGANPipeline  # noqa: E402
from hfgan.losses import inversion_loss  # noqa: E402
from hfgan.metrics import load_backbone  # noqa: E402
from hfgan.metrics.inversion import evaluate_inversion, psnr, scenes_with_boxes  # noqa: E402
from hfgan.models.layers.stylegan2 import EqualLinear  # noqa: E402
from hfgan.perceptual import perceptual_distance  # noqa: E402
from hfgan.pipelines.blobgan import REFINE_LR, refine_in_space  # noqa: E402
from carry_rate import carry_stats  # noqa: E402  (this folder)
from feedback_encoder import SCENES, draw_fakes  # noqa: E402
from pooled_encoder import PooledEncoder  # noqa: E402

TRAIN = "data/scenes/scenes-64-train.parquet"


class ResidualHead(torch.nn.Module):
    """A linear head (features -> raw layout) plus an MLP of one hidden layer whose last layer starts at zero, so the
    encoder starts at the linear head's answers. A linear head from C features puts every answer in one C-dimensional
    affine subspace of the raw layouts; the MLP bends it into a C-dimensional surface."""

    def __init__(self, linear: EqualLinear, hidden: int):
        super().__init__()
        self.linear = linear
        self.mlp = torch.nn.Sequential(EqualLinear(linear.weight.shape[1], hidden), torch.nn.LeakyReLU(0.2),
                                       EqualLinear(hidden, linear.weight.shape[0], weight_init=0.0))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.linear(features) + self.mlp(features)  # (B, raw_dim)


def frozen_pipe(release: str) -> BlobGANPipeline:
    pipe = BlobGANPipeline.from_pretrained(release)
    pipe.set_progress_bar_config(disable=True)
    for module in (pipe.layout_net, pipe.generator, pipe.encoder):
        module.eval().requires_grad_(False)
    return pipe


def probe_scenes(size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The training scenes, uint8 (N, 3, S, S), and the probe the loops here score on the way: the first 256 held-out
    emoji scenes in [-1, 1]."""
    return (scenes_with_boxes(TRAIN, image_size=size)[0],
            scenes_with_boxes(SCENES["emoji"], image_size=size)[0][:256].float() / 127.5 - 1)


def probe_psnr(reconstruct, images: torch.Tensor) -> float:
    """Mean PSNR of `reconstruct(images)` against `images`, both in [-1, 1], without gradients: the probe the loops
    here print on the way."""
    with torch.no_grad():
        return psnr((reconstruct(images).clamp(-1, 1) + 1) / 2, (images + 1) / 2).mean().item()


class Curve(list):
    """The points a training loop here prints on the way, a list (the run's "curve"): at each `add(step)`, the step,
    the minutes since the curve began (`start`, what the loop's time budget counts from), the probe's PSNR of
    `reconstruct` on the held-out scenes and on training scenes (under `fitted_key`) and any `extra()` numbers, with
    `module` in eval mode while probed and in train mode after."""

    def __init__(self, module: torch.nn.Module, reconstruct, held_out: torch.Tensor, fitted: torch.Tensor,
                 fitted_key: str = "train", extra=None):
        super().__init__()
        self.module, self.reconstruct, self.extra = module, reconstruct, extra
        self.probes = {"held_out": held_out, fitted_key: fitted}
        self.start = time.time()

    def add(self, step: int) -> None:
        self.module.eval()
        point = {"step": step, "minutes": round((time.time() - self.start) / 60, 2),
                 **{key: probe_psnr(self.reconstruct, images) for key, images in self.probes.items()},
                 **(self.extra() if self.extra else {})}
        self.module.train()
        self.append(point)
        print(json.dumps(point), flush=True)


def final_numbers(pipe: BlobGANPipeline, num_eval: int) -> dict:
    """What the loops here report at the end: evaluate_inversion on the first `num_eval` scenes of both test sets,
    and carry_rate.py's editability of the first 64 held-out emoji scenes' inversions."""
    size = pipe.generator.config.image_size
    backbone = load_backbone("emoji-cnn")
    results = []
    for name, path in SCENES.items():
        images, boxes = scenes_with_boxes(path, image_size=size)
        numbers = evaluate_inversion(pipe, images[:num_eval], boxes[:num_eval], backbone=backbone)
        results.append({"scenes": name, **numbers})
    first = scenes_with_boxes(SCENES["emoji"], image_size=size)[0][:64].float() / 255
    layout = pipe.invert(first, output_type="pt").layouts
    return {"results": results, "carry_64_emoji": carry_stats(pipe.generator, layout)}


def load_labels(paths: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """The label shards at `paths` in scene order: the training scenes' indices (N,) and their labels (N, raw_dim)."""
    shards = sorted((torch.load(path) for path in paths), key=lambda shard: shard["start"])
    return (torch.cat([torch.arange(s["start"], s["stop"]) for s in shards]), torch.cat([s["raw"] for s in shards]))


def label(args) -> None:
    pipe = frozen_pipe(args.release)
    net, gen, encoder = pipe.layout_net, pipe.generator, pipe.encoder
    size = gen.config.image_size
    images = scenes_with_boxes(TRAIN, image_size=size)[0][args.start : args.stop]  # uint8 (N, 3, S, S)
    lr = args.lr or REFINE_LR[args.space]
    raws, scores = [], []
    for chunk in images.split(64):
        target = chunk.float() / 127.5 - 1  # (n, 3, S, S)
        with torch.no_grad():
            start = encoder(target).raw
        raw = refine_in_space(gen, net, start, target, args.steps, lr, args.space)  # pipe.invert's refinement
        with torch.no_grad():
            image = gen(encoder.decode(raw), noise_mode="const").sample.clamp(-1, 1)
        raws.append(raw)
        scores.append(psnr((image + 1) / 2, (target + 1) / 2))
        print(f"{args.start + sum(len(r) for r in raws)} / {args.stop}: {torch.cat(scores).mean():.2f} dB",
              flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    torch.save({"start": args.start, "stop": args.start + len(images), "raw": torch.cat(raws),
                "psnr": torch.cat(scores), "space": args.space, "steps": args.steps}, args.out + ".tmp")
    Path(args.out + ".tmp").rename(args.out)


def train(args) -> None:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    pipe = frozen_pipe(args.release)
    net, gen, encoder = pipe.layout_net, pipe.generator, pipe.encoder
    if args.width:  # a fresh encoder of other widths, started at the mean layout as train_inversion.py's
        config = {k: v for k, v in encoder.config.items() if not k.startswith("_")}
        encoder = BlobGANEncoder(**{**config, "channel_base": args.width[0], "channel_max": args.width[1]})
        encoder.start_at(net.output_mean)
        pipe.encoder = encoder
    if args.mlp_head:  # the linear head plus a nonlinear correction that starts at zero: answers off a flat subspace
        encoder.head = ResidualHead(encoder.head, args.mlp_head)
    if args.pooled:  # plus a per-blob correction read from the pixels under each blob (round 17, pooled_encoder.py)
        encoder = pipe.encoder = PooledEncoder(encoder, args.pooled, args.footprint)
    encoder.requires_grad_(True)
    optimizer = torch.optim.Adam(encoder.parameters(), lr=args.lr, betas=(0.9, 0.99))  # train_inversion.py's
    perceptual = perceptual_distance("emoji-cnn-distance")
    size = gen.config.image_size
    scenes, held_out = probe_scenes(size)
    index, labels = load_labels(args.labels)  # (N,), (N, raw_dim): row i the label of scene index[i]
    train_images = scenes[index]
    fitted = train_images[:256].float() / 127.5 - 1
    draws = torch.Generator().manual_seed(args.seed)
    b = 16

    def label_error() -> dict:
        with torch.no_grad():
            return {"label_mse": F.mse_loss(encoder(fitted).raw, labels[:256]).item()}

    curve = Curve(encoder, lambda x: gen(encoder(x).layout, noise_mode="const").sample, held_out, fitted,
                  "labelled", label_error)
    step = 0
    curve.add(step)
    while time.time() - curve.start < args.minutes * 60:
        pick = torch.randint(len(train_images), (b,), generator=draws)
        real = train_images[pick].float() / 127.5 - 1  # (B, 3, S, S)
        beta_fake, fake = draw_fakes(net, gen, b, draws)  # the same draws as feedback_encoder.py's control
        raw = encoder(torch.cat([real, fake])).raw  # (2B, raw_dim)
        if args.labels_only:  # no image loss, so no generator backward; the label term below teaches the reals
            loss = 10.0 * F.mse_loss(raw[b:], beta_fake)  # train_inversion.py's lambda
        else:
            reconstruction = gen(encoder.decode(raw), noise_mode="const").sample
            loss = inversion_loss(real, reconstruction[:b], fake, reconstruction[b:], beta_fake, raw[b:],
                                  perceptual)["loss"]
        if args.label_weight:
            loss = loss + args.label_weight * F.mse_loss(raw[:b], labels[pick])  # the refined layout as a target
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        step += 1
        if step % args.every == 0:
            curve.add(step)
    encoder.eval().requires_grad_(False)
    save_file({k: v.contiguous() for k, v in encoder.state_dict().items()}, out / "encoder.safetensors")
    print(json.dumps({"release": args.release, "labels": args.labels, "label_weight": args.label_weight,
                      "labels_only": args.labels_only, "width": args.width, "mlp_head": args.mlp_head,
                      "pooled": args.pooled, "footprint": args.footprint,
                      "minutes": args.minutes, "steps": step, "labelled_scenes": len(index), "curve": curve,
                      **final_numbers(pipe, args.num_eval)}, indent=1))


def blend(args) -> None:
    """PSNR along the straight way from the release encoder's answer to the label, on the first N labelled scenes."""
    pipe = frozen_pipe(args.release)
    gen, encoder = pipe.generator, pipe.encoder
    index, label = (tensor[: args.n] for tensor in load_labels(args.labels))
    n = len(index)
    target = scenes_with_boxes(TRAIN, image_size=gen.config.image_size)[0][index].float() / 127.5 - 1  # (N, 3, S, S)
    rows = []
    with torch.no_grad():
        answer = encoder(target).raw
        for t in (0, 0.25, 0.5, 0.75, 0.9, 1):
            image = gen(encoder.decode(answer + t * (label - answer)), noise_mode="const").sample.clamp(-1, 1)
            rows.append({"t": t, "label_mse": (1 - t) ** 2 * F.mse_loss(answer, label).item(),
                         "psnr": psnr((image + 1) / 2, (target + 1) / 2).mean().item()})
    print(json.dumps({"release": args.release, "labels": args.labels[0], "images": n, "rows": rows}, indent=1))


def rank(args) -> None:
    """How many dimensions the labels need between them: the labels of the first N labelled scenes projected onto
    their best rank-r affine subspace (PCA), rendered, scored against the first 256 of those scenes. An encoder whose
    last layer is linear from C features answers inside one C-dimensional affine subspace."""
    pipe = frozen_pipe(args.release)
    gen, encoder = pipe.generator, pipe.encoder
    index, labels = (tensor[: args.n] for tensor in load_labels(args.labels))  # (N,), (N, raw_dim)
    index = index[:256]
    target = scenes_with_boxes(TRAIN, image_size=gen.config.image_size)[0][index].float() / 127.5 - 1
    mean = labels.mean(0)
    _, singular, directions = torch.linalg.svd(labels - mean, full_matrices=False)  # directions: (min(N, D), D)
    rows = []
    with torch.no_grad():
        for r in args.ranks:
            basis = directions[:r]  # (r, raw_dim)
            projected = mean + (labels[: len(index)] - mean) @ basis.T @ basis
            image = gen(encoder.decode(projected), noise_mode="const").sample.clamp(-1, 1)
            rows.append({"rank": r, "residual_mse": (singular[r:] ** 2).sum().item() / labels.numel(),
                         "psnr": psnr((image + 1) / 2, (target + 1) / 2).mean().item()})
    print(json.dumps({"labels": args.labels, "images": len(labels), "scored": len(index), "rows": rows}, indent=1))


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="mode", required=True)
    one = sub.add_parser("label")
    one.add_argument("out")
    one.add_argument("--start", type=int, default=0)
    one.add_argument("--stop", type=int, default=None)
    one.add_argument("--steps", type=int, default=50)
    one.add_argument("--space", choices=["raw", "hidden"], default="raw")
    one.add_argument("--lr", type=float, default=None, help="pipe.invert's default for the space")
    two = sub.add_parser("train")
    two.add_argument("out")
    two.add_argument("--labels", nargs="+", required=True)
    two.add_argument("--label-weight", type=float, default=10.0)
    two.add_argument("--labels-only", action="store_true",
                     help="drop the image losses: the latent L2 on the generated half, the label L2 on the real")
    two.add_argument("--minutes", type=float, default=30)
    two.add_argument("--every", type=int, default=250)
    two.add_argument("--lr", type=float, default=1e-3)
    two.add_argument("--mlp-head", type=int, default=0, metavar="HIDDEN",
                     help="add to the encoder's linear head an MLP with this many hidden units, started at zero")
    two.add_argument("--pooled", type=int, default=0, metavar="HIDDEN",
                     help="add a per-blob MLP of this many hidden units on features pooled under each blob")
    two.add_argument("--footprint", action="store_true",
                     help="with --pooled: read each blob under its shape at size 0, visible or not")
    two.add_argument("--width", type=int, nargs=2, metavar=("CHANNEL_BASE", "CHANNEL_MAX"),
                     help="train a fresh encoder of these widths instead of the release's")
    two.add_argument("--seed", type=int, default=0)
    two.add_argument("--num-eval", type=int, default=1000, help="test scenes per set at the end")
    three = sub.add_parser("blend")
    three.add_argument("--labels", nargs=1, required=True)
    three.add_argument("n", type=int, nargs="?", default=256)
    four = sub.add_parser("rank")
    four.add_argument("--labels", nargs="+", required=True)
    four.add_argument("n", type=int, nargs="?", default=5000)
    four.add_argument("--ranks", type=int, nargs="+", default=[0, 16, 64, 128, 256, 512, 1024])
    for p in (one, two, three, four):
        p.add_argument("--release", default="zoo/blobgan-emoji-scenes-inversion")
    args = parser.parse_args()
    {"label": label, "train": train, "blend": blend, "rank": rank}[args.mode](args)


if __name__ == "__main__":
    main()
