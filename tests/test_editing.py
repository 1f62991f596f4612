"""hfgan.editing: SeFa, GANSpace, InterFaceGAN and StyleSpace directions, their save/load, and edits through
StyleGANPipeline."""

import pytest
import torch

from hfgan import HfGanPipeline, StyleGAN2Generator, StyleGAN3Generator, StyleGANPipeline
from hfgan.editing import (
    EditDirections,
    ganspace_directions,
    interfacegan_direction,
    sefa_directions,
    style_affines,
    style_codes,
    stylespace_directions,
)


def stylegan2(**overrides):
    torch.manual_seed(0)
    return StyleGAN2Generator(**{**dict(z_dim=8, w_dim=8, img_resolution=16, mapping_layers=2, channel_base=64,
                                        channel_max=8), **overrides}).eval()


def stylegan3():
    torch.manual_seed(0)
    return StyleGAN3Generator(z_dim=8, w_dim=8, img_resolution=16, channel_base=256, channel_max=8, num_layers=4,
                              num_critical=1, margin_size=2).eval()


@pytest.mark.parametrize("make", [stylegan2, stylegan3])
def test_style_affines_read_the_w_they_are_listed_with(make):
    """Each listed affine layer is fed ws[:, index]: give every layer's w a distinct constant and look."""
    generator = make()
    seen = {}
    hooks = [affine.register_forward_hook(lambda m, args, out, key=(i, id(affine)): seen.__setitem__(key, args[0]))
             for i, affine in style_affines(generator)]
    ws = torch.arange(generator.num_ws, dtype=torch.float32)[None, :, None].expand(1, -1, 8).clone()
    generator.synthesize(ws)
    for h in hooks:
        h.remove()
    assert len(seen) == len(style_affines(generator)) and all((x == i).all() for (i, _), x in seen.items())
    assert max(i for i, _ in style_affines(generator)) == generator.num_ws - 1


def test_sefa_directions_are_the_top_eigenvectors():
    generator = stylegan2()
    directions = sefa_directions(generator, num_directions=3)
    assert directions.config.method == "sefa" and directions.config.names == ["sefa_0", "sefa_1", "sefa_2"]
    scores = directions.config.scores
    assert scores == sorted(scores, reverse=True)
    vectors = directions.vectors
    torch.testing.assert_close(vectors @ vectors.T, torch.eye(3), atol=1e-5, rtol=0)  # orthonormal
    weights = torch.cat([a.weight for _, a in style_affines(generator)])
    weights = weights / weights.norm(dim=1, keepdim=True)
    moved = (weights @ vectors.T).norm(dim=0) ** 2  # how far each direction moves the styles: its eigenvalue
    torch.testing.assert_close(moved, torch.tensor(scores), atol=1e-4, rtol=1e-4)
    random = torch.nn.functional.normalize(torch.randn(100, 8), dim=1)
    assert (weights @ random.T).norm(dim=0).max() ** 2 <= scores[0] + 1e-4  # nothing moves them more
    some = sefa_directions(generator, num_directions=2, layers=[0, 1])
    assert some.config.layers == [0, 1]
    with pytest.raises(ValueError, match="no style layer"):
        sefa_directions(generator, layers=[99])


def test_ganspace_directions_are_principal_components():
    directions = ganspace_directions(stylegan2(), num_directions=4, num_samples=3000)
    scores = directions.config.scores
    assert scores == sorted(scores, reverse=True) and 0 < sum(scores) <= 1 + 1e-6
    torch.testing.assert_close(directions.vectors @ directions.vectors.T, torch.eye(4), atol=1e-5, rtol=0)
    conditional = ganspace_directions(stylegan2(c_dim=3), num_directions=2, num_samples=500)
    assert len(conditional.config.names) == 2
    with pytest.raises(ValueError, match="num_samples"):
        ganspace_directions(stylegan2(), num_directions=4, num_samples=4)


def test_interfacegan_recovers_a_known_boundary():
    torch.manual_seed(0)
    w = torch.randn(400, 8) * torch.linspace(0.5, 2.0, 8)  # unequal scales
    normal = torch.nn.functional.normalize(torch.tensor([1.0, -2.0, 0, 0, 0.5, 0, 0, 0]), dim=0)
    labels = (w @ normal > 0.3).tolist()
    direction = interfacegan_direction(w, labels, name="smile")
    assert direction.config.names == ["smile"] and direction.config.scores[0] > 0.95
    assert torch.dot(direction.direction("smile"), normal) > 0.95  # points towards the attribute
    with pytest.raises(ValueError, match="both classes"):
        interfacegan_direction(w, [1] * 400)
    with pytest.raises(ValueError, match="400 values"):
        interfacegan_direction(w, [0, 1])


