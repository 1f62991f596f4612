"""The web demo's page: one Gradio app with a tab per thing the zoo does (sample, classify, edit blobs, invert and
edit). The work is done by [`DemoModels`]; this module lays it out. Needs `pip install hfgan[demo]`."""

from __future__ import annotations

import functools
import logging

from .models import EDITS, MAX_IMAGES, MAX_INVERT_STEPS, MAX_REFINE_STEPS, NUM_DIRECTIONS, DemoError, DemoModels

logger = logging.getLogger(__name__)

INTRO = """# hfgan zoo
GANs from [hfgan](https://pypi.org/project/hfgan/), running on this machine's CPU. **Sample** a DCGAN or a BlobGAN,
**classify** an image with a GAN discriminator trained mostly without labels, move, resize, remove, restyle and
duplicate the **blobs** of a BlobGAN scene, **invert** your own image into blobs and edit it, or **edit a photo** with
a StyleGAN: invert it into w, then move it along edit directions. Each edit re-renders with one generator forward."""


def import_gradio():
    try:
        import gradio as gr
    except ImportError:
        raise ImportError("the web demo needs gradio: pip install 'hfgan[demo]'") from None
    return gr


def shown_in_page(fn):
    """A handler whose failures reach the page as a message, never as a stack trace: a `DemoError` as it is, anything
    else named and logged."""
    gr = import_gradio()

    @functools.wraps(fn)
    def handler(*args):
        try:
            return fn(*args)
        except DemoError as error:
            raise gr.Error(str(error), print_exception=False) from None
        except Exception as error:  # noqa: BLE001 - the page says what failed; the log keeps the traceback
            logger.exception("demo handler %s failed", fn.__name__)
            raise gr.Error(f"Something went wrong ({type(error).__name__}: {error}).") from None

    return handler


def build_demo(sources: list[str] | None = None, device: str = "cpu", models: DemoModels | None = None):
    """The Gradio app (a `gr.Blocks`) serving the releases in `sources` (release folders, zoo folders or Hub repo ids;
    default: `hfgan.demo.models.default_sources()`), or the already loaded `models`. Launch it with `.launch()`.

    Every button is also an API endpoint (`sample`, `classify`, `scene`, `edit`, `undo`, `reset`, `invert`,
    `invert_edit`, `invert_undo`, `invert_reset`, `invert_photo`, `edit_photo`), for `gradio_client`."""
    gr = import_gradio()
    models = models if models is not None else DemoModels(sources, device=device)

    def first(names):
        return names[0] if names else None

    def none_note(names, what):
        if not names:
            gr.Markdown(f"**No {what} is loaded**, so this tab has nothing to run. {models.status()}")

    with gr.Blocks(title="hfgan zoo") as demo:
        gr.Markdown(INTRO)
        gr.Markdown(models.status())
        with gr.Tabs():
            with gr.Tab("Sample", id="sample"):
                none_note(models.generators, "generator")
                with gr.Row():
                    model = gr.Dropdown(models.generators, value=first(models.generators), label="Model")
                    count = gr.Slider(1, MAX_IMAGES, value=16, step=1, label="Images")
                    seed = gr.Number(0, precision=0, label="Seed (the same seed, the same grid)")
                button = gr.Button("Sample", variant="primary")
                grid = gr.Image(label="Samples", type="pil", format="png", interactive=False)
                button.click(shown_in_page(models.sample), [model, count, seed], grid, api_name="sample")
                if models.generators:  # a grid is there when the page opens
                    demo.load(shown_in_page(models.sample), [model, count, seed], grid, api_name=False)

            with gr.Tab("Classify", id="classify"):
                none_note(models.classifiers, "classifier")
                with gr.Row():
                    model = gr.Dropdown(models.classifiers, value=first(models.classifiers), label="Model")
                    top_k = gr.Slider(1, 10, value=5, step=1, label="Labels shown")
                with gr.Row():
                    upload = uploader(gr, models)
                    labels = gr.Label(label="Labels")
                button = gr.Button("Classify", variant="primary")
                button.click(shown_in_page(models.classify), [model, upload, top_k], labels, api_name="classify")

            with gr.Tab("Blobs", id="blobs"):
                none_note(models.blobgans, "BlobGAN release")
                with gr.Row():
                    model = gr.Dropdown(models.blobgans, value=first(models.blobgans), label="Model")
                    seed = gr.Number(0, precision=0, label="Seed")
                    button = gr.Button("New scene", variant="primary")
                scene = editor(gr, models, prefix="")
                button.click(shown_in_page(models.scene), [model, seed], scene, api_name="scene")
                if models.blobgans:  # a scene to edit is there when the page opens
                    demo.load(shown_in_page(models.scene), [model, seed], scene, api_name=False)

            with gr.Tab("Invert and edit", id="invert"):
                none_note(models.inverters, "BlobGAN release with an encoder")
                with gr.Row():
                    model = gr.Dropdown(models.inverters, value=first(models.inverters), label="Model")
                    steps = gr.Slider(0, MAX_REFINE_STEPS, value=100, step=10, label="Refinement steps after "
                                      "the encoder (closer to the image, slower, less editable)")
                    space = gr.Radio(["raw", "hidden"], value="raw", label="Refine in: raw (closest) or hidden "
                                     "(the layout network's own layouts: more steps, more editable)")
                with gr.Row():
                    upload = uploader(gr, models)
                button = gr.Button("Invert", variant="primary")
                scene = editor(gr, models, prefix="invert_")
                button.click(shown_in_page(models.invert), [model, upload, steps, space], scene, api_name="invert")

            with gr.Tab("Edit a photo", id="photo"):
                none_note(models.photo_editors, "StyleGAN release")
                photo_editor(gr, models, first(models.photo_editors))
    return demo


