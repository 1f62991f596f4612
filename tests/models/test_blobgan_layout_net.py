import pytest
import torch

from hfgan import BlobLayoutNet
from hfgan.models.blobgan.layout import render_layout
from hfgan.models.blobgan.layout_net import pixel_norm

TINY = dict(latent_dim=8, num_blobs=3, structure_dim=4, style_dim=5, hidden_dim=16, num_layers=2, blob_variance=0.01)


def test_layout_shapes_ranges_and_constraints():
    torch.manual_seed(0)
    net = BlobLayoutNet(**TINY)
    layout = net(torch.randn(6, 8) * 3)
    assert layout.xs.shape == (6, 3) and layout.shapes.shape == (6, 3, 2) and layout.style.shape == (6, 3, 5)
    assert layout.background_structure.shape == (6, 4)
    assert ((0 < layout.xs) & (layout.xs < 1) & (0 < layout.ys) & (layout.ys < 1)).all()
    torch.testing.assert_close(layout.shapes.prod(-1), torch.full((6, 3), 0.01**2))  # area set by s alone
    assert (layout.angles.abs() <= torch.pi).all()
    for features in (layout.structure, layout.style, layout.background_style):  # pixel-normalised: unit RMS
        torch.testing.assert_close(features.pow(2).mean(-1), torch.ones(features.shape[:-1]), rtol=1e-4, atol=1e-4)
    assert render_layout(layout[0], size=32)[0].size == (32, 32)  # it renders


def test_seeded_determinism_and_save_load(tmp_path):
    torch.manual_seed(0)
    net = BlobLayoutNet(**TINY)
    net.compute_mean(256, generator=torch.Generator().manual_seed(1))
    z = torch.randn(4, 8, generator=torch.Generator().manual_seed(2))
    net.save_pretrained(tmp_path)
    loaded = BlobLayoutNet.from_pretrained(tmp_path)
    a, b = net(z, truncation_psi=0.5), loaded(z, truncation_psi=0.5)  # the mean travels with the weights
    for name in ("xs", "sizes", "shapes", "angles", "structure", "background_style"):
        torch.testing.assert_close(getattr(a, name), getattr(b, name))


def test_truncation_pulls_every_layout_to_the_mean():
    torch.manual_seed(0)
    net = BlobLayoutNet(**TINY)
    with pytest.raises(ValueError, match="compute_mean"):
        net(torch.randn(2, 8), truncation_psi=0.7)
    net.compute_mean(512)
    mean = net(torch.randn(5, 8), truncation_psi=0.0)
    torch.testing.assert_close(mean.xs, mean.xs[:1].expand(5, -1))  # psi = 0: one layout for every z
    z = torch.randn(64, 8)
    spread = lambda psi: net(z, truncation_psi=psi).xs.std(0).mean()  # noqa: E731
    assert spread(0.3) < spread(0.7) < spread(1.0)
    with pytest.raises(ValueError, match=r"latents must have shape \(batch_size, 8\)"):
        net(torch.randn(2, 7))


def test_extreme_shape_logits_stay_finite():
    """A shape logit far below zero once underflowed its sigmoid to 0 and made a training run NaN: the shapes keep a
    floor, so the layout, its splat and their gradients stay finite and the aspect ratio stays bounded."""
    torch.manual_seed(0)
    net = BlobLayoutNet(latent_dim=8, num_blobs=3, structure_dim=4, style_dim=4, hidden_dim=16, num_layers=2)
    with torch.no_grad():
        net.blobs.bias.view(3, -1)[:, 3].fill_(-300.0)  # every blob's first shape logit
    z = torch.randn(2, 8)
    layout = net(z)
    (grid,) = layout.splat("structure", [16])
    grid.sum().backward()
    assert torch.isfinite(layout.shapes).all() and torch.isfinite(grid).all()
    assert all(torch.isfinite(p.grad).all() for p in net.parameters() if p.grad is not None)
    ratio = layout.shapes[..., 1] / layout.shapes[..., 0]
    assert ratio.max() <= 101 + 1e-3
    torch.testing.assert_close(layout.shapes.prod(-1), torch.full((2, 3), net.config.blob_variance**2))