def test_directions_apply_save_load_and_refuse_misfits(tmp_path):
    directions = EditDirections(w_dim=4, names=["a", "b"], layers=[1]).set_vectors(torch.tensor(
        [[3.0, 0, 0, 0], [0, 0, 2.0, 0]]))
    ws = torch.zeros(2, 3, 4)
    edited = directions.apply(ws, {"a": 1.5, "b": -1.0})
    assert edited[:, 1].tolist() == [[1.5, 0, -1.0, 0]] * 2 and edited[:, [0, 2]].abs().sum() == 0
    assert ws.abs().sum() == 0  # a new tensor
    directions.save_pretrained(tmp_path / "d")
    loaded = EditDirections.from_pretrained(tmp_path / "d")
    assert loaded.config.names == ["a", "b"] and torch.equal(loaded.vectors, directions.vectors)
    with pytest.raises(ValueError, match="no direction 'c'"):
        directions.apply(ws, {"c": 1.0})
    with pytest.raises(ValueError, match="w of size 4; this generator's w has size 5"):
        directions.apply(torch.zeros(1, 3, 5), {"a": 1.0})
    with pytest.raises(ValueError, match="unique"):
        EditDirections(w_dim=4, names=["a", "a"])
    with pytest.raises(ValueError, match="zero vector"):
        EditDirections(w_dim=2, names=["a"]).set_vectors(torch.zeros(1, 2))


def test_edits_through_the_pipeline(tmp_path):
    generator = stylegan2()
    directions = sefa_directions(generator, num_directions=2)
    pipe = StyleGANPipeline(generator=generator, directions=directions)
    pipe.set_progress_bar_config(disable=True)

    def seeded():
        return dict(num_images=2, generator=torch.Generator().manual_seed(0), output_type="pt", return_latents=True)

    plain = pipe(**seeded())
    edited = pipe(**seeded(), edits={"sefa_0": 3.0})
    torch.testing.assert_close(edited.ws, plain.ws + 3.0 * directions.direction("sefa_0"))
    assert not torch.allclose(edited.images, plain.images)
    torch.testing.assert_close(pipe(ws=plain.ws, edits={"sefa_0": 3.0}, output_type="pt").images, edited.images)

    pipe.save_pretrained(tmp_path / "pipe")  # the directions travel with the pipeline
    loaded = HfGanPipeline.from_pretrained(tmp_path / "pipe")
    assert loaded.directions.config.names == ["sefa_0", "sefa_1"]
    torch.testing.assert_close(loaded(**seeded(), edits={"sefa_0": 3.0}).images, edited.images)
    without = StyleGANPipeline(generator=generator)
    without.save_pretrained(tmp_path / "plain")
    assert HfGanPipeline.from_pretrained(tmp_path / "plain").directions is None
    with pytest.raises(ValueError, match="edits need directions"):
        without(num_images=1, edits={"sefa_0": 1.0})
    assert without(num_images=1, edits={"sefa_0": 1.0}, directions=directions, output_type="pt").images.shape[0] == 1
    other = EditDirections(w_dim=6, names=["x"]).set_vectors(torch.ones(1, 6))
    with pytest.raises(ValueError, match="w of size 6"):
        StyleGANPipeline(generator=generator, directions=other)