def photo_editor(gr, models: DemoModels, default: str | None):
    """Upload, invert into w (a progress bar, a step budget), sliders along the release's edit directions (its own,
    or SeFa's), the edited image (with gradio's download button)."""
    names = list(models.directions(default).config.names[:NUM_DIRECTIONS]) if default else []
    names += [f"direction {i}" for i in range(len(names), NUM_DIRECTIONS)]
    with gr.Row():
        model = gr.Dropdown(models.photo_editors, value=default, label="Model")
        steps = gr.Slider(10, MAX_INVERT_STEPS, value=100, step=10, label="Inversion steps (closer to the photo, "
                          "slower)")
    with gr.Row():
        upload = uploader(gr, models)
    button = gr.Button("Invert", variant="primary")
    state = gr.State(None)
    with gr.Row():
        reconstruction = gr.Image(label="Inverted (the model's version of the photo)", type="pil", format="png",
                                  interactive=False)
        edited = gr.Image(label="Edited", type="pil", format="png", interactive=False)
    sliders = [gr.Slider(-10, 10, value=0, step=0.5, label=name) for name in names]
    apply = gr.Button("Apply the sliders")

    def invert_photo(name, photo, num_steps, progress=gr.Progress(track_tqdm=True)):  # noqa: B008 - gradio's API
        return shown_in_page(models.invert_photo)(name, photo, num_steps)

    button.click(invert_photo, [model, upload, steps], [reconstruction, state], api_name="invert_photo")
    apply.click(shown_in_page(models.edit_photo), [state, *sliders], edited, api_name="edit_photo")


def uploader(gr, models: DemoModels):
    """An upload box and beside it a preview of what the models will see; returns the upload box. A file, not
    gr.Image: gradio would decode an upload itself before any handler runs, so a file that is not an image, or a huge
    one, would fail without a message."""
    upload = gr.File(label="Your image (PNG, JPEG, WebP, ...)", type="filepath")
    preview = gr.Image(label="As the model sees it (RGB)", type="pil", format="png", interactive=False)
    upload.change(shown_in_page(models.preview), upload, preview, api_name=False)
    return upload


def editor(gr, models: DemoModels, prefix: str):
    """The scene (image beside its blobs) and the editing controls; returns the outputs a new scene fills:
    `[image, blobs, state]`."""
    state = gr.State(None)
    with gr.Row():
        image = gr.Image(label="Image", type="pil", format="png", interactive=False)
        blobs = gr.Image(label="Blobs (numbered)", type="pil", format="png", interactive=False)
    with gr.Row():
        action = gr.Radio(list(EDITS), value="move", label="Edit")
        blob = gr.Number(0, precision=0, label="Blob")
        donor = gr.Number(1, precision=0, label="Restyle: take the style of blob")
    with gr.Row():
        dx = gr.Slider(-0.5, 0.5, value=0.2, step=0.05, label="Move / duplicate: dx (image widths)")
        dy = gr.Slider(-0.5, 0.5, value=0.0, step=0.05, label="dy (image heights)")
        ds = gr.Slider(-3, 3, value=1.0, step=0.25, label="Resize: size change (log scale)")
    with gr.Row():
        apply = gr.Button("Apply edit", variant="primary")
        undo = gr.Button("Undo")
        reset = gr.Button("Back to the scene")
    scene = [image, blobs, state]
    apply.click(shown_in_page(models.edit), [state, action, blob, dx, dy, ds, donor], scene, api_name=f"{prefix}edit")
    undo.click(shown_in_page(models.undo), [state], scene, api_name=f"{prefix}undo")
    reset.click(shown_in_page(models.reset), [state], scene, api_name=f"{prefix}reset")
    return scene
