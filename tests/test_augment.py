import pytest
import torch

from hfgan.augment import diff_augment, parse_policy, rand_color, rand_cutout, rand_translation, rotate_quarters


def test_policy_parsing():
    assert parse_policy("color, translation") == ("color", "translation")
    assert parse_policy(None) == parse_policy("") == ()
    with pytest.raises(ValueError, match="flip"):
        parse_policy("color,flip")


def test_shapes_and_identity_without_policy():
    x = torch.randn(4, 3, 16, 16)
    assert diff_augment(x, "") is x
    assert diff_augment(x).shape == x.shape


def test_translation_moves_content_and_pads_with_zeros():
    torch.manual_seed(0)
    x = torch.arange(16.0).view(1, 1, 4, 4).repeat(64, 3, 1, 1) + 1  # no zeros in the input
    y = rand_translation(x, ratio=0.25)  # shifts of -1, 0 or 1 px
    for img_in, img_out in zip(x, y):
        kept = img_out[img_out != 0]
        assert set(kept.tolist()) <= set(img_in.unique().tolist())  # only moved, never mixed
    assert (y == 0).any() and (y == x).all(dim=(1, 2, 3)).any()  # some shifted, some not


def test_cutout_zeroes_a_square_of_the_requested_size():
    torch.manual_seed(0)
    x = torch.ones(32, 3, 16, 16)
    y = rand_cutout(x, ratio=0.5)
    zeros = (y[:, 0] == 0).sum(dim=(1, 2))
    assert zeros.max() == 64 and zeros.min() > 0  # an 8x8 square, clipped at the border at most


def test_color_is_per_image_and_differentiable():
    torch.manual_seed(0)
    x = torch.rand(8, 3, 8, 8, requires_grad=True)
    y = rand_color(x)
    assert not torch.allclose(y, x)
    y.sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()


def test_whole_policy_is_differentiable():
    x = torch.randn(4, 3, 16, 16, requires_grad=True)
    diff_augment(x).pow(2).sum().backward()
    assert x.grad.abs().sum() > 0


def test_rotate_quarters_turns_image_i_by_i_mod_4_quarters():
    x = torch.randn(6, 3, 8, 8)
    rotated, turns = rotate_quarters(x)
    assert turns.tolist() == [0, 1, 2, 3, 0, 1]
    for image, turned, k in zip(x, rotated, turns.tolist()):
        assert torch.equal(turned, torch.rot90(image, k, dims=(1, 2)))
    assert not torch.equal(rotated[1], x[1])  # a quarter turn of random pixels changes them
    with pytest.raises(ValueError, match="square"):
        rotate_quarters(torch.zeros(2, 3, 8, 6))
