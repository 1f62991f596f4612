"""Sampling from a StyleGAN2 or StyleGAN3 generator, with truncation, class labels and access to the w latents."""

from __future__ import annotations

import contextlib
import copy
import math
from dataclasses import dataclass

import numpy as np
import PIL.Image
import torch
from diffusers.utils import BaseOutput
from diffusers.utils.torch_utils import randn_tensor

from ..losses import noise_regularization
from ..models import EditDirections, StyleGAN2Generator, StyleGAN3Generator, StyleGANEncoder
from ..models.stylegan.generator import check_noise
from .image_processor import encoder_inputs, image_inputs
from .pipeline_utils import HfGanPipeline, reconstruction_distance


@dataclass
class StyleGANPipelineOutput(BaseOutput):
    """
    Output of [`StyleGANPipeline`].

    Args:
        images (`list[PIL.Image.Image]`, `np.ndarray` or `torch.Tensor`): The generated images (see `output_type`).
        ws (`torch.Tensor` of shape `(num_images, num_ws, w_dim)`, *optional*): The w latents the images were
            rendered from (after truncation), on the CPU, with `return_latents=True`: edit them and pass them back
            as `ws=`.
    """

    images: list[PIL.Image.Image] | np.ndarray | torch.Tensor
    ws: torch.Tensor | None = None


@dataclass
class StyleGANInversionOutput(BaseOutput):
    """
    Output of [`StyleGANPipeline.invert`].

    Args:
        ws (`torch.Tensor` of shape `(num_images, num_ws, w_dim)`): Each image's w (the same w on every layer for
            `space="w"`), on the CPU: render with `pipe(ws=...)`, edit with `pipe(ws=..., edits=...)`.
        reconstructions (`list[PIL.Image.Image]`, `np.ndarray` or `torch.Tensor`): The images those ws render to
            (with PTI's tuned generator for `method="pti"`).
        pipeline ([`StyleGANPipeline`], *optional*): For `method="pti"`, a new pipeline with the generator tuned around
            these ws (the pipeline `invert` was called on is unchanged); render and edit the ws with it. None
            otherwise.
        noise (`list[torch.Tensor]`, *optional*): With `optimize_noise=True`, each image's optimised StyleGAN2 noise
            maps, one `(num_images, 1, S, S)` tensor per noise layer, on the CPU: the reconstructions were rendered
            with them, so pass them back as `pipe(ws=..., noise=...)`. None otherwise (the stored noise).
    """

    ws: torch.Tensor
    reconstructions: list[PIL.Image.Image] | np.ndarray | torch.Tensor
    pipeline: StyleGANPipeline | None = None
    noise: list[torch.Tensor] | None = None