def test_max_aspect_ratio_bounds_every_blob_and_survives_save_load(tmp_path):
    """`max_aspect_ratio` r: however far the shape logits go, a blob's long axis is at most r times its short one,
    the area still set by s alone; the bound reaches 2 (it is a bound, not a shrink) and travels with the weights."""
    torch.manual_seed(0)
    net = BlobLayoutNet(**TINY, max_aspect_ratio=2.0)
    with torch.no_grad():
        net.blobs.bias.view(3, -1)[:, 3:5] = torch.tensor([[-300.0, 300.0], [300.0, -300.0], [0.0, 0.0]])
    layout = net(torch.randn(4, 8))
    axes = layout.shapes.sqrt()  # standard deviations along the two axes
    ratio = axes.max(-1).values / axes.min(-1).values  # (B, K)
    torch.testing.assert_close(ratio[:, :2], torch.full((4, 2), 2.0))  # saturated logits reach the bound exactly
    assert ratio.max() <= 2.0 + 1e-5
    torch.testing.assert_close(layout.shapes.prod(-1), torch.full((4, 3), 0.01**2))
    net.save_pretrained(tmp_path)
    assert BlobLayoutNet.from_pretrained(tmp_path).config.max_aspect_ratio == 2.0
    assert BlobLayoutNet(**TINY).config.max_aspect_ratio is None  # the default: the 101 variance ratio above
    for bad in (1.0, 0.5):
        with pytest.raises(ValueError, match=f"max_aspect_ratio must be > 1 .*got {bad}"):
            BlobLayoutNet(**TINY, max_aspect_ratio=bad)


@pytest.mark.parametrize("shared_blob_head", [False, True])
def test_a_fresh_layout_net_spreads_its_blobs(shared_blob_head):
    """With torch's default init the raw outputs had a std of ~0.1, so every blob of every layout sat at the image's
    centre and a one-hour run never spread them: the init gives raw outputs of about unit variance."""
    torch.manual_seed(0)
    net = BlobLayoutNet(latent_dim=64, num_blobs=10, structure_dim=8, style_dim=8, hidden_dim=256, num_layers=4,
                        shared_blob_head=shared_blob_head)
    layout = net(torch.randn(256, 64))
    assert 0.7 < net.raw(torch.randn(256, 64)).std() < 1.5
    assert layout.xs.std(dim=1).mean() > 0.1 and layout.ys.std(dim=1).mean() > 0.1  # blobs apart within an image
    assert layout.sizes.std() > 0.5  # some blobs large, some small


def test_shared_blob_head_tells_blobs_apart_only_by_their_view_of_z(tmp_path):
    """With `shared_blob_head` every blob comes from the same weights: exchanging two blobs' rotations of z exchanges
    the two blobs and changes nothing else, and the rotations travel with the weights."""
    torch.manual_seed(0)
    net = BlobLayoutNet(**TINY, shared_blob_head=True)
    assert net.blobs.out_features == 7 + 4 + 5  # one blob's outputs, not K blobs'
    z = torch.randn(4, 8)
    before = net(z)
    with torch.no_grad():
        net.blob_rotations[[0, 2]] = net.blob_rotations[[2, 0]].clone()
    after = net(z)
    for name in ("xs", "ys", "sizes", "angles", "structure", "style"):
        torch.testing.assert_close(getattr(after, name), getattr(before, name)[:, [2, 1, 0]])
    torch.testing.assert_close(after.background_style, before.background_style)
    net.save_pretrained(tmp_path)
    loaded = BlobLayoutNet.from_pretrained(tmp_path)
    assert loaded.config.shared_blob_head
    torch.testing.assert_close(loaded(z).sizes, after.sizes)


def test_hidden_to_raw_is_the_output_layers_and_project_to_hidden_inverts_them_in_least_squares():
    """`raw(z)` is `hidden_to_raw` of the MLP's last hidden vector; `project_to_hidden` gives back a hidden vector whose
    raw outputs are the given ones when they are in the output layers' image, and otherwise the nearest (the residual
    is orthogonal to every output direction); a shared blob head has no such map."""
    torch.manual_seed(0)
    net = BlobLayoutNet(**TINY)
    z = torch.randn(3, 8)
    hidden = net.mlp(pixel_norm(z))  # (3, H)
    torch.testing.assert_close(net.hidden_to_raw(hidden), net.raw(z))
    weight, bias = net.output_affine()
    assert weight.shape == (net.raw_dim, 16) and bias.shape == (net.raw_dim,)
    with torch.no_grad():
        torch.testing.assert_close(net.project_to_hidden(net.raw(z)), hidden, atol=1e-4, rtol=1e-4)
        off = net.raw(z) + torch.randn(3, net.raw_dim)  # raw layouts the output layers cannot give
        residual = net.hidden_to_raw(net.project_to_hidden(off)) - off  # (3, raw_dim)
        assert residual.norm() > 1
        torch.testing.assert_close(residual @ weight, torch.zeros(3, 16), atol=1e-4, rtol=0)
    shared = BlobLayoutNet(**TINY, shared_blob_head=True)
    for method, argument in ((shared.hidden_to_raw, hidden), (shared.project_to_hidden, net.raw(z))):
        with pytest.raises(ValueError, match="shared_blob_head=True"):
            method(argument)
