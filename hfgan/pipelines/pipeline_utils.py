"""`HfGanPipeline`: what every hfgan pipeline shares, and loading any of them by folder or Hub repo id.

Like diffusers' `DiffusionPipeline.from_pretrained`, calling `HfGanPipeline.from_pretrained(path_or_repo)` on the base
class returns an instance of the class that `model_index.json` names. Unlike diffusers, only classes that hfgan itself
exports can be named there: a downloaded file never decides which module gets imported.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import PIL.Image
import torch
from diffusers import DiffusionPipeline

from ..hub import MODEL_INDEX_NAME, HubMixin, pipeline_snapshot, split_hub_kwargs

OUTPUT_TYPES = ("pil", "np", "pt")

# diffusers' ways of running code that a repository names; hfgan loads its own exported classes only
_REFUSED_KWARGS = ("custom_pipeline", "custom_revision", "trust_remote_code")


def hfgan_classes() -> dict[str, type]:
    """The classes `hfgan` exports, by name: the only ones a `model_index.json` may name."""
    import hfgan

    return {name: obj for name in hfgan.__all__ if isinstance(obj := getattr(hfgan, name), type)}


def hfgan_pipelines() -> dict[str, type[HfGanPipeline]]:
    """The concrete pipeline classes `hfgan` exports, by name (the base class left out)."""
    return {
        name: cls
        for name, cls in hfgan_classes().items()
        if issubclass(cls, HfGanPipeline) and cls is not HfGanPipeline
    }


def pipeline_class_from_index(index: dict, source: str) -> type[HfGanPipeline]:
    """The hfgan pipeline class that a `model_index.json` names, after checking every class it names is hfgan's own.

    Raises `ValueError` naming the offending entry for a module or class that hfgan does not export.
    """
    pipelines, exported = hfgan_pipelines(), hfgan_classes()
    name = index.get("_class_name")
    pipeline_cls = pipelines.get(name) if isinstance(name, str) else None
    if pipeline_cls is None:
        raise ValueError(
            f"{source}: {MODEL_INDEX_NAME} names the pipeline class {name!r}, which is not one of hfgan's pipelines "
            f"({', '.join(sorted(pipelines))}); hfgan only loads its own classes and never imports code a repository "
            "names"
        )
    for component, entry in index.items():
        if component.startswith("_") or not isinstance(entry, list) or entry == [None, None]:
            continue
        library, class_name = (entry + [None, None])[:2]
        cls = exported.get(class_name) if isinstance(class_name, str) else None
        if cls is None or library not in ("hfgan", cls.__module__):
            raise ValueError(
                f"{source}: {MODEL_INDEX_NAME} gives component {component!r} the class {library}.{class_name}, which "
                "hfgan does not export; hfgan only loads its own classes and never imports code a repository names"
            )
    return pipeline_cls


def pipeline_for(model: torch.nn.Module) -> HfGanPipeline | None:
    """The hfgan pipeline made of `model` alone (a `DCGANGenerator` -> a `DCGANPipeline`), or None if there is none.

    Found from the pipelines' `__init__` signatures, so a new single-network pipeline needs no entry here.
    """
    for cls in hfgan_pipelines().values():
        parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]
        if len(parameters) == 1 and parameters[0].annotation in (type(model), type(model).__name__):
            return cls(**{parameters[0].name: model})
    return None


class HfGanPipeline(HubMixin, DiffusionPipeline):
    r"""
    Base class of hfgan pipelines: loading by folder or Hub repo id, chunked batching, output post-processing.

    It inherits from diffusers' [`DiffusionPipeline`] (saving, `.to(device)`, dtypes, offloading, progress bars).
    `from_pretrained` also loads by Hub repo id although the components' code lives in hfgan (only the folders that
    `model_index.json` names are downloaded), and `push_to_hub` writes an hfgan model card that fits the pipeline's
    task.

    Example:

    ```py
    >>> from hfgan import DCGANGenerator, DCGANPipeline, HfGanPipeline

    >>> DCGANPipeline(generator=DCGANGenerator(latent_dim=8, base_channels=4, image_size=8)).save_pretrained("tiny")
    >>> type(HfGanPipeline.from_pretrained("tiny")).__name__  # the class model_index.json names
    'DCGANPipeline'
    ```
    """

    @functools.wraps(DiffusionPipeline.save_pretrained)  # diffusers' signature and arguments
    def save_pretrained(self, *args, **kwargs):
        return self._save_pretrained(DiffusionPipeline.save_pretrained, *args, **kwargs)

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, **kwargs):
        """Load a pipeline from a local folder or a Hub repo id (keyword arguments as diffusers' `from_pretrained`).

        On `HfGanPipeline` itself this returns the pipeline class that `model_index.json` names; on a subclass, a
        folder holding another kind of pipeline is an error naming both. Only safetensors weights are read.
        """
        for key in _REFUSED_KWARGS:
            if kwargs.get(key):
                raise ValueError(f"{key} is not supported: hfgan pipelines load hfgan's own classes only")
        if kwargs.get("use_safetensors") is False:
            raise ValueError("hfgan loads safetensors weights only; use_safetensors=False is not supported")
        folder = pipeline_snapshot(pretrained_model_name_or_path, **split_hub_kwargs(kwargs))
        index = json.loads(Path(folder, MODEL_INDEX_NAME).read_text())
        pipeline_cls = pipeline_class_from_index(index, str(pretrained_model_name_or_path))
        if not issubclass(pipeline_cls, cls):
            raise ValueError(
                f"{pretrained_model_name_or_path} holds a {pipeline_cls.__name__}, not a {cls.__name__}: load it with "
                f"{pipeline_cls.__name__}.from_pretrained or HfGanPipeline.from_pretrained"
            )
        kwargs["use_safetensors"] = True
        return super(HfGanPipeline, pipeline_cls).from_pretrained(folder, **kwargs)

    # ------------------------------------------------------------------------------------------ pieces for __call__

    @staticmethod
    def check_output_type(output_type: str) -> None:
        if output_type not in OUTPUT_TYPES:
            raise ValueError(f"output_type must be one of {', '.join(map(repr, OUTPUT_TYPES))}; got {output_type!r}")

    @staticmethod
    def check_max_batch_size(max_batch_size: int) -> None:
        if isinstance(max_batch_size, bool) or not isinstance(max_batch_size, int) or max_batch_size < 1:
            raise ValueError(f"max_batch_size must be a positive int, got {max_batch_size!r}")

    @staticmethod
    def resolve_num_images(
        num_images: int | None, batch_size: int | None, inputs: torch.Tensor | None = None, inputs_name: str = "inputs"
    ) -> int:
        """`num_images` from the argument, its diffusers alias `batch_size`, or the number of given `inputs`."""
        if num_images is not None and batch_size is not None and num_images != batch_size:
            raise ValueError(f"num_images={num_images} and its alias batch_size={batch_size} disagree")
        n = num_images if num_images is not None else batch_size
        if inputs is not None:
            if n is not None and n != len(inputs):
                raise ValueError(f"num_images={n} but {len(inputs)} {inputs_name} were given")
            n = len(inputs)
        n = 1 if n is None else n
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"num_images must be a positive int, got {n!r}")
        return n

    @contextlib.contextmanager
    def eval_mode(self) -> Iterator[None]:
        """Every network component in eval mode for the block, then back in the mode it was in.

        BatchNorm in train mode would make each image depend on its batch-mates.
        """
        modules = [m for m in self.components.values() if isinstance(m, torch.nn.Module)]
        modes = [m.training for m in modules]
        for m in modules:
            m.eval()
        try:
            yield
        finally:
            for m, mode in zip(modules, modes):
                m.train(mode)

    def images_in_chunks(
        self,
        num_images: int,
        render: Callable[[int, int], torch.Tensor],
        output_type: str,
        max_batch_size: int,
    ) -> list[PIL.Image.Image] | np.ndarray | torch.Tensor:
        """Call `render(start, stop)` for chunks of at most `max_batch_size` images and post-process each chunk.

        `render` returns images `(stop - start, C, H, W)` in [-1, 1], a tensor of its own (it is post-processed in
        place, so no copy is made). Each chunk goes straight into the output (PIL
        images, or one buffer in the output's layout), so memory holds the outputs plus one chunk's activations,
        whatever `num_images` is. A progress bar shows when there is more than one chunk.
        """
        starts = range(0, num_images, max_batch_size)
        image = [] if output_type == "pil" else None
        for start in self.progress_bar(starts, disable=len(starts) == 1):
            stop = min(start + max_batch_size, num_images)
            sample = render(start, stop).float().cpu().mul_(0.5).add_(0.5).clamp_(0, 1)  # (b, C, H, W) in [0, 1]
            if output_type == "pil":
                image.extend(to_pil_images(sample))
            elif len(starts) == 1:  # one chunk: no buffer to copy into
                image = sample.permute(0, 2, 3, 1).contiguous() if output_type == "np" else sample
            else:
                if image is None:
                    c, h, w = sample.shape[1:]
                    image = torch.empty((num_images, h, w, c) if output_type == "np" else (num_images, c, h, w))
                image[start:stop] = sample.permute(0, 2, 3, 1) if output_type == "np" else sample
        return image.numpy() if output_type == "np" else image

    def progress_bar(self, iterable=None, total=None, disable: bool = False):
        if disable:
            return iterable
        return super().progress_bar(iterable=iterable, total=total)


def to_pil_images(images: torch.Tensor) -> list[PIL.Image.Image]:
    """Images `(N, C, H, W)` in [0, 1] as PIL images: one conversion to uint8 in torch, no copy per image."""
    pixels = (images * 255).round_().to(torch.uint8).permute(0, 2, 3, 1).contiguous().numpy()  # (N, H, W, C)
    if pixels.shape[-1] == 1:
        return [PIL.Image.fromarray(p[..., 0]) for p in pixels]
    return [PIL.Image.fromarray(p) for p in pixels]
