"""Inversion metrics: PSNR, latent error, visible blobs and blob-object alignment by hand, `evaluate_inversion`
agreeing with the pieces on a tiny BlobGAN pipeline, and `evaluate_stylegan_inversion`."""

import math

import pytest
import torch

from hfgan import BlobGANEncoder, BlobGANGenerator, BlobGANPipeline, BlobLayoutNet
from hfgan.metrics import frechet_distance
from hfgan.metrics.backbones import FeatureBackbone
from hfgan.metrics.inversion import (
    blob_object_alignment,
    blob_peak_alphas,
    blob_usage,
    evaluate_inversion,
    latent_error,
    psnr,
    visible_blobs,
)
from hfgan.models.blobgan.layout import REMOVED_SIZE, BlobLayout


def test_psnr_and_latent_error_by_hand():
    a = torch.zeros(2, 3, 4, 4)
    b = torch.full((2, 3, 4, 4), 0.1)
    b[1] = 0.0
    values = psnr(b, a)  # MSE 0.01 -> 10 log10(1 / 0.01) = 20 dB; an exact copy -> inf
    assert values[0].item() == pytest.approx(20.0) and math.isinf(values[1].item())
    assert psnr(b * 255, a, max_value=255.0)[0].item() == pytest.approx(20.0)
    # (1 + 0 + 0 + 4) / 4
    assert latent_error(torch.tensor([[0.0, 2.0], [1.0, 1.0]]), torch.tensor([[1.0, 2.0], [1.0, 3.0]])) == 1.25
    with pytest.raises(ValueError, match="same shape"):
        psnr(a, a[:1])


def one_image_layout(xs, ys, sizes):
    k = len(xs)
    return BlobLayout(
        xs=torch.tensor([xs]), ys=torch.tensor([ys]), sizes=torch.tensor([sizes]),
        shapes=torch.full((1, k, 2), 0.01), angles=torch.zeros(1, k), structure=torch.ones(1, k, 2),
        style=torch.ones(1, k, 2), background_structure=torch.ones(1, 2), background_style=torch.ones(1, 2),
    )


def test_visible_blobs():
    """Blob 0 sits under the larger blob 1 (in front: a higher index), blob 2 is removed: only blob 1 is visible.
    Blob 0's composite alpha o_0 (1 - o_1) peaks where d^2 = 7.5: sigmoid(-2.5)^2 ~ 0.0058."""
    layout = one_image_layout(xs=[0.5, 0.5, 0.1], ys=[0.5, 0.5, 0.1], sizes=[5.0, 10.0, REMOVED_SIZE])
    peaks = blob_peak_alphas(layout, 64)
    assert peaks[0, 1] > 0.99 and peaks[0, 0] < 0.01 and peaks[0, 2] == 0
    assert visible_blobs(layout, 64).tolist() == [[False, True, False]]
    assert visible_blobs(layout.remove(1), 64).tolist() == [[True, False, False]]  # uncovered, blob 0 shows


def test_blob_usage():
    """Three images: blob 1 visible alone (twice), then blobs 0 and 2 visible apart: counts 1, 1, 2."""
    one = one_image_layout(xs=[0.5, 0.5, 0.1], ys=[0.5, 0.5, 0.1], sizes=[5.0, 10.0, REMOVED_SIZE])
    two = one_image_layout(xs=[0.2, 0.5, 0.8], ys=[0.2, 0.5, 0.8], sizes=[5.0, REMOVED_SIZE, 5.0])
    usage = blob_usage(BlobLayout.cat([one, one, two]), 64)
    assert usage["visible_blobs_per_sample"] == pytest.approx(4 / 3)
    assert usage["visible_blobs_std"] == pytest.approx(math.sqrt(2 / 9))  # population std of 1, 1, 2
    assert usage["live_blobs"] == 3  # each index is visible in more than 10% of the samples
    assert blob_usage(BlobLayout.cat([one, one, two]), 64, live_share=0.5)["live_blobs"] == 1


