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
