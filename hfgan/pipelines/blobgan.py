"""Sampling scenes from BlobGAN, and rendering (edited) blob layouts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import PIL.Image
import torch
from diffusers.utils import BaseOutput
from diffusers.utils.torch_utils import randn_tensor

from ..models.blobgan.generator import BlobGANGenerator
from ..models.blobgan.layout import BlobLayout
from ..models.blobgan.layout_net import BlobLayoutNet
from .pipeline_utils import HfGanPipeline


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


class BlobGANPipeline(HfGanPipeline):
    r"""
    Pipeline for BlobGAN (Epstein et al., 2022): noise -> a layout of blobs ([`BlobLayoutNet`]) -> an image
    ([`BlobGANGenerator`]). Each blob is a handle on part of the scene: edit a returned layout and render it again.

    The generator's noise is the fixed noise stored with its weights, so a layout always renders the same image and an
    edit changes only what the edited blobs cover.

    Parameters:
        layout_net ([`BlobLayoutNet`]): maps latents `(batch_size, latent_dim)` to blob layouts.
        generator ([`BlobGANGenerator`]): renders a layout as an image.
    """

    model_cpu_offload_seq = "layout_net->generator"
    _hub_tags = ["blobgan"]
    _card_task = "unconditional-image-generation"
    _card_usage = """\
# pip install hfgan
import torch
from hfgan import BlobGANPipeline, render_layout

pipe = BlobGANPipeline.from_pretrained("{{ repo_id }}")
output = pipe(num_images=4, generator=torch.Generator().manual_seed(0))
output.images[0].save("scene.png")
render_layout(output.layouts[0])[0].save("blobs.png")  # the blobs, numbered
layout = output.layouts[0].move(2, dx=0.2).remove(5)  # blob 2 a fifth of the width right, blob 5 gone
pipe(layout=layout).images[0].save("edited.png")  # one generator forward, same noise: only the edit changes"""

    def __init__(self, layout_net: BlobLayoutNet, generator: BlobGANGenerator):
        super().__init__()
        for kind in ("structure", "style"):
            got, expected = layout_net.config[f"{kind}_dim"], generator.config[f"{kind}_dim"]
            if got != expected:
                raise ValueError(f"layout_net makes {kind} features of size {got}, but the generator takes "
                                 f"{kind}_dim={expected}")  # fmt: skip
        self.register_modules(layout_net=layout_net, generator=generator)

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
