"""The demo's functions called directly (no web): roles, sampling, classifying, editing blobs, inverting, and a
message for every bad request."""

import numpy as np
import PIL.Image
import pytest
import torch

from hfgan.demo import BlobEdits, DemoError, DemoModels


def pixels(image: PIL.Image.Image) -> np.ndarray:
    return np.asarray(image).copy()


def test_releases_are_sorted_by_role_and_a_broken_one_is_reported(demo_models):
    assert set(demo_models.pipelines) == {"dcgan", "classifier", "blobgan", "stylegan"}
    assert demo_models.generators == ["blobgan", "dcgan", "stylegan"] and demo_models.classifiers == ["classifier"]
    assert demo_models.blobgans == ["blobgan"] and demo_models.inverters == ["blobgan"]
    assert demo_models.photo_editors == ["stylegan"]
    assert set(demo_models.missing) == {"broken"} and "NoSuchPipeline" in demo_models.missing["broken"]
    status = demo_models.status()
    assert "Serving 4 release(s)" in status and "Could not load `broken`" in status


def test_release_folders_and_repo_ids_are_sources_too(tiny_zoo):
    models = DemoModels([str(tiny_zoo / "dcgan"), str(tiny_zoo / "nowhere"), "no-such-user/no-such-repo"])
    assert list(models.pipelines) == ["dcgan"]
    assert set(models.missing) == {str(tiny_zoo / "nowhere"), "no-such-user/no-such-repo"}


def test_no_models_says_how_to_give_some():
    models = DemoModels([])
    assert "No models given" in models.status()
    with pytest.raises(DemoError, match="No generator is loaded"):
        models.sample(None, 4, 0)


def test_sample_same_seed_same_grid(demo_models):
    for name in demo_models.generators:
        grid = demo_models.sample(name, 4, 7)
        assert grid.size == (512, 512)  # 2x2 samples of 16 px, each shown at 256 px
        assert np.array_equal(pixels(grid), pixels(demo_models.sample(name, 4, 7)))
        assert not np.array_equal(pixels(grid), pixels(demo_models.sample(name, 4, 8)))


@pytest.mark.parametrize(
    "args, message",
    [
        (("dcgan", 0, 0), "number of images must be a whole number from 1 to 64"),
        (("dcgan", 65, 0), "number of images"),
        (("dcgan", 4, -1), "seed must be a whole number at least 0"),
        (("dcgan", 4, 1.5), "seed"),
        (("dcgan", 4, "x"), "seed must be a whole number"),
        (("classifier", 4, 0), "Choose a generator: blobgan, dcgan"),
        ((None, 4, 0), "Choose a generator"),
    ],
)
def test_bad_sample_requests_are_messages(demo_models, args, message):
    with pytest.raises(DemoError, match=message):
        demo_models.sample(*args)


def test_classify_every_image_kind(demo_models, images):
    direct = demo_models.pipelines["classifier"](PIL.Image.open(images["rgb"]), top_k=3)
    labels = demo_models.classify("classifier", str(images["rgb"]), top_k=3)
    assert list(labels) == [p["label"] for p in direct] and len(labels) == 3
    assert all(0 <= s <= 1 for s in labels.values()) and list(labels.values()) == sorted(labels.values())[::-1]
    for kind in ("rgba", "gray", "palette", "jpeg"):
        assert len(demo_models.classify("classifier", str(images[kind]), top_k=4)) == 4, kind
    assert len(demo_models.classify("classifier", PIL.Image.open(images["rgb"]))) == 4  # a PIL image too


@pytest.mark.parametrize(
    "upload, message",
    [
        (None, "Upload an image first"),
        ("text", "notes.png is not an image that can be read"),
        ("huge", "The image is 8000x6000 pixels: too large"),
    ],
)
def test_bad_uploads_are_messages(demo_models, images, upload, message):
    upload = images[upload] if upload else None
    with pytest.raises(DemoError, match=message):
        demo_models.classify("classifier", upload)
    with pytest.raises(DemoError, match=message):
        demo_models.invert("blobgan", upload)


