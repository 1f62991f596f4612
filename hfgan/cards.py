"""Model cards that fit the task: the Hub's `pipeline_tag`, the `model-index` task and the usage snippet.

Every hfgan model and pipeline declares its task (`_card_task`): unconditional image generation for generators and
their pipelines, image classification for discriminators and discriminator-classifiers, image feature extraction for
encoders and feature networks. One template (`model_cards/model_card.md.j2`, shipped as `hfgan.model_cards`) renders
them all through [`render_model_card`]; the task gives it the summary line and the usage snippet, unless the class has
a snippet of its own here (`CLASS_USAGE`) where the task's generic one would say too little.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from .metrics.registry import display_name  # torch-free: the metrics' names, not their maths

CARD_TEMPLATE = "model_card.md.j2"


@dataclass(frozen=True)
class CardTask:
    """What a model card says about one kind of model.

    Args:
        pipeline_tag: the Hub's task id (the card's `pipeline_tag` and the `model-index` task type).
        name: the task's human name (the `model-index` task name).
        summary: one sentence on what a pipeline or model of this task does.
        pipeline_usage: Jinja snippet loading and running a pipeline (`{{ class_name }}`, `{{ repo_id }}`).
        model_usage: Jinja snippet loading and running a bare network.
    """

    pipeline_tag: str
    name: str
    summary: str
    pipeline_usage: str
    model_usage: str


# The usage of a pipeline or network that takes images (classifiers, encoders); `output` names what it returns.
_IMAGE_PIPELINE_USAGE = """\
import PIL.Image
from hfgan import {{ class_name }}

pipe = {{ class_name }}.from_pretrained("{{ repo_id }}")
print(pipe(PIL.Image.new("RGB", (64, 64), "white")))"""


def _image_model_usage(output: str) -> str:
    return f"""\
import torch
from hfgan import {{{{ class_name }}}}

model = {{{{ class_name }}}}.from_pretrained("{{{{ repo_id }}}}").eval()
size = model.config.image_size
{output} = model(torch.rand(4, 3, size, size) * 2 - 1).{output}  # images in [-1, 1]"""


TASKS: dict[str, CardTask] = {
    task.pipeline_tag: task
    for task in (
        CardTask(
            pipeline_tag="unconditional-image-generation",
            name="Unconditional Image Generation",
            summary="a GAN that samples an image in one forward pass",
            pipeline_usage="""\
import torch
from hfgan import {{ class_name }}
from hfgan.utils import make_image_grid

pipe = {{ class_name }}.from_pretrained("{{ repo_id }}")
images = pipe(num_images=16, generator=torch.Generator().manual_seed(0)).images
make_image_grid(images, rows=4, cols=4).save("samples.png")""",
            model_usage="""\
from hfgan import {{ class_name }}

generator = {{ class_name }}.from_pretrained("{{ repo_id }}").eval()
print(generator.config)""",
        ),
        CardTask(
            pipeline_tag="image-classification",
            name="Image Classification",
            summary="an image classifier",
            pipeline_usage=_IMAGE_PIPELINE_USAGE,
            model_usage=_image_model_usage("logits"),
        ),
        CardTask(
            pipeline_tag="image-feature-extraction",
            name="Image Feature Extraction",
            summary="an encoder from images to feature vectors",
            pipeline_usage=_IMAGE_PIPELINE_USAGE,
            model_usage=_image_model_usage("features"),
        ),
    )
}


