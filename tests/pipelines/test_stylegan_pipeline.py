"""StyleGANPipeline: shapes and output types, seeded determinism across chunking, truncation, w latents in and out,
class labels, save/load through HfGanPipeline, `hfgan sample`, bad input."""

import pytest
import torch

from hfgan import HfGanPipeline, StyleGAN2Generator, StyleGAN3Generator, StyleGANEncoder, StyleGANPipeline
from hfgan.cli import main
from hfgan.losses import noise_regularization
from hfgan.pipelines.pipeline_utils import pipeline_for


def tiny_pipe(kind: str = "stylegan3", **overrides) -> StyleGANPipeline:
    torch.manual_seed(0)
    if kind == "stylegan3":
        generator = StyleGAN3Generator(**{**dict(z_dim=8, w_dim=8, img_resolution=16, channel_base=256,
                                                  channel_max=8, num_layers=4, num_critical=1, margin_size=2),
                                          **overrides})
    else:
        generator = StyleGAN2Generator(**{**dict(z_dim=8, w_dim=8, img_resolution=16, mapping_layers=2,
                                                  channel_base=64, channel_max=8), **overrides})
    generator.mapping.w_avg.normal_()
    pipe = StyleGANPipeline(generator=generator)
    pipe.set_progress_bar_config(disable=True)
    return pipe


@pytest.mark.parametrize("kind", ["stylegan3", "stylegan2"])
def test_shapes_determinism_and_chunking(kind):
    pipe = tiny_pipe(kind)
    out = pipe(num_images=5, generator=torch.Generator().manual_seed(0), output_type="pt", return_latents=True)
    assert out.images.shape == (5, 3, 16, 16) and 0 <= out.images.min() and out.images.max() <= 1
    assert out.ws.shape == (5, pipe.generator.num_ws, 8)
    chunked = pipe(num_images=5, generator=torch.Generator().manual_seed(0), output_type="pt", max_batch_size=2)
    torch.testing.assert_close(chunked.images, out.images)
    assert pipe(num_images=2, output_type="np").images.shape == (2, 16, 16, 3)
    assert len(pipe(num_images=2).images) == 2 and pipe(num_images=1).images[0].size == (16, 16)
    images, ws = pipe(num_images=2, return_latents=True, return_dict=False)
    assert len(images) == 2 and ws.shape[0] == 2


def test_ws_round_trip_truncation_and_map():
    pipe = tiny_pipe()
    def seeded():
        return dict(num_images=3, generator=torch.Generator().manual_seed(1))

    out = pipe(**seeded(), truncation_psi=0.7, output_type="pt", return_latents=True)
    torch.testing.assert_close(pipe(ws=out.ws, output_type="pt").images, out.images)  # the images of their w
    torch.testing.assert_close(pipe.map(**seeded(), truncation_psi=0.7).cpu(), out.ws)
    w_avg = pipe.generator.mapping.w_avg
    at_mean = pipe(**seeded(), truncation_psi=0.0, output_type="pt").images
    torch.testing.assert_close(at_mean, pipe(ws=w_avg.expand(3, -1), output_type="pt").images)  # (N, w_dim) ws
    z = torch.randn(2, 8)
    torch.testing.assert_close(pipe(latents=z, output_type="pt").images,
                               (pipe.generator(z).sample.clamp(-1, 1) + 1) / 2, atol=1e-6, rtol=0)
    # one truncation psi per image: each row as if mapped with its own psi
    per_image = pipe.generator.map(z, truncation_psi=torch.tensor([1.0, 0.3]))
    torch.testing.assert_close(per_image[:1], pipe.generator.map(z[:1]))
    torch.testing.assert_close(per_image[1:], pipe.generator.map(z[1:], truncation_psi=0.3))


def test_class_labels():
    pipe = tiny_pipe("stylegan2", c_dim=3)
    def seeded():
        return dict(num_images=2, generator=torch.Generator().manual_seed(0), output_type="pt")

    by_index = pipe(**seeded(), class_labels=[0, 2]).images
    torch.testing.assert_close(pipe(**seeded(), class_labels=torch.eye(3)[[0, 2]]).images, by_index)
    assert not torch.allclose(pipe(**seeded(), class_labels=1).images, by_index)
    with pytest.raises(ValueError, match="conditional"):
        pipe(num_images=2)
    with pytest.raises(ValueError, match=r"class indices in \[0, 3\)"):
        pipe(num_images=2, class_labels=[0, 3])
    with pytest.raises(ValueError, match="unconditional"):
        tiny_pipe()(num_images=1, class_labels=[0])


