"""The pictures and numbers of docs/blobgan.md, from a trained BlobGAN release (default: the zoo's).

    python docs/make_blobgan_figures.py          # zoo/blobgan-emoji-scenes(-inversion) -> docs/images/
    python docs/make_blobgan_figures.py --model outputs/blobgan-emoji-scenes/release --out /tmp/figures

Writes `blobgan_samples.png` (samples beside their blob layouts), `blobgan_edits.png` (each edit applied to the same
sample: move, resize, remove, restyle, duplicate, every image above its layout) and `blobgan_edits.json`: how local
a move is, over many samples (the share of the pixel change that falls inside the moved blob's old and new
footprints, against the share of the image those footprints cover).

When the release has an encoder and the held-out scenes are there (`--scenes`), also `blobgan_inversion.png` (test
images; for the encoder's layout and for the layout refined by the last of `--refine-steps`: its blobs, its
rendering, and its largest blob moved) and `blobgan_inversion.json`: `evaluate_inversion` on `--num-eval` test
images, with the encoder alone and with each number of refinement steps (and the seconds an image took). With
scenes of objects the training never saw (`--unseen-scenes`, by default the icon scenes of
data/icons/build_icon_scenes.py), the same figure of them, `blobgan_inversion_unseen.png`, and the encoder's numbers
on them under "unseen" in the json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import PIL.Image
import torch

from hfgan import BlobGANPipeline, BlobLayout, render_layout
from hfgan.metrics import load_backbone
from hfgan.metrics.inversion import evaluate_inversion, scenes_with_boxes
from hfgan.models.blobgan.splat import blob_opacities, composite
from hfgan.pipelines.image_processor import to_pil_images
from hfgan.utils import make_image_grid

SHOW = 192  # pixels per picture in the figures (samples are upscaled without smoothing: what you see is 64 px)


def alphas(layout: BlobLayout, size: int) -> torch.Tensor:
    """(B, K, S, S) how much of each pixel each blob covers, after depth ordering (the background left out)."""
    return composite(blob_opacities(*layout.splat_args(), size))[:, 1:]


def largest_blob(layout: BlobLayout, size: int) -> int:
    """The index of the blob that covers most of the first image."""
    return int(alphas(layout[0], size)[0].sum(dim=(1, 2)).argmax())


def pair(pipe: BlobGANPipeline, layout: BlobLayout) -> tuple[PIL.Image.Image, PIL.Image.Image]:
    image = pipe(layout=layout).images[0].resize((SHOW, SHOW), PIL.Image.NEAREST)
    return image, render_layout(layout, size=SHOW)[0]


def toward_centre(x: float, step: float) -> float:
    return step if x < 0.5 else -step


def edits(pipe: BlobGANPipeline, output, index: int, donor: int) -> tuple[list[str], list[PIL.Image.Image]]:
    """Each edit of sample `index`'s largest blob; restyle takes the largest blob of sample `donor`."""
    size = pipe.generator.config.image_size
    layout = output.layouts[index]
    i, j = largest_blob(layout, size), largest_blob(output.layouts[donor], size)
    dx = toward_centre(float(layout.xs[0, i]), 0.25)
    edited = {
        "sample": layout,
        f"move({i}, dx={dx:+.2f})": layout.move(i, dx=dx),
        f"resize({i}, ds=+2)": layout.resize(i, 2.0),
        f"remove({i})": layout.remove(i),
        f"restyle({i}, other, {j})": layout.restyle(i, output.layouts[donor], j),
        f"duplicate({i}, dx={-dx:+.2f})": layout.duplicate(i, dx=-dx),
    }
    pairs = [pair(pipe, lay) for lay in edited.values()]
    return list(edited), [p[0] for p in pairs] + [p[1] for p in pairs]


@torch.no_grad()
def move_locality(pipe: BlobGANPipeline, num: int, seed: int, step: float = 0.2) -> dict[str, float]:
    """Move the largest blob of each of `num` samples by `step` toward the centre; of the total pixel change, the
    share inside the blob's footprint before or after the move (alpha > 0.5), and the share of the image that
    footprint covers (what the change would be if it were spread evenly)."""
    size = pipe.generator.config.image_size
    output = pipe(num_images=num, generator=torch.Generator().manual_seed(seed), output_type="pt")
    inside = area = 0.0
    for n in range(num):
        layout = output.layouts[n]
        i = largest_blob(layout, size)
        moved = layout.move(i, dx=toward_centre(float(layout.xs[0, i]), step))
        change = (pipe(layout=moved, output_type="pt").images[0] - output.images[n]).abs().sum(0)  # (S, S)
        footprint = (alphas(layout, size)[0, i] > 0.5) | (alphas(moved, size)[0, i] > 0.5)
        inside += float(change[footprint].sum() / change.sum().clamp_min(1e-12))
        area += float(footprint.float().mean())
    return {"samples": num, "move": step, "change_inside_footprint": inside / num, "footprint_area": area / num}


