import math

import pytest
import torch

from hfgan.losses import d_loss, g_loss, r1_penalty


def test_bce_matches_the_sigmoid_form_and_is_stable():
    real, fake = torch.tensor([2.0, -1.0, 0.5]), torch.tensor([-3.0, 0.0, 1.0])
    out = d_loss("bce", real, fake)
    expected = -(torch.log(torch.sigmoid(real)).mean() + torch.log(1 - torch.sigmoid(fake)).mean())
    torch.testing.assert_close(out["loss"], expected)
    torch.testing.assert_close(out["d_real"], torch.sigmoid(real).mean())
    # where sigmoid saturates in float32, the logit form stays finite and exact
    extreme = d_loss("bce", torch.tensor([-200.0]), torch.tensor([200.0]))
    assert math.isclose(extreme["loss"].item(), 400.0, rel_tol=1e-6)


def test_generator_losses():
    fake = torch.tensor([-2.0, 0.0, 3.0])
    ns = g_loss("non_saturating", fake)["loss"]
    torch.testing.assert_close(ns, -torch.log(torch.sigmoid(fake)).mean())
    torch.testing.assert_close(g_loss("bce", fake)["loss"], ns)  # the tutorial's BCE(D(G(z)), 1) is the NS loss
    torch.testing.assert_close(g_loss("hinge", fake)["loss"], -fake.mean())


def test_hinge_discriminator():
    out = d_loss("hinge", torch.tensor([2.0, 0.0]), torch.tensor([-2.0, 0.5]))
    torch.testing.assert_close(out["loss_real"], torch.tensor(0.5))  # relu(1 - [2, 0]) = [0, 1]
    torch.testing.assert_close(out["loss_fake"], torch.tensor(0.75))  # relu(1 + [-2, 0.5]) = [0, 1.5]


def test_unknown_loss():
    with pytest.raises(ValueError, match="hinge"):
        d_loss("wasserstein", torch.zeros(1), torch.zeros(1))
    with pytest.raises(ValueError, match="non_saturating"):
        g_loss("wgan", torch.zeros(1))


def test_r1_penalty_of_a_linear_discriminator():
    w = torch.randn(3 * 4 * 4, requires_grad=True)
    x = torch.randn(5, 3, 4, 4, requires_grad=True)
    logits = x.flatten(1) @ w  # grad_x D(x) = w for every image
    out = r1_penalty(x, logits, gamma=2.0)
    torch.testing.assert_close(out["r1_grad_norm2"], w.detach().pow(2).sum())
    torch.testing.assert_close(out["loss"].detach(), w.detach().pow(2).sum())  # gamma / 2 * ||w||^2
    assert out["loss"].requires_grad  # the penalty trains D: it must carry a graph to its weights


def test_semi_supervised_real_probability_is_z_over_z_plus_one():
    from hfgan import DCGANDiscriminator

    torch.manual_seed(0)
    discriminator = DCGANDiscriminator(base_channels=4, image_size=8, num_classes=3)
    out = discriminator(torch.rand(5, 3, 8, 8) * 2 - 1)
    z = out.class_logits.double().exp().sum(1)  # Z = sum_k exp(l_k), computed directly
    torch.testing.assert_close(out.probs.double(), z / (z + 1), rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(out.logits.double(), z.log(), rtol=1e-6, atol=1e-6)


def test_semi_supervised_d_loss_against_a_hand_computation():
    from hfgan.losses import semi_supervised_d_loss

    labeled = torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.5, 3.0], [1.0, 1.0, 1.0]])
    labels = torch.tensor([0, 2, -1])  # the third is unlabeled and plays no part in the cross-entropy
    real, fake = torch.tensor([1.5, -0.5]), torch.tensor([0.2, -2.0])
    out = semi_supervised_d_loss(labeled, labels, real, fake, unsupervised_weight=0.5)
    p = labeled[:2].softmax(1)
    ce = -(p[0, 0].log() + p[1, 2].log()) / 2
    d = lambda x: 1 / (1 + torch.exp(-x))  # noqa: E731  D = Z/(Z+1) = sigmoid(log Z)
    unsup = -d(real).log().mean() - (1 - d(fake)).log().mean()
    torch.testing.assert_close(out["loss"], ce + 0.5 * unsup)
    torch.testing.assert_close(out["loss_supervised"], ce)
    assert out["train_accuracy"].item() == 1.0
    with pytest.raises(ValueError, match="out of range"):
        semi_supervised_d_loss(labeled, torch.tensor([0, 3, -1]), real, fake)


