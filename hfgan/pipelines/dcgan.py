"""Unconditional sampling from a DCGAN generator."""

from __future__ import annotations

import torch
from diffusers import DiffusionPipeline, ImagePipelineOutput
from diffusers.utils.torch_utils import randn_tensor

from ..hub import HubMixin, pipeline_snapshot, split_hub_kwargs
from ..models import DCGANGenerator

OUTPUT_TYPES = ("pil", "np", "pt")


class DCGANPipeline(HubMixin, DiffusionPipeline):
    r"""
    Pipeline for unconditional image generation with a [`DCGANGenerator`]: one forward pass per image.

    This class inherits from diffusers' [`DiffusionPipeline`] (saving, loading, `.to(device)`, progress bars). Unlike
    diffusers, `from_pretrained` also loads by Hub repo id although the generator's code lives in hfgan, and
    `push_to_hub` writes an hfgan model card.

    Parameters:
        generator ([`DCGANGenerator`]): maps latents of shape `(batch_size, latent_dim)` to images in [-1, 1].
    """

    model_cpu_offload_seq = "generator"
    _hub_tags = ["dcgan"]

    def __init__(self, generator: DCGANGenerator):
        super().__init__()
        self.register_modules(generator=generator)

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, **kwargs):
        """Load from a local folder or a Hub repo id (keyword arguments as diffusers' `from_pretrained`)."""
        folder = pipeline_snapshot(pretrained_model_name_or_path, **split_hub_kwargs(kwargs))
        if kwargs.get("use_safetensors") is False:
            raise ValueError("hfgan loads safetensors weights only; use_safetensors=False is not supported")
        kwargs["use_safetensors"] = True
        return super().from_pretrained(folder, **kwargs)

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
        if output_type not in OUTPUT_TYPES:
            raise ValueError(f"output_type must be one of {', '.join(map(repr, OUTPUT_TYPES))}; got {output_type!r}")
        num_images = _resolve_num_images(num_images, batch_size, latents)
        if isinstance(max_batch_size, bool) or not isinstance(max_batch_size, int) or max_batch_size < 1:
            raise ValueError(f"max_batch_size must be a positive int, got {max_batch_size!r}")
        latent_dim = self.generator.config.latent_dim
        device, dtype = self._execution_device, self.generator.dtype

        # 1. Draw all latents at once, so chunking never changes which latent an image gets
        if latents is None:
            latents = randn_tensor((num_images, latent_dim), generator=generator, device=device, dtype=dtype)
        elif latents.dim() != 2 or latents.shape[1] != latent_dim:
            raise ValueError(f"latents must have shape (num_images, {latent_dim}), got {tuple(latents.shape)}")
        else:
            latents = latents.to(device=device, dtype=dtype)

        # 2. Decode in chunks, in eval mode: BatchNorm in train mode would make each image depend on its batch-mates.
        #    Each chunk goes straight into the output (PIL images, or a buffer in the output's layout), so memory
        #    holds the outputs plus one chunk's activations, whatever num_images is.
        c, size = self.generator.config.num_channels, self.generator.config.image_size
        if output_type == "pil":
            image = []
        else:
            image = torch.empty((num_images, size, size, c) if output_type == "np" else (num_images, c, size, size))
        was_training = self.generator.training
        self.generator.eval()
        chunks = latents.split(max_batch_size)
        start = 0
        for chunk in self.progress_bar(chunks, disable=len(chunks) == 1):
            sample = self.generator(chunk).sample.float().cpu()  # (b, C, H, W) in [-1, 1]
            sample = (sample / 2 + 0.5).clamp(0, 1)  # 3. post-process to [0, 1] and the requested layout
            if output_type == "pil":
                image.extend(self.numpy_to_pil(sample.permute(0, 2, 3, 1).numpy()))
            else:
                image[start : start + len(sample)] = sample.permute(0, 2, 3, 1) if output_type == "np" else sample
            start += len(sample)
        self.generator.train(was_training)
        if output_type == "np":
            image = image.numpy()  # (N, H, W, C)

        self.maybe_free_model_hooks()
        if not return_dict:
            return (image,)
        return ImagePipelineOutput(images=image)

    def progress_bar(self, iterable=None, total=None, disable: bool = False):
        if disable:
            return iterable
        return super().progress_bar(iterable=iterable, total=total)


def _resolve_num_images(num_images, batch_size, latents) -> int:
    if num_images is not None and batch_size is not None and num_images != batch_size:
        raise ValueError(f"num_images={num_images} and its alias batch_size={batch_size} disagree")
    n = num_images if num_images is not None else batch_size
    if latents is not None:
        if n is not None and n != len(latents):
            raise ValueError(f"num_images={n} but {len(latents)} latents were given")
        n = len(latents)
    n = 1 if n is None else n
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"num_images must be a positive int, got {n!r}")
    return n
