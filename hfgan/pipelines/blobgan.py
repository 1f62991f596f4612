"""Sampling scenes from BlobGAN, rendering (edited) blob layouts, and inverting real images into layouts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import PIL.Image
import torch
from diffusers.utils import BaseOutput
from diffusers.utils.torch_utils import randn_tensor

from ..models.blobgan.encoder import BlobGANEncoder
from ..models.blobgan.generator import BlobGANGenerator
from ..models.blobgan.layout import BlobLayout
from ..models.blobgan.layout_net import BlobLayoutNet
from .image_processor import encoder_inputs, image_inputs
from .pipeline_utils import HfGanPipeline, reconstruction_distance

# BlobGANPipeline.invert's refinement: Adam's default learning rate in each space it can refine in
# (docs/research/blobgan-dead-blobs, sections 20-21)
REFINE_LR = {"raw": 0.05, "hidden": 0.1}


@dataclass
class BlobGANPipelineOutput(BaseOutput):
    """
    Output of [`BlobGANPipeline`].

    Args:
        images (`list[PIL.Image.Image]`, `np.ndarray` or `torch.Tensor`): The generated images (see `output_type`).
        layouts ([`BlobLayout`]): The layouts they were rendered from, one per image, on the CPU: edit them
            (`move`, `resize`, `remove`, `restyle`, `duplicate`) and pass them back as `layout=` to render the edit,
            or draw them with [`render_layout`].
    """

    images: list[PIL.Image.Image] | np.ndarray | torch.Tensor
    layouts: BlobLayout


@dataclass
class BlobGANInversionOutput(BaseOutput):
    """
    Output of [`BlobGANPipeline.invert`].

    Args:
        layouts ([`BlobLayout`]): The encoder's layout of each image, on the CPU: edit them and render them with
            `pipe(layout=...)`.
        reconstructions (`list[PIL.Image.Image]`, `np.ndarray` or `torch.Tensor`): The layouts rendered by the
            generator (see `output_type`): how closely the layouts capture the images.
    """

    layouts: BlobLayout
    reconstructions: list[PIL.Image.Image] | np.ndarray | torch.Tensor


class BlobGANPipeline(HfGanPipeline):
    r"""
    Pipeline for BlobGAN (Epstein et al., 2022): noise -> a layout of blobs ([`BlobLayoutNet`]) -> an image
    ([`BlobGANGenerator`]). Each blob is a handle on part of the scene: edit a returned layout and render it again.

    The generator's noise is the fixed noise stored with its weights, so a layout always renders the same image and an
    edit changes only what the edited blobs cover.

    With an `encoder`, `invert` maps real images to layouts (and renders them back): encode a photo, edit its blobs,
    render the edit.

    Parameters:
        layout_net ([`BlobLayoutNet`]): maps latents `(batch_size, latent_dim)` to blob layouts.
        generator ([`BlobGANGenerator`]): renders a layout as an image.
        encoder ([`BlobGANEncoder`], *optional*): maps images to layouts, for `invert` (trained by
            `training/train_inversion.py`).
    """

    model_cpu_offload_seq = "encoder->layout_net->generator"
    _optional_components = ["encoder"]
    _hub_tags = ["blobgan"]
    _card_task = "unconditional-image-generation"

    def __init__(self, layout_net: BlobLayoutNet, generator: BlobGANGenerator, encoder: BlobGANEncoder | None = None):
        super().__init__()
        for kind in ("structure", "style"):
            got, expected = layout_net.config[f"{kind}_dim"], generator.config[f"{kind}_dim"]
            if got != expected:
                raise ValueError(f"layout_net makes {kind} features of size {got}, but the generator takes "
                                 f"{kind}_dim={expected}")
        if encoder is not None:
            if not isinstance(encoder, BlobGANEncoder):
                raise ValueError(f"encoder must be a BlobGANEncoder or None, got {type(encoder).__name__}")
            encoder.check_compatible(layout_net)
            encoder.check_compatible(generator)
        self.register_modules(layout_net=layout_net, generator=generator, encoder=encoder)

    @torch.no_grad()
    def __call__(
        self,
        num_images: int | None = None,
        generator: torch.Generator | list[torch.Generator] | None = None,
        latents: torch.Tensor | None = None,
        truncation_psi: float = 1.0,
        layout: BlobLayout | None = None,
        output_type: str = "pil",
        return_dict: bool = True,
        max_batch_size: int = 64,
        batch_size: int | None = None,
    ) -> BlobGANPipelineOutput | tuple:
        r"""
        Generate scenes, or render given layouts.

        Args:
            num_images (`int`, *optional*, defaults to 1, or the number of `latents` or of layouts in `layout`):
                How many images to generate.
            generator (`torch.Generator` or `list[torch.Generator]`, *optional*):
                Random generator(s) that make sampling deterministic, whatever `max_batch_size` is.
            latents (`torch.Tensor` of shape `(num_images, latent_dim)`, *optional*):
                Latents for the layout network instead of draws from N(0, I).
            truncation_psi (`float`, defaults to 1.0):
                Below 1, layouts are pulled toward the mean layout: more typical, less varied scenes.
            layout ([`BlobLayout`], *optional*):
                Render this layout (for example an edited `output.layouts`) instead of sampling one.
            output_type (`str`, defaults to `"pil"`):
                `"pil"`, `"np"` (array `(N, H, W, C)` in [0, 1]) or `"pt"` (tensor `(N, C, H, W)` in [0, 1]).
            return_dict (`bool`, defaults to `True`):
                Return a [`BlobGANPipelineOutput`] instead of a tuple `(images, layouts)`.
            max_batch_size (`int`, defaults to 64):
                Largest chunk sent through the generator at once.
            batch_size (`int`, *optional*):
                Alias of `num_images`.

        Example:

        ```py
        >>> import torch
        >>> from hfgan import BlobGANGenerator, BlobGANPipeline, BlobLayoutNet, render_layout

        >>> layout_net = BlobLayoutNet(latent_dim=8, num_blobs=3, structure_dim=4, style_dim=4, hidden_dim=16)
        >>> generator = BlobGANGenerator(image_size=16, input_size=4, structure_dim=4, style_dim=4, channel_base=64,
        ...                              channel_max=8)
        >>> pipe = BlobGANPipeline(layout_net=layout_net, generator=generator)
        >>> # pipe = BlobGANPipeline.from_pretrained("user/blobgan-emoji-scenes")  # a trained one
        >>> output = pipe(num_images=4, generator=torch.Generator().manual_seed(0))
        >>> moved = output.layouts[0].move(1, dx=0.25)  # blob 1 of the first scene, a quarter width to the right
        >>> edited = pipe(layout=moved).images[0]
        >>> render_layout(moved)[0].size, edited.size
        ((256, 256), (16, 16))
        ```

        Returns:
            [`BlobGANPipelineOutput`] or `tuple`: the images and their layouts.
        """
        # 0. Check the request
        self.check_output_type(output_type)
        self.check_max_batch_size(max_batch_size)
        device, dtype = self._execution_device, self.generator.dtype
        if layout is not None:
            if latents is not None:
                raise ValueError("give either latents (to sample layouts) or layout (to render it), not both")
            if not isinstance(layout, BlobLayout):
                raise ValueError(f"layout must be a BlobLayout (e.g. pipe(...).layouts), got {type(layout).__name__}")
            self.generator.check_layout(layout)
            num_images = self.resolve_num_images(num_images, batch_size, layout.xs, "layouts")
        else:
            num_images = self.resolve_num_images(num_images, batch_size, latents, "latents")

        with self.eval_mode():
            # 1. The layouts: given, or sampled from all latents at once (chunking never changes which latent a
            #    scene gets)
            if layout is None:
                latent_dim = self.layout_net.config.latent_dim
                if latents is None:
                    latents = randn_tensor((num_images, latent_dim), generator=generator, device=device, dtype=dtype)
                latents = latents.to(device=device, dtype=dtype)
                layout = self.layout_net(latents, truncation_psi=truncation_psi)

            # 2. Render in chunks with the fixed noise, each chunk post-processed to [0, 1]
            layout = layout.to(device=device, dtype=dtype)
            render = lambda start, stop: self.generator(layout[start:stop], noise_mode="const").sample  # noqa: E731
            images = self.images_in_chunks(num_images, render, output_type, max_batch_size)

        layouts = layout.to("cpu")
        self.maybe_free_model_hooks()
        if not return_dict:
            return (images, layouts)
        return BlobGANPipelineOutput(images=images, layouts=layouts)

    @torch.no_grad()
    def invert(
        self,
        images,
        num_refine_steps: int = 0,
        refine_lr: float | None = None,
        perceptual=None,
        refine_space: str = "raw",
        output_type: str = "pil",
        return_dict: bool = True,
        max_batch_size: int = 64,
    ) -> BlobGANInversionOutput | tuple:
        r"""
        Encode images into blob layouts with the encoder, and render the layouts back with the generator.

        Args:
            images (`PIL.Image.Image`, `np.ndarray`, `torch.Tensor`, or a list of them):
                One image or several: PIL images, arrays `(H, W, C)` / batches `(N, H, W, C)`, tensors `(C, H, W)` /
                batches `(N, C, H, W)`, uint8 in 0-255 or floats in [0, 1]; grayscale is repeated to RGB and an
                alpha channel dropped. Images of another size than the encoder's are center-cropped to a square and
                resized (bilinear, antialiased) to it, with a warning.
            num_refine_steps (`int`, defaults to 0):
                After encoding, this many Adam steps on each image's layout (in `refine_space`) toward a rendering
                that matches the image (L2, plus `perceptual` if given), with the generator frozen: closer
                reconstructions for more time (one generator forward and backward a step), less editable layouts.
                0: the encoder's layouts as they are.
            refine_lr (`float`, *optional*):
                Adam's learning rate for the refinement; by default 0.05 in the raw space, 0.1 in the hidden one.
            perceptual (`hfgan.perceptual.PerceptualDistance`, *optional*):
                A perceptual distance added to the refinement's L2 (for example
                `hfgan.perceptual.perceptual_distance("lpips-vgg")`).
            refine_space (`str`, defaults to `"raw"`):
                What the refinement moves: `"raw"`, the raw layout vector (any layout: closest for the steps, but
                blobs drift from the objects they stood for); `"hidden"`, the layout network's last hidden vector
                (`hidden_dim` numbers, from the encoder's answer projected onto it), so the layout stays one the
                layout network's output layers can give: more steps for the same PSNR, more of its edits move
                objects (docs/blobgan.md#refinement-and-editability). `"hidden"` needs the default blob head.
            output_type (`str`, defaults to `"pil"`):
                The reconstructions as `"pil"`, `"np"` (array `(N, H, W, C)` in [0, 1]) or `"pt"` (tensor
                `(N, C, H, W)` in [0, 1]).
            return_dict (`bool`, defaults to `True`):
                Return a [`BlobGANInversionOutput`] instead of a tuple `(layouts, reconstructions)`.
            max_batch_size (`int`, defaults to 64):
                Largest chunk sent through the encoder and the generator at once.

        Example:

        ```py
        >>> import torch
        >>> from hfgan import BlobGANEncoder, BlobGANGenerator, BlobGANPipeline, BlobLayoutNet

        >>> layout_net = BlobLayoutNet(latent_dim=8, num_blobs=3, structure_dim=4, style_dim=4, hidden_dim=16)
        >>> generator = BlobGANGenerator(image_size=16, input_size=4, structure_dim=4, style_dim=4, channel_base=64,
        ...                              channel_max=8)
        >>> encoder = BlobGANEncoder(image_size=16, num_blobs=3, structure_dim=4, style_dim=4, channel_base=64,
        ...                          channel_max=8)
        >>> pipe = BlobGANPipeline(layout_net=layout_net, generator=generator, encoder=encoder)
        >>> # pipe = BlobGANPipeline.from_pretrained("user/blobgan-emoji-scenes")  # a release with an encoder
        >>> photo = pipe(num_images=1, generator=torch.Generator().manual_seed(0)).images[0]  # any 16-px image
        >>> inverted = pipe.invert(photo)
        >>> edited = pipe(layout=inverted.layouts[0].move(1, dx=0.25)).images[0]  # edit the blobs, render
        >>> inverted.reconstructions[0].size, edited.size
        ((16, 16), (16, 16))
        ```

        Returns:
            [`BlobGANInversionOutput`] or `tuple`: the layouts and their renderings.
        """
        # 0. Check the request
        if self.encoder is None:
            raise ValueError(
                "this BlobGANPipeline has no encoder, so it cannot invert images: load a release that has one "
                "(an encoder/ folder, trained by training/train_inversion.py), or pass "
                "BlobGANPipeline(..., encoder=BlobGANEncoder.from_pretrained(...))"
            )
        self.check_output_type(output_type)
        self.check_max_batch_size(max_batch_size)
        if isinstance(num_refine_steps, bool) or not isinstance(num_refine_steps, int) or num_refine_steps < 0:
            raise ValueError(f"num_refine_steps must be an integer >= 0, got {num_refine_steps!r}")
        if refine_space not in REFINE_LR:
            raise ValueError(f"refine_space must be one of {', '.join(map(repr, REFINE_LR))}, got {refine_space!r}")
        refine_lr = REFINE_LR[refine_space] if refine_lr is None else refine_lr
        if not refine_lr > 0:
            raise ValueError(f"refine_lr must be > 0, got {refine_lr!r}")
        if num_refine_steps and refine_space == "hidden" and self.layout_net.config.shared_blob_head:
            raise ValueError("refine_space='hidden' needs the layout network's default blob head; this release's "
                             "layout_net has shared_blob_head=True: refine in refine_space='raw'")
        pixels, _ = image_inputs(images)
        size = self.encoder.config.image_size
        batch = encoder_inputs(pixels, size)  # (N, 3, S, S) in [-1, 1]
        device, dtype = self._execution_device, self.encoder.dtype

        # 1. Encode (and refine) and render in chunks, with the generator's fixed noise (what pipe(layout=...)
        #    renders too)
        layouts: list[BlobLayout] = []

        def render(start: int, stop: int) -> torch.Tensor:
            target = batch[start:stop].to(device=device, dtype=dtype)
            encoded = self.encoder(target)
            layout = encoded.layout
            if num_refine_steps:
                layout = self.layout_net.decode(refine_in_space(
                    self.generator, self.layout_net, encoded.raw, target, num_refine_steps, refine_lr, refine_space,
                    perceptual))
            layouts.append(layout.to("cpu"))
            return self.generator(layout.to(dtype=self.generator.dtype), noise_mode="const").sample

        with self.eval_mode():
            reconstructions = self.images_in_chunks(len(batch), render, output_type, max_batch_size)

        layout = BlobLayout.cat(layouts)
        self.maybe_free_model_hooks()
        if not return_dict:
            return (layout, reconstructions)
        return BlobGANInversionOutput(layouts=layout, reconstructions=reconstructions)


def refine_in_space(generator, layout_net, raw: torch.Tensor, target: torch.Tensor, num_steps: int, lr: float,
                    space: str = "raw", perceptual=None) -> torch.Tensor:
    """Raw layouts `(n, raw_dim)` refined from `raw` towards `target` (`refine_raw`'s loss): on the raw vector itself
    (`space="raw"`), or (`"hidden"`) on the layout network's last hidden vector nearest it, through its output layers,
    so the answer stays a layout of the network's own kind. `layout_net` decodes either (an encoder's raw vectors
    mean the same to it when `check_compatible` passes)."""
    if space == "raw":
        return refine_raw(generator, layout_net.decode, raw, target, num_steps, lr, perceptual)
    if space != "hidden":
        raise ValueError(f"space must be one of {', '.join(map(repr, REFINE_LR))}, got {space!r}")
    decode = lambda h: layout_net.decode(layout_net.hidden_to_raw(h))  # noqa: E731
    with torch.no_grad():
        hidden = layout_net.project_to_hidden(raw.to(layout_net.dtype))  # (n, hidden_dim)
    hidden = refine_raw(generator, decode, hidden, target, num_steps, lr, perceptual)
    with torch.no_grad():  # the answer, not a graph through the layout network's weights
        return layout_net.hidden_to_raw(hidden)


def refine_raw(generator, decode, raw: torch.Tensor, target: torch.Tensor, num_steps: int, lr: float,
               perceptual=None) -> torch.Tensor:
    """`num_steps` Adam steps on layout vectors `(n, d)` (raw layouts, or anything `decode` turns into a layout) so
    that `generator(decode(raw))` (fixed noise) matches `target` `(n, 3, S, S)` in [-1, 1]
    (`reconstruction_distance`: per image, squared error + perceptual).
    Each image's loss reaches only its own vector (the losses are summed, Adam is per coordinate), so the result does
    not depend on how images are chunked; the generator's weights get no gradients."""
    raw = raw.detach().clone().requires_grad_(True)
    optimizer = torch.optim.Adam([raw], lr=lr)
    with torch.enable_grad():
        for _ in range(num_steps):
            image = generator(decode(raw), noise_mode="const").sample  # (n, 3, S, S)
            loss = reconstruction_distance(image, target, perceptual)  # (n,)
            (raw.grad,) = torch.autograd.grad(loss.sum(), [raw])
            optimizer.step()
    return raw.detach()
