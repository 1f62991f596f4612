"""The Gradio app launched on a local port and driven through gradio_client, the real client: every endpoint
answers with images or labels, the editing state lives in the session, and bad uploads come back as messages."""

import socket
import subprocess
import sys

import numpy as np
import PIL.Image
import pytest

gradio_client = pytest.importorskip("gradio_client")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app(demo_models):
    from hfgan.demo import build_demo

    demo = build_demo(models=demo_models)
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    yield f"http://127.0.0.1:{port}/"
    demo.close()


@pytest.fixture
def client(app):
    return gradio_client.Client(app, verbose=False)


def opened(path) -> np.ndarray:
    with PIL.Image.open(path) as image:
        return np.asarray(image.convert("RGB")).copy()


def test_the_endpoints_are_named(client):
    endpoints = set(client.view_api(return_format="dict", print_info=False)["named_endpoints"])
    assert {"/sample", "/classify", "/scene", "/edit", "/undo", "/reset", "/invert", "/invert_edit", "/invert_undo",
            "/invert_reset", "/invert_photo", "/edit_photo"} <= endpoints


def test_sample_through_the_client(client, demo_models):
    grid = opened(client.predict("dcgan", 4, 5, api_name="/sample"))
    assert grid.shape == (512, 512, 3)
    assert np.array_equal(grid, np.asarray(demo_models.sample("dcgan", 4, 5)))  # the same seed, the same grid
    assert not np.array_equal(grid, opened(client.predict("dcgan", 4, 6, api_name="/sample")))


def test_classify_through_the_client(client, demo_models, images):
    answer = client.predict("classifier", gradio_client.handle_file(str(images["rgba"])), 3, api_name="/classify")
    expected = demo_models.classify("classifier", str(images["rgba"]), top_k=3)
    assert [c["label"] for c in answer["confidences"]] == list(expected)
    assert answer["label"] == next(iter(expected))


def test_blob_editing_keeps_its_state_in_the_session(client, demo_models):
    image, blobs = client.predict("blobgan", 3, api_name="/scene")
    start = opened(image)
    assert start.shape == opened(blobs).shape == (256, 256, 3)
    moved, _ = client.predict("move", 1, 0.25, -0.1, 0.0, 0, api_name="/edit")
    _, _, state = demo_models.scene("blobgan", 3)
    assert np.array_equal(opened(moved), np.asarray(demo_models.edit(state, "move", 1, 0.25, -0.1)[0]))
    client.predict("remove", 0, 0, 0, 0, 0, api_name="/edit")
    undone, _ = client.predict(api_name="/undo")
    assert np.array_equal(opened(undone), opened(moved))
    reset, _ = client.predict(api_name="/reset")
    assert np.array_equal(opened(reset), start)
    other = gradio_client.Client(client.src, verbose=False)  # another visitor has no scene yet
    with pytest.raises(gradio_client.exceptions.AppError, match="Make a scene first"):
        other.predict("move", 0, 0.1, 0, 0, 0, api_name="/edit")


def test_invert_and_edit_through_the_client(client, images):
    reconstruction, blobs = client.predict("blobgan", gradio_client.handle_file(str(images["gray"])), 10,
                                           api_name="/invert")
    assert opened(reconstruction).shape == (256, 256, 3) and opened(blobs).shape == (256, 256, 3)
    edited, _ = client.predict("duplicate", 0, 0.2, 0.1, 0, 0, api_name="/invert_edit")
    assert not np.array_equal(opened(edited), opened(reconstruction))
    back, _ = client.predict(api_name="/invert_reset")
    assert np.array_equal(opened(back), opened(reconstruction))
    hidden, _ = client.predict("blobgan", gradio_client.handle_file(str(images["gray"])), 10, "hidden",
                               api_name="/invert")  # refined in the layout network's hidden space: another layout
    assert not np.array_equal(opened(hidden), opened(reconstruction))


@pytest.mark.parametrize(
    "upload, message",
    [("text", "notes.png is not an image that can be read"), ("huge", "8000x6000 pixels: too large")],
)
def test_bad_uploads_come_back_as_messages(client, images, upload, message):
    file = gradio_client.handle_file(str(images[upload]))
    for args, endpoint in (((file, 3), "/classify"), ((file, 0), "/invert")):
        with pytest.raises(gradio_client.exceptions.AppError, match=message):
            client.predict("classifier" if endpoint == "/classify" else "blobgan", *args, api_name=endpoint)


def test_importing_the_demo_needs_no_gradio():
    code = "import sys, hfgan.demo; from hfgan.demo import DemoModels; assert 'gradio' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_without_gradio_the_error_says_how_to_get_it(monkeypatch):
    from hfgan.demo import build_demo

    monkeypatch.setitem(sys.modules, "gradio", None)  # import gradio now raises ImportError
    with pytest.raises(ImportError, match=r"pip install 'hfgan\[demo\]'"):
        build_demo(sources=[])


def test_hfgan_demo_command_serves_the_given_models(tiny_zoo, monkeypatch):
    import gradio as gr

    from hfgan.cli import main

    launched = {}

    def launch(self, **kwargs):
        launched.update(kwargs, status=str(self.config))

    monkeypatch.setattr(gr.Blocks, "launch", launch)
    assert main(["demo", str(tiny_zoo / "dcgan"), "--port", "7999", "--host", "0.0.0.0"]) == 0
    assert launched["server_port"] == 7999 and launched["server_name"] == "0.0.0.0" and not launched["share"]
    assert "Serving 1 release(s): dcgan" in launched["status"]


def test_hfgan_demo_without_gradio_says_how_to_get_it(monkeypatch, capsys):
    from hfgan.cli import main

    monkeypatch.setitem(sys.modules, "gradio", None)
    assert main(["demo"]) == 2
    assert "pip install 'hfgan[demo]'" in capsys.readouterr().err


def test_edit_a_photo_through_the_client(client, images):
    """The state (the photo's w) stays in the session between the two calls."""
    photo = gradio_client.handle_file(str(images["rgb"]))
    reconstruction = opened(client.predict("stylegan", photo, 20, api_name="/invert_photo"))
    assert reconstruction.shape == (256, 256, 3)
    edited = opened(client.predict(4, 0, 0, 0, 0, api_name="/edit_photo"))
    assert edited.shape == (256, 256, 3) and not np.array_equal(edited, reconstruction)