def inversion_figure(pipe: BlobGANPipeline, images: torch.Tensor, refine_steps: int) -> PIL.Image.Image:
    """One column per test image. Rows: the image; then for the encoder's layout and for the refined one, its blobs,
    its rendering, and its rendering with the largest blob moved a quarter of the width toward the centre."""
    size = pipe.generator.config.image_size
    rows = [to_pil_images(images.float() / 255)]
    for steps in (0, refine_steps):
        inverted = pipe.invert(images, num_refine_steps=steps, output_type="pt")
        moved = []
        for n in range(len(images)):
            layout = inverted.layouts[n]
            i = largest_blob(layout, size)
            moved += pipe(layout=layout.move(i, dx=toward_centre(float(layout.xs[0, i]), 0.25))).images
        rows += [render_layout(inverted.layouts, size=SHOW), to_pil_images(inverted.reconstructions), moved]
    tiles = [t if t.width == SHOW else t.resize((SHOW, SHOW), PIL.Image.NEAREST) for row in rows for t in row]
    return make_image_grid(tiles, rows=len(rows), cols=len(images))


def inversion_figure_and_test_set(pipe: BlobGANPipeline, scenes: str, args, figure: Path):
    """Save the inversion figure of the first 8 scenes of `scenes`; return its first `--num-eval` images and boxes."""
    images, boxes = scenes_with_boxes(scenes, image_size=pipe.encoder.config.image_size)
    inversion_figure(pipe, images[:8], args.refine_steps[-1]).save(figure)
    return images[: args.num_eval], boxes[: args.num_eval] if boxes is not None else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    # the zoo's BlobGAN networks with their encoder (blobgan-emoji-scenes' layout network and generator, unchanged)
    zoo = Path(__file__).resolve().parents[1] / "zoo"
    parser.add_argument("--model", default=str(zoo / "blobgan-emoji-scenes-inversion"))
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "images"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--num", type=int, default=64, help="samples for the locality numbers")
    parser.add_argument("--scenes", default="data/scenes/scenes-64-test.parquet", help="held-out scenes with boxes")
    parser.add_argument("--unseen-scenes", default="data/icons/scenes-64-test.parquet",
                        help="held-out scenes of objects never seen in training, with boxes ('' for none)")
    parser.add_argument("--num-eval", type=int, default=300, help="test images for the inversion numbers")
    parser.add_argument("--refine-steps", type=int, nargs="+", default=[100, 200],
                        help="refinement steps after the encoder to measure; the figure uses the last")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    pipe = BlobGANPipeline.from_pretrained(args.model)
    pipe.set_progress_bar_config(disable=True)

    output = pipe(num_images=8, generator=torch.Generator().manual_seed(args.seed))
    pictures = [p for n in range(8) for p in pair(pipe, output.layouts[n])]
    make_image_grid(pictures, rows=2, cols=8).save(out / "blobgan_samples.png")

    names, pictures = edits(pipe, output, index=0, donor=1)
    make_image_grid(pictures, rows=2, cols=len(names)).save(out / "blobgan_edits.png")
    numbers = {"edits": names, "locality": move_locality(pipe, args.num, args.seed + 1)}
    (out / "blobgan_edits.json").write_text(json.dumps(numbers, indent=2) + "\n")
    print(json.dumps(numbers, indent=2))

    if pipe.encoder is None or not Path(args.scenes).is_file():
        print(f"no inversion figures: the release has no encoder, or {args.scenes} is missing")
        return
    evaluated, boxes = inversion_figure_and_test_set(pipe, args.scenes, args, out / "blobgan_inversion.png")
    backbone = load_backbone("emoji-cnn")  # FD of the reconstructions (left out below 256 images, its dimension)
    numbers = {"test_images": len(evaluated), "encoder": evaluate_inversion(pipe, evaluated, boxes, backbone=backbone)}
    for steps in args.refine_steps:
        start = time.perf_counter()
        results = evaluate_inversion(pipe, evaluated, boxes, backbone=backbone, num_refine_steps=steps)
        results["seconds_per_image"] = (time.perf_counter() - start) / len(evaluated)
        numbers[f"encoder + {steps} refinement steps"] = results
    if args.unseen_scenes and Path(args.unseen_scenes).is_file():
        evaluated, boxes = inversion_figure_and_test_set(pipe, args.unseen_scenes, args,
                                                         out / "blobgan_inversion_unseen.png")
        numbers["unseen"] = {"scenes": args.unseen_scenes, "test_images": len(evaluated),
                             "encoder": evaluate_inversion(pipe, evaluated, boxes, backbone=backbone)}
    (out / "blobgan_inversion.json").write_text(json.dumps(numbers, indent=2) + "\n")
    print(json.dumps(numbers, indent=2))


if __name__ == "__main__":
    main()
