"""Images in and out of hfgan pipelines, as diffusers' `image_processor.py` has them for diffusers' pipelines.

In: `image_inputs` checks the images a user gives (PIL, numpy, torch; one, a list or a batch) and returns them as
`(C, H, W)` tensors, and `encoder_inputs` makes a network's input batch of them (RGB, square, resized, in [-1, 1]).
Out: `denormalize` maps network outputs from [-1, 1] to [0, 1], and `OutputImages` gathers them chunk by chunk into the
requested `output_type`: PIL images (`to_pil_images`), a numpy array `(N, H, W, C)` or a tensor `(N, C, H, W)`.
"""

from __future__ import annotations

import warnings

import numpy as np
import PIL.Image
import PIL.ImageOps
import torch
import torch.nn.functional as F

OUTPUT_TYPES = ("pil", "np", "pt")


def check_output_type(output_type: str) -> None:
    """Raise `ValueError` unless `output_type` is one of `OUTPUT_TYPES`."""
    if output_type not in OUTPUT_TYPES:
        raise ValueError(f"output_type must be one of {', '.join(map(repr, OUTPUT_TYPES))}; got {output_type!r}")


# ----------------------------------------------------------------------------------------------------------- output


def denormalize(images: torch.Tensor) -> torch.Tensor:
    """Network outputs `(N, C, H, W)` in [-1, 1] as float32 CPU images in [0, 1]: in place when they already are
    float32 on the CPU (no copy of a chunk the pipeline no longer needs)."""
    return images.float().cpu().mul_(0.5).add_(0.5).clamp_(0, 1)


class OutputImages:
    """Chunks of `num_images` images in [0, 1] gathered into one output of `output_type`, each chunk straight into
    it: PIL images, or one buffer in the output's layout (`"np"`: `(N, H, W, C)`, `"pt"`: `(N, C, H, W)`), so memory
    holds the output plus one chunk whatever `num_images` is. A single chunk is the output as it is, without a copy.
    """

    def __init__(self, num_images: int, output_type: str):
        check_output_type(output_type)
        self.num_images, self.output_type = num_images, output_type
        self.images: list[PIL.Image.Image] | torch.Tensor | None = [] if output_type == "pil" else None

    def add(self, start: int, stop: int, images: torch.Tensor) -> None:
        """Images `start` to `stop` of the output: `(stop - start, C, H, W)` float CPU tensors in [0, 1]."""
        channels_last = self.output_type == "np"
        if self.output_type == "pil":
            self.images.extend(to_pil_images(images))
        elif stop - start == self.num_images:  # the only chunk: no buffer to copy into
            self.images = images.permute(0, 2, 3, 1).contiguous() if channels_last else images
        else:
            if self.images is None:
                c, h, w = images.shape[1:]
                self.images = torch.empty((self.num_images, h, w, c) if channels_last else (self.num_images, c, h, w))
            self.images[start:stop] = images.permute(0, 2, 3, 1) if channels_last else images

    def result(self) -> list[PIL.Image.Image] | np.ndarray | torch.Tensor:
        return self.images.numpy() if self.output_type == "np" else self.images


def to_pil_images(images: torch.Tensor) -> list[PIL.Image.Image]:
    """Images `(N, C, H, W)` in [0, 1] as PIL images: one conversion to uint8 in torch, no copy per image."""
    pixels = (images * 255).round_().to(torch.uint8).permute(0, 2, 3, 1).contiguous().numpy()  # (N, H, W, C)
    if pixels.shape[-1] == 1:
        return [PIL.Image.fromarray(p[..., 0]) for p in pixels]
    return [PIL.Image.fromarray(p) for p in pixels]


# ------------------------------------------------------------------------------------------------------------ input


def image_inputs(images) -> tuple[list[torch.Tensor], bool]:
    """Images given to a pipeline as `(C, H, W)` CPU tensors, and whether a single image (not a batch) was given.

    `images` is one image or a list of them, or a batch: a numpy array `(N, H, W, C)` or a tensor `(N, C, H, W)`. An
    image is a PIL image (EXIF orientation applied and converted to RGB, as transformers' `load_image` does), a numpy
    array `(H, W)` or `(H, W, C)`, or a tensor `(C, H, W)`, with C = 1, 3 or 4 channels and pixel values either uint8
    in 0-255 (kept as uint8) or floats in [0, 1] (as float32). Anything else is a `ValueError` naming the problem.
    """
    is_batch = isinstance(images, (list, tuple)) or (
        isinstance(images, (np.ndarray, torch.Tensor)) and images.ndim == 4
    )
    if not is_batch:
        return [_image_tensor(images, "images")], True
    if len(images) == 0:
        raise ValueError("images is empty: give at least one image")
    return [_image_tensor(image, f"images[{i}]") for i, image in enumerate(images)], False


