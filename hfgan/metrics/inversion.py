"""How well an inversion works: reconstruction PSNR and FD, latent error on generated images, and for BlobGAN how
the encoded blobs line up with the objects of a scene.

The pieces are pure functions of tensors (`psnr`, `latent_error`, `blob_peak_alphas`, `visible_blobs`,
`blob_object_alignment`); [`evaluate_inversion`] runs a [`BlobGANPipeline`] with an encoder over test images and
returns every number; [`evaluate_stylegan_inversion`] does the same for any of `StyleGANPipeline.invert`'s methods;
[`scenes_with_boxes`] loads a scenes split (`hfgan prepare-scenes`) with its object boxes.

```py
from hfgan import BlobGANPipeline
from hfgan.metrics.inversion import evaluate_inversion, scenes_with_boxes

pipe = BlobGANPipeline.from_pretrained("zoo/blobgan-emoji-scenes")  # a release with an encoder
images, boxes = scenes_with_boxes("data/scenes/scenes-64-test.parquet", image_size=64)
print(evaluate_inversion(pipe, images, boxes, num_fakes=1000, backbone="emoji-cnn"))
```

**Visible blob.** A blob is visible in a layout when its composite alpha (its opacity times the transparency of every
blob in front of it) exceeds 0.5 at some pixel of the image grid: it is the front-most thing somewhere. This is the
test [`render_layout`] uses to number a blob. Its centre is its (x, y).

**Alignment.** Given each real image's object boxes: the object hit rate is the share of objects whose box contains
the centre of at least one visible blob of E(x); the blob-in-object rate is the share of visible blobs whose centre
lies inside at least one object's box. A box `[x0, y0, x1, y1]` (fractions of the image, x1 and y1 exclusive, as
`hfgan prepare-scenes` writes them in pixels) contains (x, y) when x0 <= x < x1 and y0 <= y < y1.
"""

from __future__ import annotations

import logging
import math
import os
import time
from typing import Sequence

import torch

logger = logging.getLogger(__name__)

VISIBLE_ALPHA = 0.5  # a blob is visible where its composite alpha is above this: the front-most thing there


def psnr(images: torch.Tensor, references: torch.Tensor, max_value: float = 1.0) -> torch.Tensor:
    """Peak signal-to-noise ratio of each image against its reference, in dB: 10 log10(max_value^2 / MSE), the MSE
    over the image's pixels and channels. Both `(N, C, H, W)`; returns `(N,)` (inf for an exact copy)."""
    if images.shape != references.shape or images.dim() != 4:
        raise ValueError(f"images and references must have the same shape (N, C, H, W), got {tuple(images.shape)} "
                         f"and {tuple(references.shape)}")
    mse = (images.double() - references.double()).pow(2).flatten(1).mean(1)  # (N,)
    return 10 * torch.log10(max_value**2 / mse)


def latent_error(raw: torch.Tensor, predicted: torch.Tensor) -> float:
    """Mean squared error between raw layout vectors beta `(N, raw_dim)` and the encoder's predictions: the loss's
    latent term, over every coordinate and image."""
    if raw.shape != predicted.shape:
        raise ValueError(f"raw and predicted must have the same shape, got {tuple(raw.shape)} and "
                         f"{tuple(predicted.shape)}")
    return float((raw.double() - predicted.double()).pow(2).mean())


def blob_peak_alphas(layout, resolution: int) -> torch.Tensor:
    """(B, K): each blob's largest composite alpha over an S x S grid (S = `resolution`), occlusion by the blobs in
    front included."""
    from ..models.blobgan.splat import blob_alphas

    alphas = blob_alphas(*(t.float() for t in layout.splat_args()), resolution)  # (B, K + 1, S, S)
    return alphas[:, 1:].flatten(2).amax(dim=2)  # the background (index 0) left out


def visible_blobs(layout, resolution: int, threshold: float = VISIBLE_ALPHA) -> torch.Tensor:
    """(B, K) booleans: blobs whose composite alpha exceeds `threshold` at some pixel of an S x S grid."""
    return blob_peak_alphas(layout, resolution) > threshold


def blob_usage(layout, resolution: int, live_share: float = 0.1) -> dict[str, float]:
    """How many blobs a batch of layouts uses: `visible_blobs_per_sample` (mean and `_std` over the batch) and
    `live_blobs`, the number of blob indices visible in more than `live_share` of the samples.

    A model whose count follows the scene has a std above 0; one that settled on a fixed set of indices has
    `live_blobs` equal to the mean count and a std near 0 (docs/research/blobgan-dead-blobs).
    """
    with torch.no_grad():
        visible = visible_blobs(layout, resolution).float()  # (B, K)
    per_sample = visible.sum(1)
    return {"visible_blobs_per_sample": per_sample.mean().item(),
            "visible_blobs_std": per_sample.std(unbiased=False).item(),
            "live_blobs": (visible.mean(0) > live_share).sum().item()}