class StyleGANPipeline(HfGanPipeline):
    r"""
    Pipeline for image generation with a [`StyleGAN3Generator`] or a [`StyleGAN2Generator`]: z -> w (the mapping
    network, truncated towards the mean w) -> image. NVIDIA's pretrained networks load after `hfgan convert-pkl`.

    This class inherits from [`HfGanPipeline`] and so from diffusers' [`DiffusionPipeline`] (saving, loading by folder
    or Hub repo id, `.to(device)`, progress bars); `push_to_hub` writes an hfgan model card.

    Parameters:
        generator ([`StyleGAN3Generator`] or [`StyleGAN2Generator`]): the generator.
        directions ([`~hfgan.editing.EditDirections`], *optional*): named edit directions in the generator's w
            space, applied by `pipe(..., edits={name: strength})`; saved and pushed with the pipeline.
        encoder ([`StyleGANEncoder`], *optional*): images -> ws in one forward pass, for
            `invert(..., method="encoder")` (`training/train_stylegan_encoder.py` trains one).
    """

    model_cpu_offload_seq = "generator"
    _optional_components = ["directions", "encoder"]
    _hub_tags = ["stylegan"]
    _card_task = "unconditional-image-generation"

    def __init__(self, generator: StyleGAN3Generator | StyleGAN2Generator, directions: EditDirections | None = None,
                 encoder: StyleGANEncoder | None = None):
        super().__init__()
        if directions is not None:
            directions.check_fits(generator)
        if encoder is not None:
            encoder.check_generator(generator)
        self.register_modules(generator=generator, directions=directions, encoder=encoder)

    def class_labels(self, labels, num_images: int) -> torch.Tensor | None:
        """Class indices (an int or one per image) or one-hot rows -> (num_images, c_dim) on the generator's device;
        None for an unconditional generator. A conditional one needs labels."""
        c_dim = self.generator.config.c_dim
        if not c_dim:
            if labels is not None:
                raise ValueError("this generator is unconditional: do not pass class_labels")
            return None
        if labels is None:
            raise ValueError(f"this generator is conditional: pass class_labels (class indices < {c_dim} or one-hot "
                             "rows)")
        labels = torch.as_tensor(labels)
        if labels.dim() == 2:
            if labels.shape != (num_images, c_dim):
                raise ValueError(f"one-hot class_labels must have shape ({num_images}, {c_dim}), got "
                                 f"{tuple(labels.shape)}")
            return labels.float().to(self._execution_device)
        labels = labels.long().flatten().expand(num_images) if labels.numel() == 1 else labels.long().flatten()
        if len(labels) != num_images or labels.min() < 0 or labels.max() >= c_dim:
            raise ValueError(f"class_labels must be {num_images} class indices in [0, {c_dim}), got {labels.tolist()}")
        return torch.nn.functional.one_hot(labels, c_dim).float().to(self._execution_device)

    @torch.no_grad()
    def map(
        self,
        num_images: int | None = None,
        generator: torch.Generator | list[torch.Generator] | None = None,
        latents: torch.Tensor | None = None,
        class_labels=None,
        truncation_psi: float = 1.0,
        truncation_cutoff: int | None = None,
    ) -> torch.Tensor:
        r"""
        The w latents of z latents (drawn from N(0, I) with `generator`, or given as `latents` `(N, z_dim)`), truncated
        as in `__call__`: `(num_images, num_ws, w_dim)` on the generator's device. The same seed gives the w of the
        image `__call__` makes.
        """
        num_images = self.resolve_num_images(num_images, None, latents, "latents")
        z_dim = self.generator.config.z_dim
        device, dtype = self._execution_device, self.generator.dtype
        if latents is None:
            latents = randn_tensor((num_images, z_dim), generator=generator, device=device, dtype=dtype)
        elif latents.dim() != 2 or latents.shape[1] != z_dim:
            raise ValueError(f"latents must have shape (num_images, {z_dim}), got {tuple(latents.shape)}")
        c = self.class_labels(class_labels, num_images)
        return self.generator.map(latents.to(device=device, dtype=dtype), c, truncation_psi, truncation_cutoff)

    @torch.no_grad()
    def __call__(
        self,
        num_images: int | None = None,
        truncation_psi: float = 1.0,
        truncation_cutoff: int | None = None,
        class_labels=None,
        generator: torch.Generator | list[torch.Generator] | None = None,
        latents: torch.Tensor | None = None,
        ws: torch.Tensor | None = None,
        edits: dict[str, float] | None = None,
        directions: EditDirections | None = None,
        noise_mode: str = "const",
        noise: list[torch.Tensor] | None = None,
        output_type: str = "pil",
        return_latents: bool = False,
        return_dict: bool = True,
        max_batch_size: int = 64,
        batch_size: int | None = None,
    ) -> StyleGANPipelineOutput | tuple:
        r"""
        Generate images.

        Args:
            num_images (`int`, *optional*, defaults to 1, or the number of `latents` or `ws`):
                How many images to generate.
            truncation_psi (`float`, defaults to 1.0):
                Pull each w towards the mean w by this factor (w_avg + psi (w - w_avg)): below 1 trades variety for
                typical, cleaner images (0.7 is common); 1 samples the learned distribution.
            truncation_cutoff (`int`, *optional*):
                Truncate only the first this many layers' w (coarse features); all by default.
            class_labels (`int`, `list[int]`, or a one-hot tensor `(num_images, c_dim)`, *optional*):
                Classes of a conditional generator (required for one, refused for an unconditional one).
            generator (`torch.Generator` or `list[torch.Generator]`, *optional*):
                Random generator(s) for z; the same seed gives the same images whatever `max_batch_size` is.
            latents (`torch.Tensor` of shape `(num_images, z_dim)`, *optional*):
                z latents to use instead of drawing new ones.
            ws (`torch.Tensor` of shape `(num_images, num_ws, w_dim)` or `(num_images, w_dim)`, *optional*):
                w latents to render directly (e.g. from `map`, an earlier `return_latents=True`, or an edit); the
                mapping network and truncation are skipped.
            edits (`dict[str, float]`, *optional*):
                Move every w by strength x direction for each `{name: strength}` (e.g. `{"sefa_0": 3.0}`), after
                truncation; the names are those of `directions` (or the pipeline's). The returned ws are the edited
                ones. Style directions (StyleSpace) move the styles instead, and the returned ws are unedited.
            directions ([`~hfgan.editing.EditDirections`], *optional*):
                Directions to take `edits` from instead of the pipeline's own.
            noise_mode (`str`, defaults to `"const"`):
                StyleGAN2's per-pixel noise: `"const"` (the generator's stored noise: the same w gives the same
                image), `"random"` (fresh noise from torch's global RNG) or `"none"`. StyleGAN3 has no noise.
            noise (`list[torch.Tensor]`, *optional*):
                StyleGAN2 noise maps to render with instead, one `(num_images or 1, 1, S, S)` tensor per noise layer
                (sides `pipe.generator.noise_resolutions`), e.g. `invert(..., optimize_noise=True).noise`.
            output_type (`str`, defaults to `"pil"`):
                `"pil"`, `"np"` (array `(N, H, W, C)` in [0, 1]) or `"pt"` (tensor `(N, C, H, W)` in [0, 1]).
            return_latents (`bool`, defaults to `False`):
                Also return the ws the images came from (`StyleGANPipelineOutput.ws`).
            return_dict (`bool`, defaults to `True`):
                Return a [`StyleGANPipelineOutput`] instead of a tuple `(images,)` (`(images, ws)` with
                `return_latents`).
            max_batch_size (`int`, defaults to 64):
                Largest chunk sent through the generator at once; bounds memory for large `num_images`.
            batch_size (`int`, *optional*):
                Alias of `num_images`, as diffusers pipelines call it.

        Example:

        ```py
        >>> import torch
        >>> from hfgan import StyleGAN3Generator, StyleGANPipeline

        >>> pipe = StyleGANPipeline(generator=StyleGAN3Generator(z_dim=8, w_dim=8, img_resolution=16,
        ...     channel_base=256, channel_max=8, num_layers=4, num_critical=1, margin_size=2))
        >>> # pipe = StyleGANPipeline.from_pretrained("user/stylegan3-t-ffhqu-256")  # converted with hfgan convert-pkl
        >>> out = pipe(num_images=4, truncation_psi=0.7, generator=torch.Generator().manual_seed(0),
        ...            return_latents=True)
        >>> len(out.images), tuple(out.ws.shape)
        (4, (4, 6, 8))
        >>> again = pipe(ws=out.ws, output_type="pt").images  # the same images, from their w
        ```

        Returns:
            [`StyleGANPipelineOutput`] or `tuple`.
        """
        # 0. Check the request
        self.check_output_type(output_type)
        self.check_max_batch_size(max_batch_size)
        if noise_mode not in ("const", "random", "none"):
            raise ValueError(f"noise_mode must be 'const', 'random' or 'none', got {noise_mode!r}")
        if ws is not None and latents is not None:
            raise ValueError("pass latents (z) or ws (w), not both")
        num_images = self.resolve_num_images(num_images, batch_size, ws if ws is not None else latents,
                                             "ws" if ws is not None else "latents")
        num_ws, w_dim = self.generator.num_ws, self.generator.config.w_dim

        # 1. The w latents: given, or z drawn all at once (chunking never changes which z an image gets) and mapped;
        #    then edited
        if ws is None:
            ws = self.map(num_images, generator, latents, class_labels, truncation_psi, truncation_cutoff)
        else:
            if ws.dim() == 2 and ws.shape[1] == w_dim:
                ws = ws.unsqueeze(1).repeat(1, num_ws, 1)  # one w for every layer
            if ws.dim() != 3 or ws.shape[1:] != (num_ws, w_dim):
                raise ValueError(f"ws must have shape (num_images, {num_ws}, {w_dim}) or (num_images, {w_dim}), "
                                 f"got {tuple(ws.shape)}")
            ws = ws.to(device=self._execution_device, dtype=self.generator.dtype)
        style_edits = contextlib.nullcontext()
        if edits:
            directions = directions if directions is not None else self.directions
            if directions is None:
                raise ValueError("edits need directions: pass directions=, or load a pipeline that has them "
                                 "(hfgan.editing: sefa_directions, ganspace_directions, interfacegan_direction, "
                                 "stylespace_directions)")
            if directions.config.space == "style":  # added to the styles while rendering; w stays as it is
                style_edits = directions.edit_styles(self.generator, edits)
            else:
                ws = directions.apply(ws, edits)  # checks the names and that the directions fit this generator
        noise = self.check_noise(noise, num_images)

        # 2. Render in chunks, in eval mode, each chunk post-processed to [0, 1] in the requested layout
        with self.eval_mode(), style_edits:
            image = self.images_in_chunks(
                num_images, lambda start, stop: self.generator.synthesize(
                    ws[start:stop], noise_mode=noise_mode, noise=noise_chunk(noise, start, stop)),
                output_type, max_batch_size,
            )

        self.maybe_free_model_hooks()
        ws = ws.cpu() if return_latents else None
        if not return_dict:
            return (image, ws) if return_latents else (image,)
        return StyleGANPipelineOutput(images=image, ws=ws)

    def invert(
        self,
        images,
        space: str = "w",
        method: str = "optimize",
        start: str = "mean",
        num_steps: int = 100,
        lr: float = 0.1,
        perceptual=None,
        class_labels=None,
        pti_steps: int = 100,
        pti_lr: float = 3e-4,
        num_w_samples: int = 1000,
        optimize_noise: bool = False,
        noise_weight: float = 1e5,
        seed: int = 0,
        output_type: str = "pil",
        return_dict: bool = True,
        max_batch_size: int = 8,
    ) -> StyleGANInversionOutput | tuple:
        r"""
        Find the w latents whose images match given images (GAN inversion), to edit them with `pipe(ws=..., edits=...)`.

        Optimisation as StyleGAN2's projector does it: start every w at the mean of sampled w, then Adam steps on the
        distance between the rendering and the image (mean squared error, plus `perceptual` if given), with noise on w
        early on and the learning rate ramped up and down. `space="w"` optimises one w per image (edits best),
        `"w+"` one per layer (reconstructs better). `method="pti"` then tunes a copy of the generator around those
        ws (pivotal tuning, Roich et al. 2022): closer reconstructions that still edit; the tuned copy is returned
        as `output.pipeline`, and this pipeline is left as it was. `method="encoder"` asks the pipeline's
        [`StyleGANEncoder`] instead (one forward pass, no optimisation; `space` is the encoder's). StyleGAN2's noise
        is the stored noise (`noise_mode="const"`, as `__call__` renders by default) unless `optimize_noise=True`:
        then each image's noise maps are optimised with its w, as StyleGAN2's projector does (started from the stored
        maps, renormalised to zero mean and unit variance after every step, and kept noise-like by
        `hfgan.losses.noise_regularization`), and returned in `output.noise`.

        Args:
            images (`PIL.Image.Image`, `np.ndarray`, `torch.Tensor`, or a list of them):
                One image or several (uint8 0-255 or floats in [0, 1]; grayscale is repeated to RGB, alpha dropped).
                Images of another size than the generator's are center-cropped to a square and resized, with a
                warning.
            space (`str`, defaults to `"w"`): `"w"` or `"w+"`.
            method (`str`, defaults to `"optimize"`): `"optimize"`, `"pti"` or `"encoder"` (needs an `encoder`).
            start (`str`, defaults to `"mean"`): where optimisation starts: `"mean"` (the mean of sampled w) or
                `"encoder"` (the pipeline's encoder's answer, averaged over layers for `space="w"`: fewer steps for
                the same fit).
            num_steps (`int`, defaults to 100): Adam steps on the ws (one generator forward and backward each).
            lr (`float`, defaults to 0.1): Adam's peak learning rate on the ws.
            perceptual (`hfgan.perceptual.PerceptualDistance`, *optional*): added to the squared error, e.g.
                `hfgan.perceptual.perceptual_distance("lpips-vgg")` (LPIPS needs VGG16's weights; see its error).
            class_labels (`int`, *optional*): the class of a conditional generator (one index, or one one-hot row),
                whose mean w every image starts from.
            pti_steps (`int`, defaults to 100), pti_lr (`float`, defaults to 3e-4): the generator's tuning (PTI).
            num_w_samples (`int`, defaults to 1000): z draws for the mean w and w's spread.
            optimize_noise (`bool`, defaults to `False`): also optimise StyleGAN2's noise maps (per image); render the
                result with `pipe(ws=out.ws, noise=out.noise)`. Refused for StyleGAN3 (no noise) and the encoder.
            noise_weight (`float`, defaults to 1e5): the noise regulariser's weight (StyleGAN2's projector's).
            seed (`int`, defaults to 0): seeds the draws and the noise on w, so a call is repeatable.
            output_type (`str`, defaults to `"pil"`): the reconstructions as `"pil"`, `"np"` or `"pt"`.
            return_dict (`bool`, defaults to `True`): Return a [`StyleGANInversionOutput`] instead of a tuple
                `(ws, reconstructions, pipeline, noise)`.
            max_batch_size (`int`, defaults to 8): images optimised together (each only by its own loss).

        Example:

        ```py
        >>> import torch
        >>> from hfgan import StyleGAN2Generator, StyleGANPipeline

        >>> pipe = StyleGANPipeline(generator=StyleGAN2Generator(z_dim=8, w_dim=8, img_resolution=16,
        ...     mapping_layers=2, channel_base=64, channel_max=8))
        >>> photo = pipe(num_images=1, generator=torch.Generator().manual_seed(1)).images[0]  # any 16-px image
        >>> inverted = pipe.invert(photo, num_steps=20)
        >>> tuple(inverted.ws.shape), inverted.reconstructions[0].size
        ((1, 6, 8), (16, 16))
        ```

        Returns:
            [`StyleGANInversionOutput`] or `tuple`.
        """
        # 0. Check the request
        if space not in ("w", "w+"):
            raise ValueError(f"space must be 'w' or 'w+', got {space!r}")
        if method not in ("optimize", "pti", "encoder"):
            raise ValueError(f"method must be 'optimize', 'pti' or 'encoder', got {method!r}")
        if start not in ("mean", "encoder"):
            raise ValueError(f"start must be 'mean' or 'encoder', got {start!r}")
        if optimize_noise and not self.generator.noise_resolutions:
            raise ValueError("optimize_noise=True needs a generator with noise inputs (StyleGAN2); StyleGAN3 has none")
        if optimize_noise and method == "encoder":
            raise ValueError("optimize_noise=True needs optimisation (method='optimize' or 'pti'), not the encoder")
        if "encoder" in (method, start) and self.encoder is None:
            raise ValueError(f"{'method' if method == 'encoder' else 'start'}='encoder' needs a pipeline with an "
                             "encoder: StyleGANPipeline(generator, encoder=StyleGANEncoder...) or a release of "
                             "training/train_stylegan_encoder.py")
        for name, value in (("num_steps", num_steps), ("pti_steps", pti_steps), ("num_w_samples", num_w_samples)):
            if isinstance(value, bool) or not isinstance(value, int) or value < (2 if name == "num_w_samples" else 0):
                raise ValueError(f"{name} must be a non-negative integer (num_w_samples >= 2), got {value!r}")
        self.check_output_type(output_type)
        self.check_max_batch_size(max_batch_size)
        pixels, _ = image_inputs(images)
        generator = self.generator
        device, dtype = self._execution_device, generator.dtype
        targets = encoder_inputs(pixels, generator.config.img_resolution, "the generator").to(device, dtype)
        num_images = len(targets)

        # 1. The encoder's answer, one forward pass: the result (method="encoder") or where optimisation starts
        encoded = noise = None
        if "encoder" in (method, start):
            with self.eval_mode(), torch.no_grad():
                encoded = torch.cat([self.encoder(chunk).ws for chunk in targets.split(max_batch_size)])  # (N, L, w)
        if method == "encoder":
            ws = encoded
        else:
            # 2. Optimise: w starts at the encoder's answer or at the mean of sampled w (of the given classes), and
            #    its noise is scaled by the spread of sampled w; chunk by chunk (each image's loss reaches its own w)
            rng = torch.Generator().manual_seed(seed)
            with torch.no_grad():
                z = torch.randn(num_w_samples, generator.config.z_dim, generator=rng).to(device, dtype)
                labels = None if class_labels is None else self.class_labels(class_labels, 1).expand(num_w_samples,
                                                                                                     -1)
                samples = generator.map(z, labels)[:, 0]  # (num_w_samples, w_dim)
            w_mean = samples.mean(0)
            w_std = (samples - w_mean).square().sum(1).mean().sqrt()
            if encoded is None:
                starts = w_mean.expand(num_images, 1 if space == "w" else generator.num_ws, -1)
            else:
                starts = encoded.mean(1, keepdim=True) if space == "w" else encoded  # (N, 1 or num_ws, w_dim)
            ws, chunk_maps = [], []
            with self.eval_mode():
                for first, last in self.chunks(num_images, max_batch_size):
                    w, maps = self._optimize_ws(targets[first:last], starts[first:last], w_std, num_steps, lr,
                                                perceptual, rng, noise_weight if optimize_noise else None)
                    ws.append(w)
                    chunk_maps.append(maps)
            ws = torch.cat(ws)  # (N, num_ws, w_dim)
            if optimize_noise:
                noise = [torch.cat(layer) for layer in zip(*chunk_maps)]  # (N, 1, S, S) per noise layer

        # 3. PTI: tune a copy of the generator around the ws (this pipeline's generator is not touched)
        tuned = None
        if method == "pti":
            tuned = StyleGANPipeline(generator=copy.deepcopy(generator), directions=self.directions,
                                     encoder=self.encoder)
            tuned.set_progress_bar_config(**getattr(self, "_progress_bar_config", {}))
            tuned._tune(ws, targets, pti_steps, pti_lr, perceptual, noise)
        render_with = tuned if tuned is not None else self

        # 4. Render the reconstructions
        with render_with.eval_mode(), torch.no_grad():
            reconstructions = render_with.images_in_chunks(
                num_images, lambda a, b: render_with.generator.synthesize(ws[a:b], noise_mode="const",
                                                                          noise=noise_chunk(noise, a, b)),
                output_type, max_batch_size)
        ws = ws.cpu()
        noise = None if noise is None else [n.cpu() for n in noise]
        if not return_dict:
            return ws, reconstructions, tuned, noise
        return StyleGANInversionOutput(ws=ws, reconstructions=reconstructions, pipeline=tuned, noise=noise)

    def check_noise(self, noise: list[torch.Tensor] | None, num_images: int) -> list[torch.Tensor] | None:
        """`noise` for `num_images` images checked against the generator's noise layers (a clear error naming the
        mismatch) and moved to its device, or None."""
        if noise is None:
            return None
        resolutions = self.generator.noise_resolutions
        if not resolutions:
            raise ValueError("noise maps were given, but this generator has no noise inputs (StyleGAN3)")
        check_noise(noise, resolutions, num_images)
        return [n.to(self._execution_device, self.generator.dtype) for n in noise]

    def _optimize_ws(self, targets, starts, w_std, num_steps, lr, perceptual, rng,
                     noise_weight: float | None = None) -> tuple[torch.Tensor, list[torch.Tensor] | None]:
        """StyleGAN2's projector schedule on ws starting at `starts` (n, 1 or num_ws, w_dim), for targets
        (n, 3, S, S) in [-1, 1]; with a `noise_weight`, each image's noise maps too (from the stored ones), under
        the noise regulariser and renormalised after every step. Returns the ws (n, num_ws, w_dim) and the maps."""
        n, num_ws = len(targets), self.generator.num_ws
        w = starts.detach().clone().requires_grad_(True)
        noise = None
        if noise_weight is not None:
            noise = [m.expand(n, -1, -1, -1).clone().requires_grad_(True) for m in self.generator.stored_noise()]
        optimizer = torch.optim.Adam([w] + (noise or []), lr=lr, betas=(0.9, 0.999))
        with torch.enable_grad():
            for step in self.progress_bar(range(num_steps), disable=num_steps == 0):
                t = step / max(num_steps, 1)
                # learning rate: up over the first 5%, cosine down over the last 25%; noise on w fades by 75%
                ramp = min(1.0, (1 - t) / 0.25)
                ramp = (0.5 - 0.5 * math.cos(ramp * math.pi)) * min(1.0, t / 0.05)
                for group in optimizer.param_groups:
                    group["lr"] = lr * ramp
                noise_scale = float(w_std) * 0.05 * max(0.0, 1 - t / 0.75) ** 2
                w_noise = torch.randn(w.shape, generator=rng).to(w.device, w.dtype) * noise_scale
                image = self.generator.synthesize((w + w_noise).expand(n, num_ws, -1), noise_mode="const", noise=noise)
                loss = reconstruction_distance(image, targets, perceptual)  # (n,)
                if noise is not None:
                    loss = loss + noise_weight * noise_regularization(noise)["loss"]
                optimizer.zero_grad(set_to_none=True)
                loss.sum().backward()
                optimizer.step()
                if noise is not None:
                    with torch.no_grad():
                        for m in noise:  # back to zero mean, unit variance per image: the learned strength scales it
                            m.sub_(m.mean(dim=(2, 3), keepdim=True)).div_(m.std(dim=(2, 3), keepdim=True) + 1e-8)
        maps = None if noise is None else [m.detach() for m in noise]
        return w.detach().expand(n, num_ws, -1).clone(), maps

    def _tune(self, ws, targets, num_steps, lr, perceptual, noise=None) -> None:
        """Pivotal tuning: Adam on this pipeline's generator so that the fixed ws (and noise maps, if any) render
        their targets."""
        generator = self.generator.requires_grad_(True)
        optimizer = torch.optim.Adam(generator.parameters(), lr=lr)
        with torch.enable_grad():
            for _ in self.progress_bar(range(num_steps), disable=num_steps == 0):
                image = generator.synthesize(ws, noise_mode="const", noise=noise)
                loss = reconstruction_distance(image, targets, perceptual)
                optimizer.zero_grad(set_to_none=True)
                loss.sum().backward()
                optimizer.step()
        generator.requires_grad_(False).eval()


def noise_chunk(noise: list[torch.Tensor] | None, start: int, stop: int) -> list[torch.Tensor] | None:
    """Images start:stop's rows of per-image noise maps (a map with one row is shared by every image)."""
    return None if noise is None else [n if len(n) == 1 else n[start:stop] for n in noise]