def test_blob_edits_render_with_one_forward_and_undo(demo_models):
    pipe = demo_models.pipelines["blobgan"]
    image, blobs, state = demo_models.scene("blobgan", 3)
    assert isinstance(state, BlobEdits) and state.num_blobs == 3 and image.size == blobs.size == (256, 256)
    expected = pipe(num_images=1, generator=torch.Generator().manual_seed(3))
    assert np.array_equal(pixels(image.resize((16, 16), PIL.Image.NEAREST)), pixels(expected.images[0]))

    moved, _, state1 = demo_models.edit(state, "move", 1, 0.25, -0.1)
    rendered = pipe(layout=expected.layouts.move(1, dx=0.25, dy=-0.1)).images[0]  # the same edit by hand
    assert np.array_equal(pixels(moved.resize((16, 16), PIL.Image.NEAREST)), pixels(rendered))
    _, _, state2 = demo_models.edit(state1, "duplicate", 0, 0.1, 0.1)
    assert state2.num_blobs == 4 and state1.num_blobs == 3  # a new state each edit; the old one is unchanged
    _, _, state3 = demo_models.edit(state2, "restyle", 3, donor=1)
    torch.testing.assert_close(state3.layout.style[:, 3], state3.layout.style[:, 1])
    _, _, state4 = demo_models.edit(state3, "resize", 2, ds=-1.0)
    _, _, state5 = demo_models.edit(state4, "remove", 0)
    assert len(state5.history) == 5

    back, _, undone = demo_models.undo(state5)
    assert undone.layout is state4.layout and len(undone.history) == 4
    start, _, reset = demo_models.reset(state5)
    assert reset.history == () and np.array_equal(pixels(start), pixels(image))


@pytest.mark.parametrize(
    "edit, message",
    [
        (("move", 3), "blob must be a whole number from 0 to 2"),
        (("move", -1), "blob must be"),
        (("restyle", 0, 0, 0, 0, 5), "donor blob must be a whole number from 0 to 2"),
        (("paint", 0), "Unknown edit 'paint': choose one of move, resize, remove, restyle, duplicate"),
    ],
)
def test_bad_edits_are_messages(demo_models, edit, message):
    _, _, state = demo_models.scene("blobgan", 0)
    with pytest.raises(DemoError, match=message):
        demo_models.edit(state, *edit)


def test_edits_need_a_scene(demo_models):
    for call in (lambda: demo_models.edit(None, "move", 0), lambda: demo_models.undo(None),
                 lambda: demo_models.reset(None)):
        with pytest.raises(DemoError, match="make a scene first|Make a scene first"):
            call()


def test_invert_an_upload_then_edit_it(demo_models, images):
    pipe = demo_models.pipelines["blobgan"]
    reconstruction, blobs, state = demo_models.invert("blobgan", str(images["rgba"]), 0)
    direct = pipe.invert(PIL.Image.open(images["rgba"]).convert("RGBA"), output_type="pil")
    torch.testing.assert_close(state.layout.xs, direct.layouts.xs, atol=1e-5, rtol=0)
    refined = demo_models.invert("blobgan", str(images["rgb"]), 20)[2]
    encoded = demo_models.invert("blobgan", str(images["rgb"]), 0)[2]
    assert not torch.equal(refined.layout.xs, encoded.layout.xs)
    hidden = demo_models.invert("blobgan", str(images["rgb"]), 20, "hidden")[2]
    direct = pipe.invert(PIL.Image.open(images["rgb"]), num_refine_steps=20, refine_space="hidden")
    torch.testing.assert_close(hidden.layout.xs, direct.layouts.xs, atol=1e-5, rtol=0)
    assert not torch.allclose(hidden.layout.xs, refined.layout.xs)
    with pytest.raises(DemoError, match="Refine in one of raw, hidden"):
        demo_models.invert("blobgan", str(images["rgb"]), 20, "z")
    edited, _, state = demo_models.edit(state, "move", 0, 0.2)
    assert edited.size == (256, 256) and len(state.history) == 1
    with pytest.raises(DemoError, match="refinement steps must be a whole number from 0 to 500"):
        demo_models.invert("blobgan", str(images["rgb"]), 501)
    with pytest.raises(DemoError, match="Choose a BlobGAN release with an encoder: blobgan"):
        demo_models.invert("dcgan", str(images["rgb"]))