def test_blob_object_alignment_by_hand():
    """Image 0: boxes top-left and bottom-right quarters; visible blobs at (0.25, 0.25) (in the first box) and
    (0.75, 0.25) (in none); the blob in the second box is not visible. Image 1: one box [0.2, 0.6)^2; visible blobs
    at (0.6, 0.4) (outside: x1 is exclusive), (0.2, 0.2) (inside: x0 is inclusive) and (0.9, 0.9).
    Objects hit: 1 of 2 + 1 of 1 = 2/3. Visible blob centres inside a box: 1 of 2 + 1 of 3 = 2/5."""
    centers = torch.tensor([[[0.25, 0.25], [0.75, 0.25], [0.75, 0.75]],
                            [[0.6, 0.4], [0.2, 0.2], [0.9, 0.9]]])
    visible = torch.tensor([[True, True, False], [True, True, True]])
    boxes = [[[0.0, 0.0, 0.5, 0.5], [0.5, 0.5, 1.0, 1.0]], [[0.2, 0.2, 0.6, 0.6]]]
    out = blob_object_alignment(centers, visible, boxes)
    assert out == {"object_hit_rate": 2 / 3, "blob_in_object_rate": 2 / 5, "num_objects": 3.0,
                   "num_visible_blobs": 5.0}
    empty = blob_object_alignment(centers[:1], torch.zeros(1, 3, dtype=torch.bool), [[]])
    assert math.isnan(empty["object_hit_rate"]) and math.isnan(empty["blob_in_object_rate"])
    with pytest.raises(ValueError, match="boxes are given for 1 images but there are 2 layouts"):
        blob_object_alignment(centers, visible, boxes[:1])


class MeanColour(FeatureBackbone):
    """A 3-d feature backbone (each image's mean colour), so that a Fréchet distance needs only a few images."""

    name, slug, feature_dim = "mean-colour", "mean_colour", 3

    def __init__(self):
        super().__init__()
        self.dummy = torch.nn.Parameter(torch.zeros(()))

    def preprocess(self, images):
        return images.float() / 255

    def embed(self, inputs):
        return inputs.mean(dim=(2, 3))


