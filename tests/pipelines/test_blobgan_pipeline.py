"""BlobGANPipeline: sampling, seeded determinism, rendering edited layouts, save/load through the pipeline base."""

import numpy as np
import PIL.Image
import pytest
import torch

from hfgan import BlobGANGenerator, BlobGANPipeline, BlobLayoutNet, HfGanPipeline
from hfgan.models.blobgan.layout import REMOVED_SIZE
from hfgan.pipelines.blobgan import REFINE_LR, refine_in_space


@pytest.fixture
def pipe():
    torch.manual_seed(0)
    layout_net = BlobLayoutNet(latent_dim=8, num_blobs=3, structure_dim=4, style_dim=4, hidden_dim=16, num_layers=2)
    layout_net.compute_mean(256, generator=torch.Generator().manual_seed(0))
    generator = BlobGANGenerator(image_size=16, input_size=4, structure_dim=4, style_dim=4, channel_base=64,
                                 channel_max=8)
    pipe = BlobGANPipeline(layout_net=layout_net, generator=generator)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def seeded(seed=0):
    return torch.Generator().manual_seed(seed)


def test_output_images_and_layouts(pipe):
    output = pipe(num_images=5, generator=seeded())
    assert len(output.images) == 5 and output.images[0].size == (16, 16)
    assert len(output.layouts) == 5 and output.layouts.num_blobs == 3 and output.layouts.xs.device.type == "cpu"
    pt = pipe(num_images=2, output_type="pt", generator=seeded()).images
    assert pt.shape == (2, 3, 16, 16) and 0 <= pt.min() and pt.max() <= 1
    images, layouts = pipe(num_images=2, output_type="np", generator=seeded(), return_dict=False)
    assert images.shape == (2, 16, 16, 3) and len(layouts) == 2


def test_seeded_determinism_and_chunking(pipe):
    a = pipe(num_images=4, output_type="pt", generator=seeded(1)).images
    b = pipe(num_images=4, output_type="pt", generator=seeded(1), max_batch_size=3).images
    torch.testing.assert_close(a, b)
    assert not torch.equal(a, pipe(num_images=4, output_type="pt", generator=seeded(2)).images)


def test_a_returned_layout_renders_the_same_images(pipe):
    output = pipe(num_images=3, output_type="pt", generator=seeded())
    torch.testing.assert_close(pipe(layout=output.layouts, output_type="pt").images, output.images)
    one = pipe(layout=output.layouts[1], output_type="pt").images
    torch.testing.assert_close(one, output.images[1:2])


def test_truncation_to_the_mean_gives_one_scene(pipe):
    images = pipe(num_images=3, truncation_psi=0.0, output_type="pt", generator=seeded()).images
    torch.testing.assert_close(images[0], images[2])


def column_centroid(change: torch.Tensor) -> float:
    """x of the weighted centre of a (H, W) map, as a fraction of the width."""
    cols = (torch.arange(change.shape[1]) + 0.5) / change.shape[1]
    return float((change.sum(0) * cols).sum() / change.sum())


@pytest.mark.parametrize("dx", [0.35, -0.35])
def test_moving_a_blob_moves_the_change_the_same_way(pipe, dx):
    """One visible blob (the others removed), moved by dx: the change between the renders is centred on the
    dx side of where the blob was (it leaves its old place and appears at the new one)."""
    layout = pipe(num_images=1, generator=seeded()).layouts
    layout = layout.remove(0).remove(2)
    layout = placed(layout, 1, x=0.5 - dx / 2)
    before = pipe(layout=layout, output_type="pt").images[0]
    after = pipe(layout=layout.move(1, dx=dx), output_type="pt").images[0]
    change = (after - before).abs().sum(0)  # (H, W)
    assert change.sum() > 0.1
    shift = column_centroid(change) - float(layout.xs[0, 1])
    assert np.sign(shift) == np.sign(dx) and abs(shift) > 0.05


def placed(layout, i, x):
    """`layout` with blob i at (x, 0.5), large and round, so it clearly covers part of the 16-px image."""
    layout = layout.move(i, dx=x - float(layout.xs[0, i]), dy=0.5 - float(layout.ys[0, i]))
    return layout.resize(i, 6.0 - float(layout.sizes[0, i]))