def test_noise_modes():
    pipe = tiny_pipe("stylegan2")
    pipe.generator.synthesis.b16.conv1.noise_strength.data.fill_(1.0)
    ws = pipe.map(num_images=1, generator=torch.Generator().manual_seed(0))
    const = pipe(ws=ws, output_type="pt").images
    torch.testing.assert_close(pipe(ws=ws, output_type="pt").images, const, atol=0, rtol=0)
    assert not torch.equal(pipe(ws=ws, noise_mode="random", output_type="pt").images, const)
    with pytest.raises(ValueError, match="noise_mode"):
        pipe(ws=ws, noise_mode="fixed")


def test_bad_input():
    pipe = tiny_pipe()
    with pytest.raises(ValueError, match="not both"):
        pipe(latents=torch.randn(1, 8), ws=torch.randn(1, 8))
    with pytest.raises(ValueError, match=r"ws must have shape \(num_images, 6, 8\)"):
        pipe(ws=torch.randn(1, 5, 8))
    with pytest.raises(ValueError, match=r"latents must have shape \(num_images, 8\)"):
        pipe(latents=torch.randn(1, 7))
    with pytest.raises(ValueError, match="num_images=2 but 1 ws"):
        pipe(num_images=2, ws=torch.randn(1, 8))


def test_save_load_sample_and_pipeline_for(tmp_path):
    pipe = tiny_pipe()
    pipe.save_pretrained(tmp_path / "pipe")
    loaded = HfGanPipeline.from_pretrained(tmp_path / "pipe")
    assert isinstance(loaded, StyleGANPipeline)
    def seeded():
        return dict(num_images=2, generator=torch.Generator().manual_seed(0), output_type="pt", truncation_psi=0.5)

    torch.testing.assert_close(loaded(**seeded()).images, pipe(**seeded()).images)
    assert main(["sample", "--model", str(tmp_path / "pipe"), "--out", str(tmp_path / "grid.png"),
                 "--num-images", "4"]) == 0
    assert (tmp_path / "grid.png").stat().st_size > 0
    assert isinstance(pipeline_for(pipe.generator), StyleGANPipeline)  # "A | B" annotations are understood
    assert isinstance(pipeline_for(tiny_pipe("stylegan2").generator), StyleGANPipeline)


def test_hfgan_sample_takes_a_class_label_for_a_conditional_generator(tmp_path, capsys):
    conditional = tiny_pipe("stylegan2", c_dim=3)
    conditional.save_pretrained(tmp_path / "cond")
    base = ["sample", "--model", str(tmp_path / "cond"), "--num-images", "2"]
    assert main(base + ["--out", str(tmp_path / "a.png")]) == 2
    assert "this generator is conditional" in capsys.readouterr().err
    assert not (tmp_path / "a.png").exists()
    assert main(base + ["--out", str(tmp_path / "b.png"), "--class-label", "1"]) == 0
    assert (tmp_path / "b.png").stat().st_size > 0
    assert main(base + ["--out", str(tmp_path / "c.png"), "--class-label", "3"]) == 2
    assert "class_labels must be 2 class indices in [0, 3)" in capsys.readouterr().err
    tiny_pipe().save_pretrained(tmp_path / "uncond")
    assert main(["sample", "--model", str(tmp_path / "uncond"), "--out", str(tmp_path / "d.png"),
                 "--class-label", "1"]) == 2
    assert "this generator is unconditional" in capsys.readouterr().err
    assert main(["sample", "--out", str(tmp_path / "e.png"), "--class-label", "1"]) == 2  # an untrained DCGAN
    assert "DCGANPipeline takes no class label" in capsys.readouterr().err


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    return 10 * torch.log10(1 / (a - b).square().mean()).item()