@pytest.mark.parametrize("make", [stylegan2, stylegan3])
def test_stylespace_finds_a_planted_channel_and_edits_it_alone(make, tmp_path):
    generator = make()
    pipe = StyleGANPipeline(generator=generator)
    pipe.set_progress_bar_config(disable=True)
    ws = pipe.map(num_images=200, generator=torch.Generator().manual_seed(0))  # (200, num_ws, w_dim)
    styles = style_codes(generator, ws)
    sizes = [affine.weight.shape[0] for _, affine in style_affines(generator)]
    assert styles.shape == (200, sum(sizes))
    layer, channel = 2, 3  # the attribute: this style channel above its median
    index = sum(sizes[:layer]) + channel
    labels = styles[:, index] > styles[:, index].median()
    directions = stylespace_directions(generator, ws, labels, num_directions=3, name="planted")
    # among the top 3: in a tiny random generator other channels correlate with it up to 0.9 (w has 8 dimensions)
    assert f"planted_{layer}_{channel}" in directions.config.names and directions.config.space == "style"
    assert directions.config.scores[0] > 0.7 and directions.config.scores == sorted(directions.config.scores)[::-1]
    std = styles[:, index].std()
    expected = torch.zeros(sum(sizes))
    expected[index] = std  # one standard deviation of that channel, towards the attribute (larger values)
    torch.testing.assert_close(directions.direction(f"planted_{layer}_{channel}"), expected, rtol=1e-4, atol=1e-6)

    # the edit moves that channel of that layer, and no other style, while rendering; w is left as it was
    pipe = StyleGANPipeline(generator=generator, directions=directions)
    pipe.set_progress_bar_config(disable=True)
    name = f"planted_{layer}_{channel}"
    with directions.edit_styles(generator, {name: 2.0}):
        edited_styles = style_codes(generator, ws[:2])
    torch.testing.assert_close(edited_styles, style_codes(generator, ws[:2]) + 2.0 * expected)  # that channel alone
    plain = pipe(ws=ws[:2], output_type="pt", return_latents=True)
    edited = pipe(ws=ws[:2], edits={name: 2.0}, output_type="pt", return_latents=True)
    assert torch.equal(edited.ws, plain.ws) and not torch.allclose(edited.images, plain.images)
    torch.testing.assert_close(pipe(ws=ws[:2], output_type="pt").images, plain.images)  # the hooks are gone
    pipe.save_pretrained(tmp_path / "pipe")
    loaded = HfGanPipeline.from_pretrained(tmp_path / "pipe")
    assert loaded.directions.config.space == "style" and loaded.directions.config.style_sizes == sizes
    torch.testing.assert_close(loaded(ws=ws[:2], edits={name: 2.0}, output_type="pt").images, edited.images)

    with pytest.raises(ValueError, match="style directions act on the styles"):
        directions.apply(ws, {name: 1.0})
    other = stylegan2(channel_max=4) if make is stylegan2 else stylegan2()
    with pytest.raises(ValueError, match="style layers of"):
        StyleGANPipeline(generator=other, directions=directions)
    with pytest.raises(ValueError, match="both classes"):
        stylespace_directions(generator, ws, torch.ones(200))


def test_stylespace_edit_is_exact_on_the_styles():
    """Inside edit_styles, each affine's output is its own plus strength x the direction's slice for that layer."""
    generator = stylegan2()
    sizes = [affine.weight.shape[0] for _, affine in style_affines(generator)]
    vectors = torch.randn(2, sum(sizes))
    directions = EditDirections(w_dim=8, names=["u", "v"], method="custom", space="style",
                                style_sizes=sizes).set_vectors(vectors)
    ws = generator.map(torch.randn(3, 8))
    with directions.edit_styles(generator, {"u": 1.5, "v": -0.5}):
        edited = style_codes(generator, ws)
    torch.testing.assert_close(edited, style_codes(generator, ws) + 1.5 * vectors[0] - 0.5 * vectors[1])
    with pytest.raises(ValueError, match="style_sizes is required"):
        EditDirections(w_dim=8, names=["u"], space="style")
    with pytest.raises(ValueError, match="edit_styles is for style directions"):
        with EditDirections(w_dim=8, names=["u"]).set_vectors(torch.ones(1, 8)).edit_styles(generator, {"u": 1}):
            pass


def test_measure_edit_with_a_discriminator_classifier(tiny_classifier):
    """The library's two halves joined: an hfgan discriminator-classifier scores the edit and labels w for
    InterFaceGAN."""
    from hfgan.editing import classifier_score, measure_edit

    generator = stylegan2()
    with torch.no_grad():
        for p in generator.parameters():
            p.add_(torch.randn_like(p) * 0.3)  # an untrained generator barely moves: give it some reach
    pipe = StyleGANPipeline(generator=generator, directions=sefa_directions(generator, num_directions=2))
    pipe.set_progress_bar_config(disable=True)
    ws = pipe.map(num_images=6, generator=torch.Generator().manual_seed(0))
    score = classifier_score(tiny_classifier(["cat", "dog"]), "dog")
    rows = measure_edit(pipe, ws, "sefa_0", strengths=(0.0, 1.0, 4.0), score=score)
    assert [r["strength"] for r in rows] == [0.0, 1.0, 4.0]
    assert rows[0]["distance_to_source"] == 0 and rows[0]["score_change"] == 0
    assert 0 < rows[1]["distance_to_source"] < rows[2]["distance_to_source"]  # further edits change more
    more_ws = pipe.map(num_images=40, generator=torch.Generator().manual_seed(1))
    dog = score(pipe(ws=more_ws, output_type="pt").images)
    direction = interfacegan_direction(more_ws, dog > dog.median(), name="dog")  # the more doggish half
    toward = measure_edit(pipe, more_ws, "dog", strengths=(3.0,), directions=direction, score=score)[0]
    assert direction.config.scores[0] > 0.5 and toward["score_change"] > 0  # the edit raises the class's score
    with pytest.raises(ValueError, match="no label 'owl'"):
        classifier_score(tiny_classifier(["cat", "dog"]), "owl")(torch.rand(1, 3, 16, 16))
