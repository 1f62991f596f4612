"""The pictures and numbers of docs/editing.md, from a trained StyleGAN release.

    python docs/make_editing_figures.py --model outputs/stylegan-encoder/release      # -> docs/images/editing_*
    python docs/make_editing_figures.py --model <release> --classifier zoo/dcgan-emoji-classifier \
        --label "Smileys & Emotion"

Writes `editing_generated.png` (generated images, each row one unsupervised direction at --strengths),
`editing_inverted.png` (held-out real images: the image, its inversion, then the first directions applied to the
inverted w) and `editing.json`: the SeFa eigenvalues and GANSpace explained variance, `measure_edit` of each
direction on --num-eval generated images (the perceptual distance to the source), and with `--classifier` an
InterFaceGAN direction and the top StyleSpace channels for `--label`, found from the classifier's own labels of
sampled w, with their score changes.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from hfgan import StyleGANPipeline
from hfgan.data import load_image_dataset
from hfgan.editing import (
    classifier_score,
    ganspace_directions,
    interfacegan_direction,
    measure_edit,
    sefa_directions,
    stylespace_directions,
)
from hfgan.perceptual import perceptual_distance
from hfgan.pipelines.image_processor import to_pil_images
from hfgan.utils import make_image_grid

SHOW = 128  # pixels per picture in the figures (upscaled without smoothing)


def big(images):
    return [image.resize((SHOW, SHOW), resample=0) for image in images]


def strips(pipe, ws: torch.Tensor, names: list[str], strengths: list[float], directions):
    """One row per (image, direction): the edits at each strength."""
    return [pipe(ws=w[None], directions=directions, edits={name: s}).images[0]
            for w in ws for name in names for s in strengths]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "images")
    parser.add_argument("--images", default="emoji")
    parser.add_argument("--num-directions", type=int, default=3)
    parser.add_argument("--strengths", type=float, nargs="+", default=[-6, -3, 0, 3, 6])
    parser.add_argument("--num-eval", type=int, default=64)
    parser.add_argument("--method", default=None, help="inversion method (default: encoder if the release has one)")
    parser.add_argument("--classifier", default=None)
    parser.add_argument("--label", default=None)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    pipe = StyleGANPipeline.from_pretrained(args.model)
    pipe.set_progress_bar_config(disable=True)
    g = pipe.generator
    perceptual = perceptual_distance("emoji-cnn-distance")
    report: dict = {"model": args.model, "strengths": args.strengths}

    # unsupervised directions
    sefa = sefa_directions(g, args.num_directions)
    ganspace = ganspace_directions(g, args.num_directions, num_samples=5000)
    report["sefa_eigenvalues"] = sefa.config.scores
    report["ganspace_explained_variance"] = ganspace.config.scores
    rng = torch.Generator().manual_seed(0)
    ws = pipe.map(args.num_eval, generator=rng, truncation_psi=0.7)
    report["measure_edit"] = {
        f"{kind}/{name}": measure_edit(pipe, ws, name, args.strengths, directions=d, perceptual=perceptual)
        for kind, d in (("sefa", sefa), ("ganspace", ganspace)) for name in d.config.names}

    # generated images: two samples, each row one SeFa direction
    tiles = strips(pipe, ws[:2], sefa.config.names, args.strengths, sefa)
    make_image_grid(big(tiles), cols=len(args.strengths)).save(args.out / "editing_generated.png")

    # held-out real images: image, inversion, then SeFa edits of the inverted w
    method = args.method or ("encoder" if pipe.encoder is not None else "optimize")
    real = load_image_dataset(args.images, split="test", image_size=g.config.img_resolution).uint8(slice(0, 3))
    inverted = pipe.invert(real, method=method, output_type="pt")
    report["inversion_method"] = method
    tiles = []
    for image, w, reconstruction in zip(real, inverted.ws, to_pil_images(inverted.reconstructions)):
        tiles += [to_pil_images(image[None].float() / 255)[0], reconstruction]
        tiles += [pipe(ws=w[None], directions=sefa, edits={sefa.config.names[0]: s}).images[0]
                  for s in args.strengths]
    make_image_grid(big(tiles), cols=2 + len(args.strengths)).save(args.out / "editing_inverted.png")

    # a direction from labels: the classifier's own answers on sampled w (the library's two halves together)
    if args.classifier:
        from hfgan import DiscriminatorClassifierPipeline

        classifier = DiscriminatorClassifierPipeline.from_pretrained(args.classifier)
        score = classifier_score(classifier, args.label)
        sample_ws = pipe.map(2000, generator=torch.Generator().manual_seed(1))
        scores = torch.cat([score(pipe(ws=chunk, output_type="pt").images) for chunk in sample_ws.split(100)])
        labels = scores > scores.median()  # the upper half of the classifier's scores counts as the attribute
        direction = interfacegan_direction(sample_ws, labels, name=args.label)
        report["interfacegan"] = {
            "label": args.label, "boundary_accuracy": direction.config.scores[0],
            "measure_edit": measure_edit(pipe, ws, args.label, args.strengths, directions=direction, score=score,
                                         perceptual=perceptual)}
        # StyleSpace from the same labels: single style channels instead of a direction in w (strength in stds)
        channels = stylespace_directions(g, sample_ws, labels, num_directions=args.num_directions, name="style")
        report["stylespace"] = {
            "label": args.label, "relevance": dict(zip(channels.config.names, channels.config.scores)),
            "measure_edit": {name: measure_edit(pipe, ws, name, args.strengths, directions=channels, score=score,
                                                perceptual=perceptual) for name in channels.config.names}}
    (args.out / "editing.json").write_text(json.dumps(report, indent=1))
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