_CHANNELS = (1, 3, 4)  # grayscale, RGB, RGBA


def _image_tensor(image, name: str) -> torch.Tensor:
    """One image of `image_inputs` as a `(C, H, W)` CPU tensor, uint8 or float32 in [0, 1]."""
    if isinstance(image, PIL.Image.Image):
        image = np.asarray(PIL.ImageOps.exif_transpose(image).convert("RGB"))
    if isinstance(image, np.ndarray):
        if image.ndim == 2:
            image = image[:, :, None]
        if image.ndim != 3 or image.shape[-1] not in _CHANNELS:
            raise ValueError(
                f"{name}: a numpy image must have shape (H, W) or (H, W, C) with C in {_CHANNELS} (a batch: "
                f"(N, H, W, C)), got {image.shape}"
            )
        if not (image.dtype == np.uint8 or np.issubdtype(image.dtype, np.floating)):
            raise ValueError(f"{name}: pixel values must be uint8 (0-255) or floats in [0, 1], got {image.dtype}")
        tensor = torch.from_numpy(np.array(image)).permute(2, 0, 1)  # a copy: the caller's array may be read-only
    elif isinstance(image, torch.Tensor):
        if image.dim() != 3 or image.shape[0] not in _CHANNELS:
            raise ValueError(
                f"{name}: a tensor image must have shape (C, H, W) with C in {_CHANNELS} (a batch: (N, C, H, W)), "
                f"got {tuple(image.shape)}"
            )
        tensor = image.detach().cpu()
    else:
        raise ValueError(f"{name}: expected a PIL image, a numpy array or a torch tensor, got {type(image).__name__}")
    if tensor.shape[1] == 0 or tensor.shape[2] == 0:
        raise ValueError(f"{name} has no pixels: shape {tuple(tensor.shape)}")
    if tensor.dtype == torch.uint8:
        return tensor
    if not tensor.is_floating_point():
        raise ValueError(f"{name}: pixel values must be uint8 (0-255) or floats in [0, 1], got {tensor.dtype}")
    tensor = tensor.float()
    if not torch.isfinite(tensor).all():
        raise ValueError(f"{name} has non-finite pixel values (NaN or inf)")
    low, high = tensor.aminmax()
    if low < 0 or high > 1:
        raise ValueError(
            f"{name}: float pixel values must lie in [0, 1], got values in [{low.item():.4g}, {high.item():.4g}] "
            "(uint8 images are in 0-255)"
        )
    return tensor


def encoder_inputs(pixels: list[torch.Tensor], size: int, taker: str = "the encoder") -> torch.Tensor:
    """Images of `image_inputs` (`(C, H, W)`, uint8 or floats in [0, 1]) as one batch `(N, 3, size, size)` in [-1, 1]:
    grayscale repeated to RGB, alpha dropped (as PIL's `convert("RGB")` does), and images of another size
    center-cropped to a square and resized (bilinear, antialiased), with one warning naming the sizes."""
    resized = sorted({(p.shape[1], p.shape[2]) for p in pixels if tuple(p.shape[1:]) != (size, size)})
    if resized:
        listed = ", ".join(f"{h}x{w}" for h, w in resized[:5]) + (", ..." if len(resized) > 5 else "")
        warnings.warn(
            f"{taker} takes {size}x{size} images; images of size {listed} (height x width) were center-cropped "
            f"to a square and resized to {size}x{size}",
            stacklevel=3,
        )
    out = []
    for p in pixels:
        x = p.float() / 255 if p.dtype == torch.uint8 else p.float()  # (C, H, W) in [0, 1]
        x = x[:3] if x.shape[0] == 4 else x.expand(3, -1, -1) if x.shape[0] == 1 else x
        h, w = x.shape[1:]
        if (h, w) != (size, size):
            side = min(h, w)
            top, left = (h - side) // 2, (w - side) // 2
            x = x[:, top : top + side, left : left + side]
            x = F.interpolate(x[None], size=(size, size), mode="bilinear", align_corners=False, antialias=True)[0]
        out.append(x.clamp(0, 1))
    return torch.stack(out) * 2 - 1