def test_invert_recovers_generated_images_and_pti_leaves_the_pipeline_alone():
    pipe = tiny_pipe("stylegan2")
    target = pipe(num_images=2, generator=torch.Generator().manual_seed(5), truncation_psi=0.8, output_type="pt",
                  return_latents=True)
    start = pipe(ws=pipe.generator.mapping.w_avg.expand(2, -1), output_type="pt").images
    inverted = pipe.invert(target.images, num_steps=60, output_type="pt")
    assert inverted.ws.shape == (2, 6, 8) and inverted.pipeline is None
    assert torch.equal(inverted.ws[:, 0], inverted.ws[:, 5])  # space="w": one w for every layer
    assert psnr(inverted.reconstructions, target.images) > psnr(start, target.images) + 3
    torch.testing.assert_close(pipe(ws=inverted.ws, output_type="pt").images, inverted.reconstructions)
    again = pipe.invert(target.images, num_steps=60, output_type="pt")
    torch.testing.assert_close(again.ws, inverted.ws)  # seeded: repeatable

    plus = pipe.invert(target.images, space="w+", num_steps=60, output_type="pt")
    assert not torch.equal(plus.ws[:, 0], plus.ws[:, 5])
    before = {k: v.clone() for k, v in pipe.generator.state_dict().items()}
    pti = pipe.invert(target.images, method="pti", num_steps=60, pti_steps=30, output_type="pt")
    assert all(torch.equal(v, pipe.generator.state_dict()[k]) for k, v in before.items())  # untouched
    assert isinstance(pti.pipeline, StyleGANPipeline) and pti.pipeline.generator is not pipe.generator
    assert psnr(pti.reconstructions, target.images) > psnr(inverted.reconstructions, target.images)
    torch.testing.assert_close(pti.pipeline(ws=pti.ws, output_type="pt").images, pti.reconstructions)


def test_invert_optimises_noise_maps_that_stay_noise():
    pipe = tiny_pipe("stylegan2")
    for layer in pipe.generator.synthesis.noise_layers:
        layer.noise_strength.data.fill_(0.3)  # trained StyleGAN2s have noise that matters
    torch.manual_seed(0)  # the targets' noise is not the stored noise plain inversion renders with
    target = pipe(num_images=2, generator=torch.Generator().manual_seed(5), noise_mode="random", output_type="pt")
    plain = pipe.invert(target.images, num_steps=40, output_type="pt")
    assert plain.noise is None
    inverted = pipe.invert(target.images, num_steps=40, optimize_noise=True, output_type="pt")
    resolutions = pipe.generator.noise_resolutions
    assert [tuple(n.shape) for n in inverted.noise] == [(2, 1, r, r) for r in resolutions]
    for n in inverted.noise:  # renormalised every step
        torch.testing.assert_close(n.mean(dim=(2, 3)), torch.zeros(2, 1), atol=1e-5, rtol=0)
        torch.testing.assert_close(n.std(dim=(2, 3)), torch.ones(2, 1), atol=1e-4, rtol=0)
    assert not torch.equal(inverted.noise[-1], pipe.generator.stored_noise()[-1].expand(2, -1, -1, -1))  # moved
    # the regulariser is what keeps the maps noise: without it they draw the image (far closer, far smoother)
    free = pipe.invert(target.images, num_steps=40, optimize_noise=True, noise_weight=0.0, output_type="pt")
    assert psnr(free.reconstructions, target.images) > psnr(inverted.reconstructions, target.images) + 3
    white = noise_regularization([torch.randn(64, 1, r, r) for r in resolutions])["loss"].mean()  # Gaussian noise's
    assert (noise_regularization(inverted.noise)["loss"] < white / 10).all()
    assert (noise_regularization(free.noise)["loss"] > 2 * white).all()
    torch.testing.assert_close(pipe(ws=inverted.ws, noise=inverted.noise, output_type="pt").images,
                               inverted.reconstructions)  # rendered back from what was returned
    torch.testing.assert_close(pipe(ws=inverted.ws[1:], noise=[n[1:] for n in inverted.noise], output_type="pt")
                               .images, inverted.reconstructions[1:])
    pti = pipe.invert(target.images, method="pti", num_steps=20, pti_steps=5, optimize_noise=True, output_type="pt")
    torch.testing.assert_close(pti.pipeline(ws=pti.ws, noise=pti.noise, output_type="pt").images, pti.reconstructions)

    with pytest.raises(ValueError, match="StyleGAN3 has none"):
        tiny_pipe().invert(target.images, num_steps=1, optimize_noise=True)
    with pytest.raises(ValueError, match="no noise inputs"):
        tiny_pipe()(ws=torch.randn(1, 8), noise=inverted.noise)
    with pytest.raises(ValueError, match=r"noise must be a list of 5 maps"):
        pipe(ws=inverted.ws, noise=inverted.noise[:2])