@pytest.fixture
def pipe():
    torch.manual_seed(0)
    layout_net = BlobLayoutNet(latent_dim=8, num_blobs=3, structure_dim=4, style_dim=4, hidden_dim=16, num_layers=2)
    layout_net.compute_mean(64, generator=torch.Generator().manual_seed(0))
    generator = BlobGANGenerator(image_size=16, input_size=4, structure_dim=4, style_dim=4, channel_base=64,
                                 channel_max=8)
    encoder = BlobGANEncoder(image_size=16, num_blobs=3, structure_dim=4, style_dim=4, channel_base=64, channel_max=8)
    encoder.start_at(layout_net.output_mean)
    with torch.no_grad():  # sizes s = 6 (raw coordinate 2 of each blob's 7 + 4 + 4): large blobs, some visible
        encoder.head.bias[2 : 3 * 15 : 15] = 6.0
    pipe = BlobGANPipeline(layout_net=layout_net, generator=generator, encoder=encoder)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def test_evaluate_inversion_agrees_with_the_pieces(pipe):
    images = torch.randint(0, 256, (6, 3, 16, 16), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    boxes = [[[0.0, 0.0, 0.5, 0.5]], [[0.25, 0.25, 1.0, 1.0]], [], [[0.0, 0.0, 1.0, 1.0]], [[0.5, 0.5, 1.0, 1.0]],
             [[0.1, 0.1, 0.9, 0.9], [0.0, 0.0, 0.2, 0.2]]]
    results = evaluate_inversion(pipe, images, boxes, num_fakes=5, truncation_psi=(0.5, 1.0), backbone=MeanColour(),
                                 batch_size=4)
    inverted = pipe.invert(images, output_type="pt")  # what a user gets
    reference = images.float() / 255
    assert results["reconstruction_psnr"] == pytest.approx(psnr(inverted.reconstructions, reference).mean().item(),
                                                           abs=1e-4)
    layouts = inverted.layouts
    visible = visible_blobs(layouts, 16)
    assert visible.any()  # the alignment below is not about nothing
    alignment = blob_object_alignment(torch.stack([layouts.xs, layouts.ys], -1), visible, boxes)
    for key in ("object_hit_rate", "blob_in_object_rate"):  # NaN when no blob is visible
        assert results[key] == alignment[key] or math.isnan(results[key]) and math.isnan(alignment[key]), key
    assert results["visible_blobs_per_image"] == pytest.approx(visible.sum(1).float().mean().item())
    features = MeanColour()
    expected_fd = frechet_distance(features(images), features(inverted.reconstructions))
    assert results["reconstruction_fd_mean_colour"] == pytest.approx(expected_fd, rel=1e-3, abs=1e-6)
    assert results["latent_error"] >= 0 and math.isfinite(results["fake_reconstruction_psnr"])
    # the same numbers again, whatever the batch size: the fakes are drawn from the seed
    again = evaluate_inversion(pipe, images, num_fakes=5, truncation_psi=(0.5, 1.0))
    assert again["latent_error"] == pytest.approx(results["latent_error"], rel=1e-6)


def test_evaluate_inversion_refusals(pipe):
    images = torch.zeros(2, 3, 16, 16, dtype=torch.uint8)
    assert "reconstruction_fd_mean_colour" not in evaluate_inversion(pipe, images[:1], backbone=MeanColour())
    with pytest.raises(ValueError, match=r"images must have shape \(N, 3, 16, 16\)"):
        evaluate_inversion(pipe, torch.zeros(2, 3, 8, 8))
    with pytest.raises(ValueError, match="boxes are given for 1 images but there are 2 images"):
        evaluate_inversion(pipe, images, [[]])
    bare = BlobGANPipeline(layout_net=pipe.layout_net, generator=pipe.generator)
    with pytest.raises(ValueError, match="needs a pipeline with an encoder"):
        evaluate_inversion(bare, images)


def test_evaluate_stylegan_inversion_numbers():
    """Every key, for the encoder and for optimisation; optimising w on generated images recovers them (image and w)
    better than an untrained encoder does; images of another size are refused."""
    from hfgan import StyleGAN2Generator, StyleGANEncoder, StyleGANPipeline
    from hfgan.metrics.inversion import evaluate_stylegan_inversion
    from hfgan.perceptual import perceptual_distance

    torch.manual_seed(0)
    generator = StyleGAN2Generator(z_dim=8, w_dim=8, img_resolution=16, mapping_layers=2, channel_base=64,
                                   channel_max=8)
    pipe = StyleGANPipeline(generator=generator,
                            encoder=StyleGANEncoder.for_generator(generator, channel_base=64, channel_max=8))
    pipe.set_progress_bar_config(disable=True)
    images = (torch.rand(4, 3, 16, 16) * 255).to(torch.uint8)
    common = dict(num_fakes=3, truncation_psi=(0.5, 1.0), seed=0, batch_size=2)
    encoded = evaluate_stylegan_inversion(pipe, images, method="encoder",
                                          perceptual=perceptual_distance("emoji-cnn-distance"), **common)
    assert set(encoded) == {"seconds_per_image", "reconstruction_psnr", "reconstruction_emoji_cnn_distance",
                            "latent_error", "fake_reconstruction_psnr"}
    optimized = evaluate_stylegan_inversion(pipe, images, method="optimize", invert_kwargs={"num_steps": 40},
                                            **common)
    assert optimized["fake_reconstruction_psnr"] > encoded["fake_reconstruction_psnr"]
    assert optimized["latent_error"] < encoded["latent_error"]
    with pytest.raises(ValueError, match=r"images must have shape \(N, 3, 16, 16\)"):
        evaluate_stylegan_inversion(pipe, images[:, :, :8, :8])