def test_two_releases_of_one_name_go_by_their_paths(tiny_zoo, tmp_path):
    import shutil

    shutil.copytree(tiny_zoo / "dcgan", tmp_path / "run" / "dcgan")
    models = DemoModels([str(tiny_zoo / "dcgan"), str(tmp_path / "run" / "dcgan")])
    assert list(models.pipelines) == [str(tiny_zoo / "dcgan"), str(tmp_path / "run" / "dcgan")]


def test_a_stylegan_release_is_a_generator(tmp_path):
    from hfgan import StyleGAN3Generator, StyleGANPipeline

    generator = StyleGAN3Generator(z_dim=8, w_dim=8, img_resolution=16, channel_base=256, channel_max=8,
                                   num_layers=4, num_critical=1, margin_size=2)
    StyleGANPipeline(generator=generator).save_pretrained(tmp_path / "stylegan3")
    models = DemoModels([str(tmp_path / "stylegan3")])
    assert models.generators == ["stylegan3"] and not models.missing
    grid = models.sample("stylegan3", 4, 7)
    assert grid.size[0] > 0 and np.array_equal(pixels(grid), pixels(models.sample("stylegan3", 4, 7)))


def test_edit_a_photo(demo_models, images):
    """Invert an upload into w, then the sliders move it along the release's directions (SeFa's, as it has none)."""
    assert demo_models.directions("stylegan").config.method == "sefa"
    reconstruction, state = demo_models.invert_photo("stylegan", str(images["gray"]), 20)
    assert reconstruction.size == (256, 256) and state.ws.shape == (1, 6, 8)
    unedited = demo_models.edit_photo(state, 0, 0, 0, 0, 0)
    assert np.array_equal(pixels(unedited), pixels(reconstruction))  # no edit: the reconstruction itself
    assert not np.array_equal(pixels(demo_models.edit_photo(state, 5, 0, 0, 0, 0)), pixels(reconstruction))
    with pytest.raises(DemoError, match="Invert a photo first"):
        demo_models.edit_photo(None, 1)
    with pytest.raises(DemoError, match="number of steps"):
        demo_models.invert_photo("stylegan", str(images["gray"]), 0)
    with pytest.raises(DemoError, match="not an image"):
        demo_models.invert_photo("stylegan", str(images["text"]), 20)
    with pytest.raises(DemoError, match="Choose a StyleGAN release"):
        demo_models.invert_photo("dcgan", str(images["gray"]), 20)


def test_a_release_with_an_encoder_starts_the_photo_inversion_at_its_answer(tmp_path, images):
    from hfgan import StyleGAN2Generator, StyleGANEncoder, StyleGANPipeline
    from hfgan.demo.models import read_upload

    torch.manual_seed(0)
    generator = StyleGAN2Generator(z_dim=8, w_dim=8, img_resolution=16, mapping_layers=2, channel_base=64,
                                   channel_max=8)
    pipe = StyleGANPipeline(generator=generator,
                            encoder=StyleGANEncoder.for_generator(generator, channel_base=64, channel_max=8))
    pipe.save_pretrained(tmp_path / "encoded")
    models = DemoModels([str(tmp_path / "encoded")])
    # one step: the learning rate's ramp starts at zero, so the w returned is where the optimisation started
    _, state = models.invert_photo("encoded", str(images["rgb"]), 1)
    with pytest.warns(UserWarning, match="resized"):
        encoded = pipe.invert(read_upload(str(images["rgb"])), method="encoder").ws
    torch.testing.assert_close(state.ws, encoded.mean(1, keepdim=True).expand_as(encoded))