def test_invert_converts_sizes_and_refuses_bad_arguments():
    pipe = tiny_pipe()
    with pytest.warns(UserWarning, match="the generator takes 16x16 images; images of size 20x24"):
        inverted = pipe.invert(torch.rand(3, 20, 24), num_steps=2)
    assert inverted.reconstructions[0].size == (16, 16)
    images = torch.rand(1, 3, 16, 16)
    with pytest.raises(ValueError, match="space"):
        pipe.invert(images, space="z")
    with pytest.raises(ValueError, match="method must be"):
        pipe.invert(images, method="e4e")
    with pytest.raises(ValueError, match="method='encoder' needs a pipeline with an encoder"):
        pipe.invert(images, method="encoder")
    with pytest.raises(ValueError, match="num_steps"):
        pipe.invert(images, num_steps=-1)
    with pytest.raises(ValueError, match="float pixel values must lie in"):
        pipe.invert(images * 3)


def test_invert_with_an_encoder_and_its_save_load_round_trip(tmp_path):
    """method="encoder" is one forward pass of the pipeline's encoder; the encoder saves and loads with the pipeline
    as an optional component, and one sized for another generator is refused."""
    pipe = tiny_pipe("stylegan2")
    torch.manual_seed(1)
    encoder = StyleGANEncoder.for_generator(pipe.generator, channel_base=64, channel_max=8)
    with_encoder = StyleGANPipeline(generator=pipe.generator, encoder=encoder)
    with_encoder.set_progress_bar_config(disable=True)
    images = torch.rand(3, 3, 16, 16)
    out = with_encoder.invert(images, method="encoder", output_type="pt", max_batch_size=2)
    torch.testing.assert_close(out.ws, encoder(images * 2 - 1).ws)
    torch.testing.assert_close(out.reconstructions, with_encoder(ws=out.ws, output_type="pt").images)
    assert out.pipeline is None

    with_encoder.save_pretrained(tmp_path / "pipe")
    loaded = HfGanPipeline.from_pretrained(tmp_path / "pipe")
    assert isinstance(loaded.encoder, StyleGANEncoder) and loaded.directions is None
    torch.testing.assert_close(loaded.invert(images, method="encoder", output_type="pt").ws, out.ws)
    # optimisation can start at the encoder's answer: with no step, that answer (w: averaged over layers)
    started = with_encoder.invert(images, space="w+", start="encoder", num_steps=0, output_type="pt")
    torch.testing.assert_close(started.ws, out.ws)
    single = with_encoder.invert(images, start="encoder", num_steps=0, output_type="pt")
    torch.testing.assert_close(single.ws, out.ws.mean(1, keepdim=True).expand(-1, 6, -1))
    target = with_encoder(num_images=2, generator=torch.Generator().manual_seed(5), output_type="pt").images
    fit = with_encoder.invert(target, space="w+", start="encoder", num_steps=30, output_type="pt")
    assert psnr(fit.reconstructions, target) > psnr(with_encoder.invert(target, method="encoder",
                                                                        output_type="pt").reconstructions, target)
    with pytest.raises(ValueError, match="start='encoder' needs a pipeline with an encoder"):
        pipe.invert(images, start="encoder")
    with pytest.raises(ValueError, match="start must be"):
        with_encoder.invert(images, start="zero")
    other = StyleGANEncoder(image_size=16, num_ws=6, w_dim=4, channel_base=64, channel_max=8)
    with pytest.raises(ValueError, match="w_dim=4 here but 8 in the generator"):
        StyleGANPipeline(generator=pipe.generator, encoder=other)