def test_removing_every_blob_leaves_the_background(pipe):
    layout = pipe(num_images=2, generator=seeded()).layouts
    for i in range(3):
        layout = layout.remove(i)
    assert (layout.sizes == REMOVED_SIZE).all()
    images = pipe(layout=layout, output_type="pt").images
    other = pipe(num_images=2, generator=seeded(5)).layouts
    for i in range(3):
        other = other.remove(i)
    other = with_background(other, layout)
    torch.testing.assert_close(pipe(layout=other, output_type="pt").images, images)  # only the background counts


def with_background(layout, source):
    import dataclasses

    return dataclasses.replace(layout, background_structure=source.background_structure,
                               background_style=source.background_style)


def test_save_load_round_trip_through_the_base_class(pipe, tmp_path):
    pipe.save_pretrained(tmp_path / "blobgan")
    loaded = HfGanPipeline.from_pretrained(tmp_path / "blobgan")
    assert type(loaded) is BlobGANPipeline
    assert int(loaded.layout_net.mean_samples) == 256  # the truncation mean travels with the weights
    for psi in (1.0, 0.5):
        a = pipe(num_images=2, truncation_psi=psi, output_type="pt", generator=seeded()).images
        b = loaded(num_images=2, truncation_psi=psi, output_type="pt", generator=seeded()).images
        torch.testing.assert_close(a, b)


def test_bad_requests(pipe):
    layout = pipe(num_images=2, generator=seeded()).layouts
    with pytest.raises(ValueError, match="either latents .* or layout"):
        pipe(layout=layout, latents=torch.randn(2, 8))
    with pytest.raises(ValueError, match="layout must be a BlobLayout"):
        pipe(layout={"xs": layout.xs})
    with pytest.raises(ValueError, match="num_images=3 but 2 layouts were given"):
        pipe(layout=layout, num_images=3)
    with pytest.raises(ValueError, match="latents must have shape"):
        pipe(latents=torch.randn(2, 5))
    with pytest.raises(ValueError, match="layout_net makes style features of size 4, but the generator takes "
                                         "style_dim=6"):
        BlobGANPipeline(layout_net=pipe.layout_net, generator=BlobGANGenerator(
            image_size=16, input_size=4, structure_dim=4, style_dim=6, channel_base=64, channel_max=8))


# ------------------------------------------------------------------------------------------ inversion (the encoder)


def tiny_encoder(**overrides):
    from hfgan import BlobGANEncoder

    torch.manual_seed(1)
    return BlobGANEncoder(**{"image_size": 16, "num_blobs": 3, "structure_dim": 4, "style_dim": 4,
                             "channel_base": 64, "channel_max": 8, **overrides})


@pytest.fixture
def inverting(pipe):
    with_encoder = BlobGANPipeline(layout_net=pipe.layout_net, generator=pipe.generator, encoder=tiny_encoder())
    with_encoder.set_progress_bar_config(disable=True)
    return with_encoder


def test_invert_round_trip_layouts_render_the_reconstructions(inverting):
    """Invert, then render the layouts (edited or not) with pipe(layout=...): the reconstructions are those renders."""
    scenes = inverting(num_images=3, generator=seeded()).images  # PIL images
    out = inverting.invert(scenes, output_type="pt")
    assert len(out.layouts) == 3 and out.layouts.num_blobs == 3 and out.layouts.xs.device.type == "cpu"
    assert out.reconstructions.shape == (3, 3, 16, 16) and 0 <= out.reconstructions.min()
    torch.testing.assert_close(inverting(layout=out.layouts, output_type="pt").images, out.reconstructions)
    edited = inverting(layout=out.layouts[0].move(1, dx=0.25)).images[0]
    assert edited.size == (16, 16)
    # chunking changes nothing; a tuple without return_dict
    chunked = inverting.invert(scenes, output_type="pt", max_batch_size=2)
    torch.testing.assert_close(chunked.reconstructions, out.reconstructions)
    torch.testing.assert_close(chunked.layouts.xs, out.layouts.xs)
    layouts, reconstructions = inverting.invert(scenes[0], output_type="np", return_dict=False)
    assert len(layouts) == 1 and reconstructions.shape == (1, 16, 16, 3)