def _inside(x: float, y: float, box: Sequence[float]) -> bool:
    x0, y0, x1, y1 = box
    return x0 <= x < x1 and y0 <= y < y1


def blob_object_alignment(
    centers: torch.Tensor, visible: torch.Tensor, boxes: Sequence[Sequence[Sequence[float]]]
) -> dict[str, float]:
    """How the visible blobs line up with the objects.

    Args:
        centers: (N, K, 2) blob centres (x, y) as fractions of the image.
        visible: (N, K) booleans, e.g. [`visible_blobs`].
        boxes: per image, its objects' boxes `[x0, y0, x1, y1]` as fractions of the image (x1, y1 exclusive).

    Returns:
        `object_hit_rate` (objects whose box holds a visible blob's centre, over all objects; NaN without objects),
        `blob_in_object_rate` (visible blobs whose centre is in some box, over all visible blobs; NaN without visible
        blobs), `num_objects`, `num_visible_blobs`.
    """
    if centers.dim() != 3 or centers.shape[2] != 2 or visible.shape != centers.shape[:2]:
        raise ValueError(f"centers must have shape (N, K, 2) and visible (N, K), got {tuple(centers.shape)} and "
                         f"{tuple(visible.shape)}")
    if len(boxes) != len(centers):
        raise ValueError(f"boxes are given for {len(boxes)} images but there are {len(centers)} layouts")
    hit = objects = inside = shown = 0
    for image_centers, image_visible, image_boxes in zip(centers.tolist(), visible.tolist(), boxes):
        points = [c for c, v in zip(image_centers, image_visible) if v]  # the visible blobs' centres
        objects += len(image_boxes)
        shown += len(points)
        hit += sum(any(_inside(x, y, box) for x, y in points) for box in image_boxes)
        inside += sum(any(_inside(x, y, box) for box in image_boxes) for x, y in points)
    return {
        "object_hit_rate": hit / objects if objects else math.nan,
        "blob_in_object_rate": inside / shown if shown else math.nan,
        "num_objects": float(objects),
        "num_visible_blobs": float(shown),
    }


def scenes_with_boxes(
    source: str | os.PathLike | dict, split: str | None = None, image_size: int | None = None
) -> tuple[torch.Tensor, list[list[list[float]]] | None]:
    """The images of one split of a scenes dataset as uint8 `(N, 3, S, S)` (resized to `image_size`), and each
    image's object boxes as fractions of the image, or None when the data has no `boxes` column.

    Args:
        source: a parquet file (e.g. `data/scenes/scenes-64-test.parquet`, one split), a dict `{split: path}` or a
            dataset folder, as `hfgan.data.resolve_data_source` takes it.
        split: which split; by default `"train"` for a single parquet file (the name `resolve_data_source` gives its
            one split) and `"test"` otherwise.
    """
    from ..data import decode_image, load_image_dataset, resolve_data_source, source_kind
    from ..data.sources import PARQUET_FILE

    if split is None:
        split = "train" if source_kind(source)[0] == PARQUET_FILE else "test"
    dataset = load_image_dataset(source, split=split, image_size=image_size)
    images = dataset.uint8(torch.arange(len(dataset)))  # (N, 3, S, S)
    data = resolve_data_source(source, split)
    if "boxes" not in data.features:
        return images, None
    height, width = decode_image(data.image_cells(0, 1)[0], base_dir=data.base_dir).shape[:2]  # the stored size
    boxes = [[[x0 / width, y0 / height, x1 / width, y1 / height] for x0, y0, x1, y1 in image_boxes]
             for image_boxes in data.column("boxes").to_pylist()]
    return images, boxes


def _unit_images(images: torch.Tensor, size: int, taker: str) -> torch.Tensor:
    """uint8 or [0, 1] images (N, 3, size, size) -> floats in [0, 1]; another shape is a ValueError."""
    reference = images.float() / 255 if images.dtype == torch.uint8 else images.float()
    if tuple(reference.shape[1:]) != (3, size, size):
        raise ValueError(f"images must have shape (N, 3, {size}, {size}) ({taker}'s size), got "
                         f"{tuple(reference.shape)}")
    return reference


def seeded_latents(num: int, dim: int, truncation_psi: tuple[float, float], seed: int):
    """The generated images' draws of an evaluation: `num` latents N(0, I) of size `dim` and `num` truncation psis
    uniform in `truncation_psi`, all from `seed` (the same images whatever the method evaluated)."""
    rng = torch.Generator().manual_seed(seed)
    latents = torch.randn(num, dim, generator=rng)  # (num, dim)
    low, high = truncation_psi
    return latents, low + (high - low) * torch.rand(num, generator=rng)  # (num,)


