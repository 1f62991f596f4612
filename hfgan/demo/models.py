"""What the web demo does, without the web: the zoo's releases loaded by role, and the functions behind every tab.

Each function takes and returns plain values (names, numbers, PIL images, [`BlobEdits`]), so tests call them
directly and the Gradio app (`hfgan.demo.app`) only lays them out. A bad request raises [`DemoError`] with a message
for the page; nothing here imports gradio.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import PIL.Image
import torch

from ..models.blobgan.layout import BlobLayout, render_layout
from ..utils import make_image_grid

MAX_IMAGES = 64  # per sample grid
MAX_UPLOAD_PIXELS = 40_000_000  # larger uploads are refused before they are decoded
MAX_REFINE_STEPS = 500
MAX_INVERT_STEPS = 500  # a StyleGAN inversion's step budget
NUM_DIRECTIONS = 5  # sliders in the photo editor
SHOW = 256  # pixels a side for a shown image (generated images are upscaled without smoothing)
EDITS = ("move", "resize", "remove", "restyle", "duplicate")


class DemoError(ValueError):
    """A request the demo cannot serve; the message is shown in the page."""


def default_sources() -> list[str]:
    """Where the models come from when none are named: `HFGAN_DEMO_MODELS` (comma-separated folders or Hub repo ids),
    else a `zoo/` folder in the working directory (a Space's own folder), else the hfgan checkout's `zoo/`."""
    if os.environ.get("HFGAN_DEMO_MODELS"):
        return [s.strip() for s in os.environ["HFGAN_DEMO_MODELS"].split(",") if s.strip()]
    for zoo in (Path.cwd() / "zoo", Path(__file__).resolve().parents[2] / "zoo"):
        if zoo.is_dir():
            return [str(zoo)]
    return []


def expand_sources(sources: list[str]) -> list[tuple[str, str]]:
    """`(name, source)` for each release: a release folder (it has model_index.json) or a Hub repo id is one; a folder
    of release folders (a zoo) is each of them, named by their folder."""
    releases = []
    for source in sources:
        path = Path(source)
        if path.is_dir() and not (path / "model_index.json").is_file():
            found = sorted(p for p in path.iterdir() if (p / "model_index.json").is_file())
            releases += [(p.name, str(p)) for p in found]
            if not found:
                releases.append((path.name or source, source))  # loading it says what is wrong
        else:
            releases.append((path.name if path.is_dir() else source, source))
    names = [name for name, _ in releases]  # two folders of one name (two runs' release/) go by their full paths
    return [(name if names.count(name) == 1 else source, source) for name, source in releases]


@dataclasses.dataclass
class BlobEdits:
    """A BlobGAN scene being edited: which model, the layout it started from, and the layouts after each edit (the
    last one is on screen). Edits and undos return a new `BlobEdits`; the layouts are never changed in place."""

    model: str
    original: BlobLayout  # of one image
    history: tuple[BlobLayout, ...] = ()

    @property
    def layout(self) -> BlobLayout:
        return self.history[-1] if self.history else self.original

    @property
    def num_blobs(self) -> int:
        return self.layout.num_blobs


@dataclasses.dataclass(frozen=True, eq=False)
class PhotoEdit:
    """A photo inverted into a StyleGAN release's w space: which model and the w to edit (1, num_ws, w_dim)."""

    model: str
    ws: torch.Tensor


class DemoModels:
    """The releases the demo serves, loaded once, by role.

    Args:
        sources: release folders, zoo folders (each release inside) or Hub repo ids; default: [`default_sources`].
        device: where the networks run.

    A source that does not load is kept in `missing` with the reason, and the app shows it instead of failing.
    """

    def __init__(self, sources: list[str] | None = None, device: str = "cpu"):
        from ..pipelines import HfGanPipeline

        self.sources = default_sources() if sources is None else list(sources)
        self.device = device
        self.pipelines: dict[str, object] = {}
        self.missing: dict[str, str] = {}
        for name, source in expand_sources(self.sources):
            try:
                pipe = HfGanPipeline.from_pretrained(source).to(device)
            except Exception as error:  # noqa: BLE001 - any failure is reported in the page, not raised
                self.missing[name] = f"{type(error).__name__}: {error}"
                continue
            pipe.set_progress_bar_config(disable=True)
            self.pipelines[name] = pipe

    # ------------------------------------------------------------------------------------------------ roles
    @property
    def generators(self) -> list[str]:
        """Releases that sample images (DCGAN, BlobGAN)."""
        from ..pipelines.pipeline_utils import generation_problem

        return [name for name, pipe in self.pipelines.items() if generation_problem(pipe) is None]

    @property
    def classifiers(self) -> list[str]:
        return [name for name, pipe in self.pipelines.items() if pipe._card_task == "image-classification"]

    @property
    def blobgans(self) -> list[str]:
        from ..pipelines import BlobGANPipeline

        return [name for name, pipe in self.pipelines.items() if isinstance(pipe, BlobGANPipeline)]

    @property
    def inverters(self) -> list[str]:
        """BlobGAN releases with an encoder."""
        return [name for name in self.blobgans if self.pipelines[name].encoder is not None]

    @property
    def photo_editors(self) -> list[str]:
        """StyleGAN releases: invert a photo into w and edit it along directions."""
        from ..pipelines import StyleGANPipeline

        return [name for name, pipe in self.pipelines.items() if isinstance(pipe, StyleGANPipeline)]

    def directions(self, name: str):
        """The edit directions of StyleGAN release `name`: its own, else its first SeFa directions (closed form from
        its weights: every StyleGAN release can be edited), computed once."""
        from ..editing import sefa_directions

        pipe = self._pipe(name, self.photo_editors, "StyleGAN release")
        if pipe.directions is None:
            pipe.register_modules(directions=sefa_directions(pipe.generator, NUM_DIRECTIONS))
        return pipe.directions

    def status(self) -> str:
        """A Markdown line on what is served and what failed to load."""
        lines = [f"Serving {len(self.pipelines)} release(s): {', '.join(self.pipelines) or 'none'}."]
        if not self.sources:
            lines.append("No models given: run `hfgan demo <zoo folder or Hub repo ids>` or set HFGAN_DEMO_MODELS.")
        lines += [f"Could not load `{name}`: {reason}" for name, reason in self.missing.items()]
        return "\n\n".join(lines)

    def _pipe(self, name: str | None, role: list[str], what: str):
        if not role:
            raise DemoError(f"No {what} is loaded: {self.status()}")
        if name not in role:
            raise DemoError(f"Choose a {what}: {', '.join(role)} (got {name!r}).")
        return self.pipelines[name]

    # ------------------------------------------------------------------------------------------------ sample
    def sample(self, name: str, num_images: int, seed: int) -> PIL.Image.Image:
        """A grid of `num_images` samples of release `name`; the same seed gives the same grid."""
        pipe = self._pipe(name, self.generators, "generator")
        num_images, seed = _integer("number of images", num_images, 1, MAX_IMAGES), _integer("seed", seed, 0)
        images = pipe(num_images=num_images, generator=torch.Generator().manual_seed(seed)).images
        return make_image_grid([_show(image) for image in images])

    # ------------------------------------------------------------------------------------------------ uploads
    def preview(self, upload) -> PIL.Image.Image | None:
        """An uploaded image as the models will read it (RGB), or None when the upload was cleared."""
        return None if upload is None else _show(read_upload(upload))

    # ------------------------------------------------------------------------------------------------ classify
    def classify(self, name: str, upload, top_k: int = 5) -> dict[str, float]:
        """The `top_k` labels of an uploaded image with their scores (`{label: score}`, as gr.Label shows them)."""
        pipe = self._pipe(name, self.classifiers, "classifier")
        predictions = pipe(read_upload(upload), top_k=top_k)
        return {p["label"]: float(p["score"]) for p in predictions}

    # ------------------------------------------------------------------------------------------------ blobs
    def scene(self, name: str, seed: int) -> tuple[PIL.Image.Image, PIL.Image.Image, BlobEdits]:
        """A BlobGAN sample, its blobs, and the editing state that starts from it."""
        pipe = self._pipe(name, self.blobgans, "BlobGAN release")
        output = pipe(num_images=1, generator=torch.Generator().manual_seed(_integer("seed", seed, 0)))
        return self.show(BlobEdits(name, output.layouts))

    def invert(self, name: str, upload, refine_steps: int = 0, refine_space: str = "raw"):
        """An uploaded image's layout (the encoder's, refined by `refine_steps` of gradient descent in `refine_space`,
        as `BlobGANPipeline.invert`'s), its rendering, and the editing state that starts from it."""
        from ..pipelines.blobgan import REFINE_LR

        pipe = self._pipe(name, self.inverters, "BlobGAN release with an encoder")
        refine_steps = _integer("refinement steps", refine_steps, 0, MAX_REFINE_STEPS)
        if refine_space not in REFINE_LR:
            raise DemoError(f"Refine in one of {', '.join(REFINE_LR)} (got {refine_space!r}).")
        layouts = pipe.invert(read_upload(upload), num_refine_steps=refine_steps, refine_space=refine_space).layouts
        return self.show(BlobEdits(name, layouts))

    def edit(self, state: BlobEdits | None, action: str, blob: int, dx: float = 0.0, dy: float = 0.0,
             ds: float = 0.0, donor: int = 0):
        """Apply one edit to the scene on screen and render it (one generator forward, the same noise):
        `move` blob by (dx, dy) (fractions of the image), `resize` it by ds (log scale), `remove` it, `restyle` it with
        the style of blob `donor` of the same scene, or `duplicate` it at an offset (dx, dy)."""
        if state is None:
            raise DemoError("Make a scene first (sample one, or invert an image).")
        layout = state.layout
        blob = _integer("blob", blob, 0, layout.num_blobs - 1)
        if action == "move":
            edited = layout.move(blob, dx=float(dx), dy=float(dy))
        elif action == "resize":
            edited = layout.resize(blob, float(ds))
        elif action == "remove":
            edited = layout.remove(blob)
        elif action == "restyle":
            edited = layout.restyle(blob, layout, _integer("donor blob", donor, 0, layout.num_blobs - 1))
        elif action == "duplicate":
            edited = layout.duplicate(blob, dx=float(dx), dy=float(dy))
        else:
            raise DemoError(f"Unknown edit {action!r}: choose one of {', '.join(EDITS)}.")
        return self.show(dataclasses.replace(state, history=(*state.history, edited)))

    def undo(self, state: BlobEdits | None):
        """Back one edit."""
        if state is None:
            raise DemoError("Nothing to undo: make a scene first.")
        return self.show(dataclasses.replace(state, history=state.history[:-1]))

    def reset(self, state: BlobEdits | None):
        """Back to the scene as it started."""
        if state is None:
            raise DemoError("Nothing to undo: make a scene first.")
        return self.show(dataclasses.replace(state, history=()))

    def show(self, state: BlobEdits) -> tuple[PIL.Image.Image, PIL.Image.Image, BlobEdits]:
        """The state's layout rendered by its generator (fixed noise: one forward), its blobs drawn, and the state."""
        pipe = self._pipe(state.model, self.blobgans, "BlobGAN release")
        image = pipe(layout=state.layout).images[0]
        return _show(image), render_layout(state.layout, size=SHOW)[0], state


    # ------------------------------------------------------------------------------------------------ photos
    def invert_photo(self, name: str, upload, steps: int = 100) -> tuple[PIL.Image.Image, PhotoEdit]:
        """An uploaded photo inverted into the w of StyleGAN release `name` (`steps` of optimisation in w: the space
        that edits best, starting at the release's encoder's answer when it has one), its reconstruction, and the
        state the sliders edit."""
        pipe = self._pipe(name, self.photo_editors, "StyleGAN release")
        steps = _integer("number of steps", steps, 1, MAX_INVERT_STEPS)
        pipe.set_progress_bar_config(disable=False, desc="Inverting")  # the page's progress bar follows it
        try:
            inverted = pipe.invert(read_upload(upload), space="w", num_steps=steps,
                                   start="encoder" if pipe.encoder is not None else "mean")
        finally:
            pipe.set_progress_bar_config(disable=True)
        return _show(inverted.reconstructions[0]), PhotoEdit(name, inverted.ws)

    def edit_photo(self, state: PhotoEdit | None, *strengths: float) -> PIL.Image.Image:
        """The inverted photo rendered with its first directions moved by `strengths` (one per slider)."""
        if state is None:
            raise DemoError("Invert a photo first.")
        names = self.directions(state.model).config.names
        if len(strengths) > len(names):
            raise DemoError(f"This model has {len(names)} edit directions, got {len(strengths)} strengths.")
        edits = {names[i]: float(value) for i, value in enumerate(strengths) if value}
        pipe = self.pipelines[state.model]
        return _show(pipe(ws=state.ws, edits=edits).images[0])


def read_upload(upload) -> PIL.Image.Image:
    """An uploaded image (a file path or a PIL image) as RGB: transparency composited on white, grayscale repeated.
    Anything that is not an image, or too large to decode safely, is a [`DemoError`] saying so."""
    from ..data.images import to_rgb

    if upload is None:
        raise DemoError("Upload an image first.")
    if isinstance(upload, PIL.Image.Image):
        image = upload
    else:
        try:
            image = PIL.Image.open(upload)  # reads the header only: the size is known before any decoding
        except PIL.Image.DecompressionBombError:
            raise DemoError(_too_large("The image is")) from None
        except (OSError, ValueError):
            name = Path(str(upload)).name
            raise DemoError(f"{name} is not an image that can be read (PNG, JPEG, WebP, ...).") from None
    width, height = image.size
    if width * height > MAX_UPLOAD_PIXELS:
        raise DemoError(_too_large(f"The image is {width}x{height} pixels:"))
    try:
        image.load()
    except (OSError, ValueError) as error:
        raise DemoError(f"The image could not be decoded ({error}).") from None
    return to_rgb(image)


def _too_large(what: str) -> str:
    return f"{what} too large (at most {MAX_UPLOAD_PIXELS // 1_000_000} megapixels). Resize it and upload it again."


def _integer(what: str, value, low: int, high: int | None = None) -> int:
    """`value` as an int in [low, high], or a DemoError naming `what`."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise DemoError(f"The {what} must be a whole number, got {value!r}.") from None
    if number != int(number) or number < low or (high is not None and number > high):
        bounds = f"from {low} to {high}" if high is not None else f"at least {low}"
        raise DemoError(f"The {what} must be a whole number {bounds}, got {value!r}.")
    return int(number)


def _show(image: PIL.Image.Image) -> PIL.Image.Image:
    """A generated image upscaled to SHOW pixels without smoothing: what you see is what the model made."""
    scale = max(1, SHOW // max(image.size))
    return image.resize((image.width * scale, image.height * scale), PIL.Image.NEAREST)