# Usage snippets of their own for the classes whose task's generic one would say too little, by class name (a subclass
# gets its nearest base class's); Jinja strings like the tasks' snippets.
CLASS_USAGE: dict[str, str] = {
    "DCGANGenerator": """\
import torch
from hfgan import DCGANGenerator

generator = DCGANGenerator.from_pretrained("{{ repo_id }}").eval()
images = generator(torch.randn(16, generator.config.latent_dim)).sample  # (16, 3, H, W) in [-1, 1]""",
    "DiscriminatorClassifierPipeline": """\
import PIL.Image
from hfgan import DiscriminatorClassifierPipeline  # importing hfgan also registers its classifiers with transformers
from transformers import pipeline

image = PIL.Image.new("RGB", (64, 64), "white")

pipe = DiscriminatorClassifierPipeline.from_pretrained("{{ repo_id }}")
print(pipe(image, top_k=3))  # [{"label": ..., "score": ...}, ...], best first

classifier = pipeline("image-classification", model="{{ repo_id }}")  # transformers: the same labels and scores
print(classifier(image, top_k=3))""",
    "BlobLayoutNet": """\
import torch
from hfgan import BlobLayoutNet
from hfgan.models.blobgan.layout import render_layout

layout_net = BlobLayoutNet.from_pretrained("{{ repo_id }}").eval()
layout = layout_net(torch.randn(4, layout_net.config.latent_dim))  # a BlobLayout of 4 scenes
render_layout(layout)[0].save("layout.png")  # the blobs as coloured ellipses""",
    "BlobGANEncoder": """\
import torch
from hfgan import BlobGANEncoder, render_layout

encoder = BlobGANEncoder.from_pretrained("{{ repo_id }}").eval()
size = encoder.config.image_size
output = encoder(torch.rand(4, 3, size, size) * 2 - 1)  # images in [-1, 1]
render_layout(output.layout)[0].save("blobs.png")  # the first image's blobs; the BlobGAN generator renders them""",
    "StyleGANEncoder": """\
import torch
from hfgan import StyleGANEncoder

encoder = StyleGANEncoder.from_pretrained("{{ repo_id }}").eval()
size = encoder.config.image_size
ws = encoder(torch.rand(4, 3, size, size) * 2 - 1).ws  # images in [-1, 1] -> (4, num_ws, w_dim)
# render them with the StyleGAN generator it was trained for: generator.synthesize(ws)""",
    # sampling and editing; inverting an image is added when there is an encoder (COMPONENT_USAGE)
    "BlobGANPipeline": """\
import torch
from hfgan import BlobGANPipeline, render_layout

pipe = BlobGANPipeline.from_pretrained("{{ repo_id }}")
output = pipe(num_images=4, generator=torch.Generator().manual_seed(0))
output.images[0].save("scene.png")
render_layout(output.layouts[0])[0].save("blobs.png")  # the blobs, numbered
layout = output.layouts[0].move(2, dx=0.2).remove(5)  # blob 2 a fifth of the width right, blob 5 gone
pipe(layout=layout).images[0].save("edited.png")  # one generator forward, same noise: only the edit changes""",
}

# Lines added to a pipeline's snippet when it has an optional component, by (class name, component name).
COMPONENT_USAGE: dict[tuple[str, str], str] = {
    ("BlobGANPipeline", "encoder"): """
# this release has an encoder: invert an image (e.g. a photo of a scene), edit its blobs, render the edit
import PIL.Image

inverted = pipe.invert(PIL.Image.open("scene.png"), num_refine_steps=100)  # 0: the encoder alone, faster
inverted.reconstructions[0].save("reconstruction.png")
render_layout(inverted.layouts[0])[0].save("inverted_blobs.png")
pipe(layout=inverted.layouts[0].move(0, dx=0.1)).images[0].save("inverted_edited.png")""",
    ("StyleGANPipeline", "encoder"): """
# this release has an encoder: invert an image in one forward pass, edit its w, render the edit
import PIL.Image
from hfgan.editing import sefa_directions

inverted = pipe.invert(PIL.Image.open("photo.png"), method="encoder")  # or method="optimize" / "pti": slower, closer
inverted.reconstructions[0].save("reconstruction.png")
directions = sefa_directions(pipe.generator, num_directions=5)
pipe(ws=inverted.ws, directions=directions, edits={"sefa_0": 3.0}).images[0].save("edited.png")""",
}


def card_task(obj) -> CardTask:
    """The [`CardTask`] a model or pipeline declares with `_card_task`."""
    name = getattr(obj, "_card_task", None)
    if name not in TASKS:
        raise ValueError(
            f"{type(obj).__name__} declares no model card task (_card_task={name!r}); choose one of {', '.join(TASKS)}"
        )
    return TASKS[name]


def card_usage(obj) -> str:
    """The usage snippet (a Jinja string) of `obj`'s model card: its class's own from `CLASS_USAGE`, else its task's
    generic one, with the lines of each optional component it has (`COMPONENT_USAGE`)."""
    task = card_task(obj)
    generic = task.pipeline_usage if hasattr(obj, "components") else task.model_usage
    with_components = {name for name, _ in COMPONENT_USAGE}
    for cls in type(obj).__mro__:
        if cls.__name__ in CLASS_USAGE or cls.__name__ in with_components:
            extras = [usage for (name, component), usage in COMPONENT_USAGE.items()
                      if name == cls.__name__ and getattr(obj, component, None) is not None]
            return CLASS_USAGE.get(cls.__name__, generic) + "".join(extras)
    return generic