def reconstruction_fd(backbone, images: torch.Tensor, reconstructions: torch.Tensor, device) -> dict[str, float]:
    """`{"reconstruction_fd_<backbone>": FD}` between images (uint8 or [0, 1]) and their reconstructions ([0, 1]),
    or `{}` with a warning when there are fewer images than feature dimensions."""
    from .backbones import extract_features, load_backbone
    from .distances import frechet_distance

    backbone = load_backbone(backbone, device=device) if isinstance(backbone, str) else backbone
    if len(images) < backbone.feature_dim:
        logger.warning("reconstruction FD left out: %d images are fewer than the %d dimensions of %s features",
                       len(images), backbone.feature_dim, backbone.name)
        return {}
    fd = frechet_distance(extract_features(backbone, images), extract_features(backbone, reconstructions))
    return {f"reconstruction_fd_{backbone.slug}": fd}


@torch.no_grad()
def evaluate_inversion(
    pipe,
    images: torch.Tensor,
    boxes: Sequence[Sequence[Sequence[float]]] | None = None,
    *,
    num_fakes: int = 0,
    truncation_psi: tuple[float, float] = (1.0, 1.0),
    seed: int = 0,
    backbone=None,
    num_refine_steps: int = 0,
    refine_lr: float | None = None,
    refine_space: str = "raw",
    batch_size: int = 64,
) -> dict[str, float]:
    """Every inversion number of a [`BlobGANPipeline`] with an encoder.

    Args:
        pipe: the pipeline (`layout_net`, `generator`, `encoder`).
        images: real test images `(N, 3, S, S)`, uint8 or float in [0, 1], at the encoder's size.
        boxes: their object boxes as fractions (see [`scenes_with_boxes`]), for the alignment numbers.
        num_fakes: generated images for the latent error: z and a truncation psi uniform in `truncation_psi` drawn
            from `seed`, beta_fake the layout network's (truncated) raw output, x_fake = G(beta_fake).
        backbone: a feature backbone (`hfgan.metrics.load_backbone(...)`) or its name, for the Fréchet distance
            between the real images and their reconstructions; left out when None or with fewer images than
            feature dimensions.
        num_refine_steps, refine_lr, refine_space: the real images' layouts are the encoder's refined by this many
            steps of [`BlobGANPipeline.invert`]'s optimisation (0: the encoder's alone); the fakes' numbers are always
            the encoder's alone.

    Returns:
        `reconstruction_psnr` (dB, the mean over images of each image's PSNR, both in [0, 1] with the reconstruction
        clamped as the pipeline clamps it), `reconstruction_fd_<backbone>`, `latent_error` and
        `fake_reconstruction_psnr` (with `num_fakes`), `object_hit_rate`, `blob_in_object_rate` and
        `visible_blobs_per_image` (with `boxes`; `visible_blobs_per_image` always).
    """
    encoder, generator, layout_net = pipe.encoder, pipe.generator, pipe.layout_net
    if encoder is None:
        raise ValueError("evaluate_inversion needs a pipeline with an encoder (BlobGANPipeline(..., encoder=...))")
    if boxes is not None and len(boxes) != len(images):
        raise ValueError(f"boxes are given for {len(boxes)} images but there are {len(images)} images")
    device, dtype = pipe._execution_device, generator.dtype
    reference = _unit_images(images, encoder.config.image_size, "the encoder")  # (N, 3, S, S) in [0, 1]

    def render(raw_or_layout):
        layout = raw_or_layout if not isinstance(raw_or_layout, torch.Tensor) else layout_net.decode(raw_or_layout)
        return generator(layout, noise_mode="const").sample.float().clamp(-1, 1).add(1).div(2).cpu()  # [0, 1]

    results: dict[str, float] = {}
    with pipe.eval_mode():
        # real images: reconstruct, and keep the blob centres and which blobs are visible
        reconstructions, centers, visible = [], [], []
        for chunk in reference.split(batch_size):
            inverted = pipe.invert(chunk, num_refine_steps=num_refine_steps, refine_lr=refine_lr,
                                   refine_space=refine_space, output_type="pt", max_batch_size=batch_size)
            layout = inverted.layouts
            reconstructions.append(inverted.reconstructions.float().cpu())
            centers.append(torch.stack([layout.xs, layout.ys], dim=-1).float().cpu())
            visible.append(visible_blobs(layout, generator.config.image_size).cpu())
        reconstructions, centers, visible = torch.cat(reconstructions), torch.cat(centers), torch.cat(visible)
        results["reconstruction_psnr"] = psnr(reconstructions, reference).mean().item()
        results["visible_blobs_per_image"] = visible.sum(1).float().mean().item()
        if boxes is not None:
            alignment = blob_object_alignment(centers, visible, boxes)
            results.update({k: alignment[k] for k in ("object_hit_rate", "blob_in_object_rate")})
        if backbone is not None:
            results.update(reconstruction_fd(backbone, images, reconstructions, device))

        # generated images: how close E(G(beta)) comes to beta, and to the image
        if num_fakes:
            latents, psis = seeded_latents(num_fakes, layout_net.config.latent_dim, truncation_psi, seed)
            low, high = truncation_psi
            errors, psnrs = [], []
            for z, psi in zip(latents.split(batch_size), psis.split(batch_size)):
                raw = layout_net.raw(z.to(device, dtype))
                if (low, high) != (1.0, 1.0):
                    raw = layout_net.truncate(raw, psi.to(device))
                fake = render(raw)
                predicted = encoder(fake.to(device, dtype) * 2 - 1).raw
                errors.append((predicted.double() - raw.double()).pow(2).mean(1).cpu())  # (b,) per image
                psnrs.append(psnr(render(predicted), fake))
            results["latent_error"] = torch.cat(errors).mean().item()
            results["fake_reconstruction_psnr"] = torch.cat(psnrs).mean().item()
    return results