def test_classification_loss_with_no_labeled_image_is_zero_and_differentiable():
    from hfgan.losses import classification_loss

    logits = torch.randn(4, 3, requires_grad=True)
    out = classification_loss(logits, torch.full((4,), -1))
    assert out["loss"].item() == 0.0
    out["loss"].backward()
    assert logits.grad is not None and not logits.grad.any()


def test_feature_matching_is_the_squared_gap_of_batch_means():
    from hfgan.losses import feature_matching_loss

    real, fake = torch.randn(6, 2, 3, 3), torch.randn(4, 2, 3, 3)
    gap = real.flatten(1).mean(0) - fake.flatten(1).mean(0)
    torch.testing.assert_close(feature_matching_loss(real, fake)["loss"], (gap**2).sum())


def test_inversion_loss_equals_a_hand_computation():
    """Two 1-channel 1x2 "images" per batch and a perceptual distance P(a, b) = sum |a - b| per image, so every term
    is computed by hand:
      real:  x = [0, 0], [1, 1];  G(E(x)) = [1, 3], [1, 1]  ->  P = mean(4, 0) = 2;  L2 = mean(1, 9, 0, 0) = 2.5
      fake:  x = [1, 1], [0, 2];  G(E(x)) = [1, 2], [2, 2]  ->  P = mean(1, 2) = 1.5;  L2 = mean(0, 1, 4, 0) = 1.25
      beta = [0, 2], [1, 1];  E(x_fake) = [1, 2], [1, 3]   ->  L2 = mean(1, 0, 0, 4) = 1.25
    """
    from hfgan.losses import inversion_loss

    def as_images(rows):
        return torch.tensor(rows).view(2, 1, 1, 2)

    def perceptual(a, b):
        return (a - b).abs().flatten(1).sum(1)

    args = (as_images([[0.0, 0.0], [1.0, 1.0]]), as_images([[1.0, 3.0], [1.0, 1.0]]),
            as_images([[1.0, 1.0], [0.0, 2.0]]), as_images([[1.0, 2.0], [2.0, 2.0]]),
            torch.tensor([[0.0, 2.0], [1.0, 1.0]]), torch.tensor([[1.0, 2.0], [1.0, 3.0]]), perceptual)
    out = inversion_loss(*args)  # lambda = 10 by default
    expected = {"perceptual_real": 2.0, "perceptual_fake": 1.5, "l2_real": 2.5, "l2_fake": 1.25, "latent_l2": 1.25}
    assert {k: v.item() for k, v in out.items() if k != "loss"} == expected
    assert out["loss"].item() == 2.0 + 1.5 + 2.5 + 1.25 + 10 * 1.25
    assert inversion_loss(*args, latent_weight=2.0)["loss"].item() == 2.0 + 1.5 + 2.5 + 1.25 + 2 * 1.25
    assert inversion_loss(*args, latent_weight=0.0)["loss"].item() == 2.0 + 1.5 + 2.5 + 1.25
    assert inversion_loss(*args, pixel_weight=4.0)["loss"].item() == 2.0 + 1.5 + 4 * (2.5 + 1.25) + 10 * 1.25

    # the gradient reaches the reconstructions and E(x_fake), through every term
    prediction = args[5].clone().requires_grad_(True)
    inversion_loss(*args[:5], prediction, perceptual)["loss"].backward()
    torch.testing.assert_close(prediction.grad, 10 * 2 * (prediction - args[4]).detach() / 4)
    with pytest.raises(ValueError, match=r"fake_raw and its prediction must have the same shape"):
        inversion_loss(*args[:5], torch.zeros(2, 3), perceptual)