def render_model_card(
    obj,
    repo_id: str,
    *,
    license: str = "apache-2.0",
    datasets: list[str] | None = None,
    dataset_name: str | None = None,
    training: dict[str, Any] | None = None,
    metrics: list[dict[str, Any]] | None = None,
    sample_grid: str | None = None,
    template_path: str | os.PathLike | None = None,
):
    """Render the hfgan model card of a model or pipeline (`library_name: hfgan`, never `diffusers`).

    Args:
        obj: the model or pipeline the card describes; its class gives the task, the tags and the usage snippet.
        repo_id: where it lives, for the usage snippet.
        license: SPDX-style licence id for the card's metadata.
        datasets: Hub ids of the training datasets, when known.
        dataset_name: what the `model-index` results name the evaluation data when it is not a Hub id.
        training: facts about the run (dataset, steps, images seen, wall time, hardware, config), shown as a table;
            local paths in them are shown relative to the working directory or the home folder ([`public_text`]).
        metrics: `model-index` results, e.g. `[{"type": "fd_emoji_cnn", "name": "FD (emoji-cnn)", "value": 12.3}]`
            (see [`to_model_index`]).
        sample_grid: path of a sample grid inside the repo, embedded as a picture.
        template_path: a Jinja template to use instead of `model_cards/model_card.md.j2`.

    Returns:
        a `huggingface_hub.ModelCard`.
    """
    import jinja2
    from huggingface_hub import EvalResult, ModelCard, ModelCardData

    task = card_task(obj)
    is_pipeline = hasattr(obj, "components")
    tags = ["hfgan", "gan", *getattr(obj, "_hub_tags", []), task.pipeline_tag]
    card_data = ModelCardData(
        library_name="hfgan",
        license=license,
        datasets=datasets or None,
        tags=list(dict.fromkeys(tags)),
        pipeline_tag=task.pipeline_tag,
    )
    if metrics:
        dataset = (datasets or [dataset_name or "unknown"])[0]
        card_data.model_name = repo_id.split("/")[-1]
        card_data.eval_results = [
            EvalResult(
                task_type=task.pipeline_tag,
                task_name=task.name,
                dataset_type=dataset,
                dataset_name=dataset,
                metric_type=m["type"],
                metric_name=m.get("name", m["type"]),
                metric_value=m["value"],
            )
            for m in metrics
        ]
    if template_path is None:
        template_text = resources.files("hfgan.model_cards").joinpath(CARD_TEMPLATE).read_text()
    else:
        template_text = Path(template_path).read_text()
    class_name = type(obj).__name__
    usage = card_usage(obj)
    return ModelCard.from_template(
        card_data,
        template_str=template_text,
        repo_id=repo_id,
        class_name=class_name,
        summary=task.summary,
        usage=jinja2.Template(usage).render(class_name=class_name, repo_id=repo_id),
        is_pipeline=is_pipeline,
        config=None if is_pipeline else {k: v for k, v in obj.config.items() if not k.startswith("_")},
        components={name: type(c).__name__ for name, c in obj.components.items() if c is not None}  # not absent ones
        if is_pipeline
        else None,
        training={key: public_text(value) for key, value in training.items()} if training else None,
        metrics=metrics,
        sample_grid=sample_grid,
    )


def public_text(value: Any) -> Any:
    """`value` (a string; anything else is returned as is) with this machine's folders left out: paths under the
    working directory made relative to it, the home folder written `~`. A card is published, and an absolute path
    (`/home/alice/work/outputs/run`) tells a reader nothing but the trainer's folders."""
    if not isinstance(value, str):
        return value
    cwd, home = os.getcwd().rstrip(os.sep), os.path.expanduser("~").rstrip(os.sep)
    if cwd:  # not the root folder, whose prefix is every path's
        value = value.replace(cwd + os.sep, "")
    if home and home != cwd:
        value = value.replace(home + os.sep, "~" + os.sep)
    return value


# ------------------------------------------------------------------------------------------------ model-index results

def to_model_index(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Model-card `model-index` entries for [`render_model_card`]`(..., metrics=...)`.

    The names come from the metric registry (`hfgan.metrics.registry.display_name`): every metric names its own keys.

    Args:
        results: metrics as `{"fd_emoji_cnn": 12.3, ...}` (what `hfgan.metrics.Evaluator` returns), or a saved result
            JSON (`{"metrics": {...}, "protocol": {...}}`). Standard deviations and raw distances are left out.

    Returns:
        `[{"type": "fd_emoji_cnn", "name": "FD (emoji-cnn)", "value": 12.3}, ...]`
    """
    metrics = results.get("metrics", results)
    out = []
    for key, value in metrics.items():
        name = display_name(key)
        if name is not None and isinstance(value, (int, float)) and math.isfinite(value):
            out.append({"type": key, "name": name, "value": float(f"{value:.6g}")})  # 6 significant digits
    return out