@torch.no_grad()
def evaluate_stylegan_inversion(
    pipe,
    images: torch.Tensor,
    *,
    method: str = "encoder",
    num_fakes: int = 0,
    truncation_psi: tuple[float, float] = (1.0, 1.0),
    seed: int = 0,
    backbone=None,
    perceptual=None,
    batch_size: int = 64,
    invert_kwargs: dict | None = None,
) -> dict[str, float]:
    """Inversion numbers of a [`StyleGANPipeline`]: `pipe.invert(images, method=method, **invert_kwargs)` on real
    images, and with `num_fakes` the same inversion of generated images whose ws are known.

    Args:
        images: real test images `(N, 3, S, S)`, uint8 or float in [0, 1], at the generator's size.
        method: `StyleGANPipeline.invert`'s method ("encoder" needs `pipe.encoder`).
        num_fakes: generated images: z drawn from `seed`, w truncated by a psi uniform in `truncation_psi`.
        backbone: features for the Fréchet distance between the real images and their reconstructions (left out
            with fewer images than feature dimensions).
        perceptual: a `hfgan.perceptual.PerceptualDistance` for `reconstruction_<name>` (the mean distance).
        invert_kwargs: more arguments of `invert` (e.g. `space`, `num_steps`, and `perceptual` for the
            optimisation, which may differ from the measuring one).

    Returns:
        `reconstruction_psnr` (dB, mean over images, both in [0, 1]), `seconds_per_image` (the inversion's wall
        time), `reconstruction_<perceptual name>`, `reconstruction_fd_<backbone>`, and with `num_fakes`:
        `latent_error` (mean squared error of the ws) and `fake_reconstruction_psnr`.
    """
    generator = pipe.generator
    device, dtype = pipe._execution_device, generator.dtype
    reference = _unit_images(images, generator.config.img_resolution, "the generator")  # (N, 3, S, S) in [0, 1]

    def invert(targets: torch.Tensor):
        return pipe.invert(targets, method=method, output_type="pt", max_batch_size=batch_size,
                           **(invert_kwargs or {}))

    results: dict[str, float] = {}
    with pipe.eval_mode():
        start = time.perf_counter()
        inverted = [invert(chunk) for chunk in reference.split(batch_size)]
        results["seconds_per_image"] = (time.perf_counter() - start) / len(reference)
        reconstructions = torch.cat([out.reconstructions.float().cpu() for out in inverted])  # (N, 3, S, S)
        results["reconstruction_psnr"] = psnr(reconstructions, reference).mean().item()
        if perceptual is not None:
            distances = perceptual(reconstructions.to(device) * 2 - 1, reference.to(device) * 2 - 1)  # (N,)
            results[f"reconstruction_{perceptual.key}"] = distances.mean().item()
        if backbone is not None:
            results.update(reconstruction_fd(backbone, images, reconstructions, device))

        if num_fakes:  # generated images: how close the inverted ws come to the true ones, and to the image
            z, psis = seeded_latents(num_fakes, generator.config.z_dim, truncation_psi, seed)
            errors, psnrs = [], []
            for z_chunk, psi in zip(z.split(batch_size), psis.split(batch_size)):
                ws = generator.map(z_chunk.to(device, dtype), truncation_psi=psi)  # (b, num_ws, w_dim)
                fake = generator.synthesize(ws, noise_mode="const").float().clamp(-1, 1).add(1).div(2).cpu()
                out = invert(fake)
                errors.append((out.ws.double() - ws.double().cpu()).pow(2).flatten(1).mean(1))  # (b,)
                psnrs.append(psnr(out.reconstructions.float().cpu(), fake))
            results["latent_error"] = torch.cat(errors).mean().item()
            results["fake_reconstruction_psnr"] = torch.cat(psnrs).mean().item()
    return results