def test_consistency_loss_is_zero_for_agreeing_views_and_the_squared_probability_gap_otherwise():
    from hfgan.losses import consistency_loss

    logits = torch.tensor([[2.0, 0.0, -1.0], [0.0, 0.0, 0.0]])
    assert consistency_loss(logits, logits + 5.0)["loss"] == 0  # a shift leaves the probabilities as they are
    other = torch.tensor([[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    gap = logits.softmax(1)[0] - 1 / 3
    torch.testing.assert_close(consistency_loss(logits, other)["loss"], gap.pow(2).sum() / 2)


def test_blob_size_floor():
    from hfgan.losses import blob_size_floor

    sizes = torch.tensor([[2.0, -1.0, 0.5], [2.0, -3.0, 1.5]], requires_grad=True)  # index means 2, -2, 1
    loss = blob_size_floor(sizes, floor=1.0)["loss"]
    assert loss.item() == pytest.approx(3.0 / 3)  # only index 1 is below: relu(1 - (-2)) / 3 indices
    loss.backward()
    assert sizes.grad[:, 1].tolist() == pytest.approx([-0.5 / 3, -0.5 / 3])  # descent grows index 1
    assert sizes.grad[:, [0, 2]].abs().sum() == 0
    assert blob_size_floor(sizes.detach(), floor=-5.0)["loss"].item() == 0.0


def test_blob_share_floor_counts_only_what_is_seen():
    from hfgan.losses import blob_share_floor
    from hfgan.models.blobgan.splat import blob_opacities, composite

    # two blobs at the centre of a 16 x 16 grid, blob 1 (in front) covering blob 0, and a third parked off the frame
    centers = torch.tensor([[[0.5, 0.5], [0.5, 0.5], [1.4, 0.5]]])
    variances = torch.full((1, 3, 2), 0.01)
    sizes = torch.tensor([[3.0, 6.0, 6.0]], requires_grad=True)
    alphas = composite(blob_opacities(centers, variances, torch.zeros(1, 3), sizes, 16))
    out = blob_share_floor(alphas, floor=0.05)
    share = alphas[:, 1:].mean(dim=(0, 2, 3))
    assert share[0] < 0.01 and share[2] < 0.01 < 0.05 < share[1]  # hidden and off-frame blobs earn little
    assert out["min_share"].item() == pytest.approx(share.min().item())
    assert out["loss"].item() == pytest.approx(((1 - share[0] / 0.05) + (1 - share[2] / 0.05)).item() / 3, rel=1e-5)
    out["loss"].backward()
    assert sizes.grad[0, 2] < 0  # descent grows the parked blob (into the frame) ...
    assert sizes.grad[0, 1] > 0  # ... and shrinks the one in front, which hides blob 0
    assert blob_share_floor(alphas.detach(), floor=share.min().item() / 2)["loss"].item() == 0.0  # all above


def test_blob_overlap_is_the_alpha_mass_hidden_by_blobs_in_front():
    from hfgan.losses import blob_overlap
    from hfgan.models.blobgan.splat import blob_opacities, composite

    def opacities(centers, sizes):
        k = len(sizes)
        return blob_opacities(torch.tensor([centers]), torch.full((1, k, 2), 0.01), torch.zeros(1, k),
                              torch.tensor([sizes]), 16)

    apart = opacities([[0.2, 0.2], [0.8, 0.8]], [4.0, 4.0])
    stacked = opacities([[0.5, 0.5], [0.5, 0.52]], [4.0, 4.0])
    assert blob_overlap(apart)["loss"].item() < 1e-3 < 0.05 < blob_overlap(stacked)["loss"].item()
    # the mass each blob loses to the blobs in front, o_i - alpha_i, summed: whatever the depth order
    three = opacities([[0.4, 0.5], [0.5, 0.5], [0.7, 0.4]], [3.0, 5.0, 4.0])
    hidden = (three - composite(three)[:, 1:]).sum(1).mean()
    assert blob_overlap(three)["loss"].item() == pytest.approx(hidden.item(), rel=1e-5)
    assert blob_overlap(three.flip(1))["loss"].item() == pytest.approx(hidden.item(), rel=1e-5)


def test_shift_pixels_moves_content_and_fills_with_zeros():
    from hfgan.losses import shift_pixels

    x = torch.arange(1.0, 17.0).reshape(1, 4, 4)
    right_down = shift_pixels(x, 1, 2)
    assert torch.equal(right_down[0, 2:, 1:], x[0, :2, :3])
    assert right_down[0, :2].sum() == right_down[0, :, 0].sum() == 0  # what entered the frame
    assert torch.equal(shift_pixels(shift_pixels(x, -1, -2), 1, 2)[0, 2:, 1:], x[0, 2:, 1:])  # back, what stayed in
    assert torch.equal(shift_pixels(x, 0, 0), x) and shift_pixels(x, 4, 0).abs().sum() == 0


def test_blob_move_consistency_is_zero_when_the_blob_carries_its_content_and_the_rest_stays():
    from hfgan.losses import blob_move_consistency, shift_pixels

    torch.manual_seed(0)
    background = torch.rand(1, 3, 1, 1).expand(2, 3, 16, 16)
    alpha = torch.zeros(2, 16, 16)
    alpha[:, 4:8, 4:8] = 1  # the blob's footprint before the move
    moved_alpha = shift_pixels(alpha, 3, 2)
    blob = torch.rand(2, 3, 16, 16)
    image = background * (1 - alpha[:, None]) + blob * alpha[:, None]
    carried_along = background * (1 - moved_alpha[:, None]) + shift_pixels(blob, 3, 2) * moved_alpha[:, None]
    out = blob_move_consistency(image, carried_along, alpha, moved_alpha, 3, 2)
    assert out["loss"].item() == pytest.approx(0.0, abs=1e-6)
    # the blob moved but its content stayed behind: the new footprint is wrong, the outside still right
    left_behind = blob_move_consistency(image, image.clone().requires_grad_(), alpha, moved_alpha, 3, 2)
    assert left_behind["carried"] > 0.05 and left_behind["kept"] == pytest.approx(0.0, abs=1e-6)
    # a change away from both footprints is charged to `kept`
    elsewhere = carried_along.clone()
    elsewhere[:, :, 12:, 12:] += 1
    assert blob_move_consistency(image, elsewhere, alpha, moved_alpha, 3, 2)["kept"] > 0.05
    # only the moved rendering gets gradients; the footprint's size does not change the carried term's scale
    moved = image.clone().requires_grad_()
    source = image.clone().requires_grad_()
    blob_move_consistency(source, moved, alpha, moved_alpha, 3, 2)["loss"].backward()
    assert source.grad is None and moved.grad.abs().sum() > 0
    noise = torch.rand(2, 3, 16, 16)  # |noise - noise shifted| is alike everywhere: only the footprint's size differs
    large = torch.zeros(2, 16, 16)
    large[:, 2:10, 2:10] = 1
    small_term, large_term = (blob_move_consistency(noise, noise, a, shift_pixels(a, 3, 2), 3, 2)["carried"]
                              for a in (alpha, large))
    assert 0.7 < large_term / small_term < 1.4  # a mean over the footprint: a sum would be 4x (64 against 16 px)


def test_noise_regularization_scores_smooth_maps_high_and_is_per_image():
    from hfgan.losses import noise_regularization

    torch.manual_seed(0)
    white = [torch.randn(2, 1, 32, 32), torch.randn(2, 1, 8, 8)]
    smooth = [torch.randn(2, 1, 8, 8).repeat_interleave(4, 2).repeat_interleave(4, 3), torch.randn(2, 1, 8, 8)]
    assert noise_regularization(white)["loss"].shape == (2,)
    assert (noise_regularization(smooth)["loss"] > 20 * noise_regularization(white)["loss"]).all()
    # the first image's maps do not reach the second image's value
    mixed = [torch.stack([smooth[0][0], white[0][1]]), white[1]]
    torch.testing.assert_close(noise_regularization(mixed)["loss"][1], noise_regularization(white)["loss"][1])
    # one scale by hand: an 8 x 8 map is not pooled further
    n = torch.randn(1, 1, 8, 8)
    by_hand = (n * n.roll(1, 3)).mean() ** 2 + (n * n.roll(1, 2)).mean() ** 2
    torch.testing.assert_close(noise_regularization([n])["loss"], by_hand.reshape(1))


def test_gan_step_adds_the_generator_penalty():
    from hfgan.steps import gan_scalars, gan_step

    torch.manual_seed(0)
    g = torch.nn.Linear(4, 3 * 4 * 4)
    d = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 4 * 4, 1))

    class Logits(torch.nn.Module):
        def forward(self, x):
            return type("Out", (), {"logits": d(x).squeeze(1)})()

    def generate():
        return g(torch.randn(2, 4)).view(2, 3, 4, 4)

    opt_g, opt_d = torch.optim.SGD(g.parameters(), lr=0.0), torch.optim.SGD(d.parameters(), lr=0.0)
    kwargs = dict(augment=lambda x: x, kind="non_saturating", r1_gamma=0.0, r1_every=16, step=1)
    torch.manual_seed(1)
    _, plain = gan_step(generate, Logits(), torch.zeros(2, 3, 4, 4), opt_g, opt_d, **kwargs)
    torch.manual_seed(1)
    _, penalised = gan_step(generate, Logits(), torch.zeros(2, 3, 4, 4), opt_g, opt_d, **kwargs,
                            g_penalty=lambda: torch.tensor(0.25))
    assert penalised["loss"].item() == pytest.approx(plain["loss"].item() + 0.25)
    assert gan_scalars({"loss": torch.tensor(1.0), "d_real": torch.tensor(0.5), "d_fake": torch.tensor(0.5)},
                       penalised)["g_penalty"] == 0.25