def test_invert_takes_every_image_kind(inverting):
    pt = torch.rand(2, 3, 16, 16, generator=seeded())
    expected = inverting.invert(pt, output_type="pt").layouts.xs
    as_uint8 = (pt * 255).round().to(torch.uint8)
    kinds = {
        "uint8 tensor": as_uint8,
        "numpy uint8 batch": as_uint8.permute(0, 2, 3, 1).numpy(),
        "PIL list": [PIL.Image.fromarray(a) for a in as_uint8.permute(0, 2, 3, 1).numpy()],
        "RGBA tensors": [torch.cat([image, torch.full((1, 16, 16), 255, dtype=torch.uint8)]) for image in as_uint8],
    }
    for kind, images in kinds.items():  # 8-bit rounding moves the layouts a little
        torch.testing.assert_close(inverting.invert(images).layouts.xs, expected, atol=2e-2, rtol=0, msg=kind)
    gray = inverting.invert(torch.rand(1, 16, 16, generator=seeded()))  # one grayscale image (C, H, W)
    assert len(gray.layouts) == 1
    with pytest.raises(ValueError, match="pixel values must"):
        inverting.invert(np.zeros((16, 16, 3), dtype=np.int32))


def test_invert_resizes_images_of_another_size_with_a_warning(inverting):
    image = torch.rand(3, 32, 48, generator=seeded())  # (C, H, W): not square, not 16 px
    with pytest.warns(UserWarning, match=r"takes 16x16 images; images of size 32x48 \(height x width\) were "
                                         r"center-cropped to a square and resized to 16x16"):
        out = inverting.invert(image, output_type="pt")
    assert out.reconstructions.shape == (1, 3, 16, 16)
    crop = torch.nn.functional.interpolate(image[None, :, :, 8:40], size=(16, 16), mode="bilinear", antialias=True)
    torch.testing.assert_close(inverting.invert(crop.clamp(0, 1), output_type="pt").layouts.xs, out.layouts.xs)


