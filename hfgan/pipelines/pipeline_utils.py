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
from ..registry import loadable_classes
from .image_processor import OutputImages, check_output_type, denormalize

# diffusers' ways of running code that a repository names; hfgan loads its own exported classes only
_REFUSED_KWARGS = ("custom_pipeline", "custom_revision", "trust_remote_code")


def hfgan_pipelines() -> dict[str, type[HfGanPipeline]]:
    """The pipeline classes a `model_index.json` may name, by name (`hfgan.registry.LOADABLE`'s pipelines)."""
    return {name: cls for name, cls in loadable_classes().items() if issubclass(cls, HfGanPipeline)}


def pipeline_class_from_index(index: dict, source: str) -> type[HfGanPipeline]:
    """The hfgan pipeline class that a `model_index.json` names, after checking every class it names is hfgan's own.

    Raises `ValueError` naming the offending entry for a module or class that hfgan does not export.
    """
    pipelines, exported = hfgan_pipelines(), loadable_classes()
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


GENERATION = "unconditional-image-generation"


def generation_problem(pipe) -> str | None:
    """Why `pipe` cannot be sampled (it is not an hfgan pipeline that generates images, e.g. a classifier), or None."""
    task = getattr(pipe, "_card_task", None)
    if task == GENERATION:
        return None
    return (
        f"{type(pipe).__name__} does not generate images (its task is {task}); sampling and sample-quality "
        "metrics need a generating pipeline such as DCGANPipeline"
    )


def check_generates(pipe) -> None:
    """Raise `TypeError` with `generation_problem(pipe)` unless `pipe` generates images."""
    problem = generation_problem(pipe)
    if problem is not None:
        raise TypeError(problem)


def reconstruction_distance(images: torch.Tensor, targets: torch.Tensor, perceptual=None) -> torch.Tensor:
    """Per image, the mean squared error plus `perceptual(images, targets)` if given: (B, 3, S, S) pairs in [-1, 1]
    -> (B,). What inversions minimise (BlobGAN's refinement, StyleGAN's optimisation and pivotal tuning); summed over a
    batch, each image's term reaches only its own latent."""
    distance = (images - targets).square().mean(dim=(1, 2, 3))
    return distance if perceptual is None else distance + perceptual(images, targets)


def annotation_names(annotation) -> set[str]:
    """The class names an `__init__` annotation allows: `"A | B"` (a string, under postponed evaluation) or a class."""
    if isinstance(annotation, type):
        return {annotation.__name__}
    return {name.strip() for name in str(annotation).split("|")}


def pipeline_for(model: torch.nn.Module, task: str | None = None) -> HfGanPipeline | None:
    """The hfgan pipeline made of `model` alone (a `DCGANGenerator` -> a `DCGANPipeline`), or None if there is none.

    Found from the pipelines' `__init__` signatures, so a new single-network pipeline needs no entry here; a pipeline
    that takes only some models of that class says which (`incompatibility`: a `DCGANDiscriminator` makes a
    `DiscriminatorClassifierPipeline` only when it has classes). `task` (a model card task, e.g.
    `"unconditional-image-generation"`) keeps only the pipelines of that task.
    """
    for cls in hfgan_pipelines().values():
        if task is not None and cls._card_task != task:
            continue
        parameters = [p for p in list(inspect.signature(cls.__init__).parameters.values())[1:]
                      if p.default is inspect.Parameter.empty]  # optional components may stay unset
        if len(parameters) != 1 or type(model).__name__ not in annotation_names(parameters[0].annotation):
            continue
        if cls.incompatibility(model) is None:
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

    @classmethod
    def incompatibility(cls, model: torch.nn.Module) -> str | None:
        """Why this pipeline cannot be made of `model`, a network of the class its `__init__` takes, or None if it
        can. Every model of that class by default; a subclass's `__init__` raises `ValueError` with the reason."""
        return None

    # ------------------------------------------------------------------------------------------ pieces for __call__

    check_output_type = staticmethod(check_output_type)  # `image_processor.check_output_type`, as a pipeline's own

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
        place, so no copy is made). Each chunk goes straight into the output (PIL images, or one buffer in the
        output's layout: `image_processor.OutputImages`), so memory holds the outputs plus one chunk's activations,
        whatever `num_images` is. A progress bar shows when there is more than one chunk.
        """
        output = OutputImages(num_images, output_type)
        for start, stop in self.chunks(num_images, max_batch_size):
            output.add(start, stop, denormalize(render(start, stop)))  # (b, C, H, W) in [0, 1]
        return output.result()

    def chunks(self, num: int, max_batch_size: int) -> Iterator[tuple[int, int]]:
        """`(start, stop)` of consecutive chunks of at most `max_batch_size` out of `num` items, with a progress bar
        when there is more than one chunk."""
        starts = range(0, num, max_batch_size)
        for start in self.progress_bar(starts, disable=len(starts) == 1):
            yield start, min(start + max_batch_size, num)

    def progress_bar(self, iterable=None, total=None, disable: bool = False):
        if disable:
            return iterable
        return super().progress_bar(iterable=iterable, total=total)
