"""Unconditional sampling from a DCGAN generator."""

from __future__ import annotations

import torch
from diffusers import ImagePipelineOutput
from diffusers.utils.torch_utils import randn_tensor

from ..models import DCGANGenerator
from .pipeline_utils import HfGanPipeline


class DCGANPipeline(HfGanPipeline):
    r"""
    Pipeline for unconditional image generation with a [`DCGANGenerator`]: one forward pass per image.

    This class inherits from [`HfGanPipeline`] and so from diffusers' [`DiffusionPipeline`] (saving, loading by folder
    or Hub repo id, `.to(device)`, progress bars); `push_to_hub` writes an hfgan model card.

    Parameters:
        generator ([`DCGANGenerator`]): maps latents of shape `(batch_size, latent_dim)` to images in [-1, 1].
    """

    model_cpu_offload_seq = "generator"
    _hub_tags = ["dcgan"]
    _card_task = "unconditional-image-generation"

    def __init__(self, generator: DCGANGenerator):
        super().__init__()
        self.register_modules(generator=generator)

    @torch.no_grad()
    def __call__(
        self,
        num_images: int | None = None,
        generator: torch.Generator | list[torch.Generator] | None = None,
        latents: torch.Tensor | None = None,
        output_type: str = "pil",
        return_dict: bool = True,
        max_batch_size: int = 256,
        batch_size: int | None = None,
    ) -> ImagePipelineOutput | tuple:
        r"""
        Generate images.

        Args:
            num_images (`int`, *optional*, defaults to 1, or the number of `latents`):
                How many images to generate.
            generator (`torch.Generator` or `list[torch.Generator]`, *optional*):
                Random generator(s) that make sampling deterministic. The same seed gives the same images whatever
                `max_batch_size` is.
            latents (`torch.Tensor` of shape `(num_images, latent_dim)`, *optional*):
                Latents to decode instead of drawing new ones from N(0, I).
            output_type (`str`, defaults to `"pil"`):
                `"pil"` (list of `PIL.Image.Image`), `"np"` (array `(N, H, W, C)` in [0, 1]) or `"pt"` (tensor
                `(N, C, H, W)` in [0, 1]).
            return_dict (`bool`, defaults to `True`):
                Return an [`~diffusers.ImagePipelineOutput`] instead of a tuple.
            max_batch_size (`int`, defaults to 256):
                Largest chunk sent through the generator at once; bounds memory for large `num_images`.
            batch_size (`int`, *optional*):
                Alias of `num_images`, as diffusers pipelines call it.

        Example:

        ```py
        >>> import torch
        >>> from hfgan import DCGANGenerator, DCGANPipeline
        >>> from hfgan.utils import make_image_grid

        >>> pipe = DCGANPipeline(generator=DCGANGenerator(latent_dim=16, base_channels=8, image_size=16))
        >>> # pipe = DCGANPipeline.from_pretrained("user/dcgan-emoji")  # a trained one from the Hub
        >>> images = pipe(num_images=16, generator=torch.Generator().manual_seed(0)).images
        >>> grid = make_image_grid(images, rows=4, cols=4)
        >>> grid.size
        (64, 64)
        ```

        Returns:
            [`~diffusers.ImagePipelineOutput`] or `tuple`: the images, as `images` or as the tuple's only element.
        """
        # 0. Check the request
        self.check_output_type(output_type)
        self.check_max_batch_size(max_batch_size)
        num_images = self.resolve_num_images(num_images, batch_size, latents, "latents")
        latent_dim = self.generator.config.latent_dim
        device, dtype = self._execution_device, self.generator.dtype

        # 1. Draw all latents at once, so chunking never changes which latent an image gets
        if latents is None:
            latents = randn_tensor((num_images, latent_dim), generator=generator, device=device, dtype=dtype)
        elif latents.dim() != 2 or latents.shape[1] != latent_dim:
            raise ValueError(f"latents must have shape (num_images, {latent_dim}), got {tuple(latents.shape)}")
        else:
            latents = latents.to(device=device, dtype=dtype)

        # 2. Decode in chunks, in eval mode, each chunk post-processed to [0, 1] in the requested layout
        with self.eval_mode():
            image = self.images_in_chunks(
                num_images, lambda start, stop: self.generator(latents[start:stop]).sample, output_type, max_batch_size
            )

        self.maybe_free_model_hooks()
        if not return_dict:
            return (image,)
        return ImagePipelineOutput(images=image)