def test_refinement_brings_reconstructions_closer_and_leaves_the_networks_alone(inverting):
    """num_refine_steps optimises each image's layout toward it: the error falls with steps, chunking changes nothing,
    the generator gets no gradients, and the layouts still render the reconstructions."""
    scenes = inverting(num_images=3, output_type="pt", generator=seeded(5)).images  # targets G can render exactly
    before = {name: p.detach().clone() for name, p in inverting.generator.named_parameters()}
    errors = {}
    for steps in (0, 10, 40):
        out = inverting.invert(scenes, num_refine_steps=steps, output_type="pt")
        errors[steps] = (out.reconstructions - scenes).pow(2).mean().item()
    assert errors[40] < errors[10] < errors[0], errors
    chunked = inverting.invert(scenes, num_refine_steps=10, output_type="pt", max_batch_size=2)
    whole = inverting.invert(scenes, num_refine_steps=10, output_type="pt")
    torch.testing.assert_close(chunked.reconstructions, whole.reconstructions)
    torch.testing.assert_close(inverting(layout=whole.layouts, output_type="pt").images, whole.reconstructions)
    for name, p in inverting.generator.named_parameters():
        assert p.grad is None and torch.equal(p, before[name]), name
    # a perceptual distance joins the refinement's loss
    calls = []

    def mean_colour(a, b):
        calls.append(len(a))
        return (a.mean(dim=(2, 3)) - b.mean(dim=(2, 3))).pow(2).sum(1)

    inverting.invert(scenes, num_refine_steps=2, perceptual=mean_colour, output_type="pt")
    assert calls == [3, 3]
    for bad in ({"num_refine_steps": -1}, {"num_refine_steps": 1.5}, {"refine_lr": 0}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            inverting.invert(scenes, **bad)


def test_refinement_in_the_hidden_space(inverting):
    """refine_space="hidden" refines the layout network's last hidden vector from the encoder's answer projected onto
    it: the error falls with steps, chunking changes nothing, no network gets gradients or changes, the default
    learning rate is the space's own; a shared blob head or an unknown space is a clear error."""
    scenes = inverting(num_images=3, output_type="pt", generator=seeded(5)).images
    networks = {"generator": inverting.generator, "layout_net": inverting.layout_net}
    before = {(n, k): p.detach().clone() for n, m in networks.items() for k, p in m.named_parameters()}
    errors = {}
    for steps in (0, 10, 40):
        out = inverting.invert(scenes, num_refine_steps=steps, refine_space="hidden", output_type="pt")
        errors[steps] = (out.reconstructions - scenes).pow(2).mean().item()
    assert errors[40] < errors[10] < errors[0], errors
    chunked = inverting.invert(scenes, num_refine_steps=10, refine_space="hidden", output_type="pt", max_batch_size=2)
    whole = inverting.invert(scenes, num_refine_steps=10, refine_space="hidden", output_type="pt")
    torch.testing.assert_close(chunked.reconstructions, whole.reconstructions)
    torch.testing.assert_close(inverting(layout=whole.layouts, output_type="pt").images, whole.reconstructions)
    raw = inverting.invert(scenes, num_refine_steps=10, output_type="pt")
    assert not torch.allclose(raw.reconstructions, whole.reconstructions)  # another space, another answer
    explicit = inverting.invert(scenes, num_refine_steps=10, refine_space="hidden", output_type="pt",
                                refine_lr=REFINE_LR["hidden"])
    torch.testing.assert_close(explicit.reconstructions, whole.reconstructions)
    for (n, k), value in before.items():
        p = dict(networks[n].named_parameters())[k]
        assert p.grad is None and torch.equal(p, value), (n, k)
    with pytest.raises(ValueError, match="refine_space must be one of 'raw', 'hidden', got 'z'"):
        inverting.invert(scenes, refine_space="z")
    shared = BlobLayoutNet(latent_dim=8, num_blobs=3, structure_dim=4, style_dim=4, hidden_dim=16, num_layers=2,
                           shared_blob_head=True)
    other = BlobGANPipeline(layout_net=shared, generator=inverting.generator, encoder=inverting.encoder)
    with pytest.raises(ValueError, match="needs the layout network's default blob head"):
        other.invert(scenes, num_refine_steps=1, refine_space="hidden")


def test_refine_in_space_returns_raw_layouts_of_the_space(inverting):
    """refine_in_space gives raw vectors: from the hidden space, ones the output layers can make (projecting them
    back changes nothing), which the raw space's need not be; both lower the error; an unknown space is an error."""
    scenes = inverting(num_images=3, output_type="pt", generator=seeded(5)).images * 2 - 1  # (3, 3, 16, 16)
    net, gen = inverting.layout_net, inverting.generator
    noise = torch.randn(3, inverting.encoder.raw_dim, generator=seeded(1))
    start = inverting.encoder(scenes).raw.detach() + 0.3 * noise  # (3, raw_dim), off the encoder's answers

    def error(raw):
        return (gen(net.decode(raw), noise_mode="const").sample - scenes).pow(2).mean().item()

    for space in REFINE_LR:
        raw = refine_in_space(gen, net, start, scenes, 30, REFINE_LR[space], space)
        assert raw.shape == start.shape and not raw.requires_grad and error(raw) < error(start), space
        kept = net.hidden_to_raw(net.project_to_hidden(raw))
        assert torch.allclose(kept, raw, atol=1e-4) == (space == "hidden"), space
    with pytest.raises(ValueError, match="space must be one of 'raw', 'hidden', got 'z'"):
        refine_in_space(gen, net, start, scenes, 1, 0.1, "z")


def test_invert_without_an_encoder_is_a_clear_error(pipe):
    with pytest.raises(ValueError, match="has no encoder, so it cannot invert images: .*train_inversion.py"):
        pipe.invert(torch.rand(1, 3, 16, 16))
    with pytest.raises(ValueError, match="encoder must be a BlobGANEncoder or None"):
        BlobGANPipeline(layout_net=pipe.layout_net, generator=pipe.generator, encoder=pipe.generator)


def test_a_mismatched_encoder_is_refused(pipe):
    with pytest.raises(ValueError, match="num_blobs=4 here but 3 in the BlobLayoutNet"):
        BlobGANPipeline(layout_net=pipe.layout_net, generator=pipe.generator, encoder=tiny_encoder(num_blobs=4))
    with pytest.raises(ValueError, match="image_size=32 here but 16 in the BlobGANGenerator"):
        BlobGANPipeline(layout_net=pipe.layout_net, generator=pipe.generator, encoder=tiny_encoder(image_size=32))


def test_save_and_load_with_and_without_the_encoder(pipe, inverting, tmp_path):
    import json

    from hfgan import BlobGANEncoder

    inverting.save_pretrained(tmp_path / "with")
    loaded = HfGanPipeline.from_pretrained(tmp_path / "with")
    assert type(loaded) is BlobGANPipeline and isinstance(loaded.encoder, BlobGANEncoder)
    images = torch.rand(2, 3, 16, 16, generator=seeded())
    a, b = inverting.invert(images, output_type="pt"), loaded.invert(images, output_type="pt")
    torch.testing.assert_close(a.reconstructions, b.reconstructions, rtol=0, atol=0)

    pipe.save_pretrained(tmp_path / "without")
    assert not (tmp_path / "without" / "encoder").exists()
    assert HfGanPipeline.from_pretrained(tmp_path / "without").encoder is None
    # a folder saved before the encoder existed: no "encoder" entry in model_index.json at all
    index_file = tmp_path / "without" / "model_index.json"
    index = json.loads(index_file.read_text())
    del index["encoder"]
    index_file.write_text(json.dumps(index))
    old = HfGanPipeline.from_pretrained(tmp_path / "without")
    assert old.encoder is None
    torch.testing.assert_close(old(num_images=2, output_type="pt", generator=seeded()).images,
                               pipe(num_images=2, output_type="pt", generator=seeded()).images)
    # an encoder added to a loaded pipeline, as a user would
    added = BlobGANPipeline.from_pretrained(tmp_path / "without", encoder=loaded.encoder)
    torch.testing.assert_close(added.invert(images, output_type="pt").reconstructions, b.reconstructions)


def test_the_card_shows_invert_only_with_an_encoder(pipe, inverting):
    from hfgan.cards import render_model_card

    without = str(render_model_card(pipe, "user/blobgan"))
    assert "pipe.invert(" not in without and "encoder" not in without  # an absent component is not listed
    card = str(render_model_card(inverting, "user/blobgan"))
    assert "pipe.invert(" in card and card.count("# pip install hfgan") == 1
    assert "`encoder` (BlobGANEncoder)" in card


def test_the_card_snippet_with_an_encoder_runs(tmp_path, monkeypatch):
    """The model card's usage, run as written (10 blobs: it edits blobs 2 and 5), against a saved folder."""
    from hfgan import BlobGANEncoder
    from hfgan.cards import render_model_card

    torch.manual_seed(0)
    sizes = dict(num_blobs=10, structure_dim=4, style_dim=4)
    layout_net = BlobLayoutNet(latent_dim=8, hidden_dim=16, num_layers=2, **sizes)
    generator = BlobGANGenerator(image_size=16, input_size=4, structure_dim=4, style_dim=4, channel_base=64,
                                 channel_max=8)
    encoder = BlobGANEncoder(image_size=16, channel_base=64, channel_max=8, **sizes)
    BlobGANPipeline(layout_net=layout_net, generator=generator, encoder=encoder).save_pretrained(tmp_path / "pipe")
    card = str(render_model_card(HfGanPipeline.from_pretrained(tmp_path / "pipe"), str(tmp_path / "pipe")))
    snippet = card.split("```python")[1].split("```")[0]
    monkeypatch.chdir(tmp_path)
    exec(compile(snippet, "model card usage", "exec"), {})  # noqa: S102 - our own card
    written = {p.name for p in tmp_path.iterdir()}
    assert {"scene.png", "edited.png", "reconstruction.png", "inverted_edited.png"} <= written
