"""Splatting against hand computations (issue 10's list): where a blob peaks, how opacity falls, size, depth order,
removal, and that the alphas share every pixel out exactly."""

import math

import torch

from hfgan.models.blobgan.splat import blob_opacities, composite, pixel_grid, splat, splat_layout


def layout(centers, variances, angles, sizes):
    """One image's layout as (1, K, ...) tensors."""
    t = lambda v: torch.tensor(v, dtype=torch.float64)[None]  # noqa: E731
    return t(centers), t(variances), t(angles), t(sizes)


def test_a_circular_blob_peaks_at_its_centre_and_fades_with_distance():
    centers, variances, angles, sizes = layout([[0.5, 0.5]], [[0.01, 0.01]], [0.0], [2.0])
    o = blob_opacities(centers, variances, angles, sizes, grid_size=16)[0, 0]  # (16, 16)
    assert o.shape == (16, 16)
    peak = torch.nonzero(o == o.max()).tolist()
    assert sorted(peak) == [[7, 7], [7, 8], [8, 7], [8, 8]]  # the four pixels around the centre (0.5, 0.5)
    x, y = pixel_grid(16, dtype=torch.float64)
    d2 = ((x - 0.5) ** 2 + (y - 0.5) ** 2) / 0.01  # Mahalanobis distance of a circular blob
    torch.testing.assert_close(o, torch.sigmoid(2.0 - d2))  # o = sigmoid(s - d^2), by hand
    order = torch.argsort(d2.flatten())
    assert (o.flatten()[order].diff() <= 1e-12).all()  # farther pixels are never more opaque


def test_an_ellipse_is_rotated_by_its_angle():
    # long along its first axis (a = 0.04 vs b = 0.002); at theta = pi/2 that axis points down the y axis
    centers, variances, angles, sizes = layout([[0.5, 0.5]], [[0.04, 0.002]], [math.pi / 2], [1.0])
    o = blob_opacities(centers, variances, angles, sizes, grid_size=32)[0, 0]
    rows, cols = torch.nonzero(o > 0.5, as_tuple=True)
    assert rows.max() - rows.min() > 3 * (cols.max() - cols.min())  # tall and thin
    x, y = pixel_grid(32, dtype=torch.float64)
    d2 = (y - 0.5) ** 2 / 0.04 + (x - 0.5) ** 2 / 0.002  # u = dy, v = -dx at theta = pi/2
    torch.testing.assert_close(o, torch.sigmoid(1.0 - d2))


def test_a_larger_size_covers_more_pixels():
    covered = []
    for s in (-1.0, 0.5, 2.0, 4.0):
        o = blob_opacities(*layout([[0.4, 0.6]], [[0.01, 0.02]], [0.3], [s]), grid_size=32)
        covered.append(int((o > 0.5).sum()))
    assert covered[0] == 0 and covered == sorted(covered) and covered[-1] > covered[1] > 0


def test_a_higher_index_is_in_front_and_the_alphas_sum_to_one():
    # two strong blobs at the same place: blob 2 (index 1) covers blob 1 (index 0)
    o = blob_opacities(*layout([[0.5, 0.5], [0.5, 0.5]], [[0.02, 0.02]] * 2, [0.0, 0.0], [6.0, 6.0]), grid_size=8)
    alphas = composite(o)  # (1, 3, 8, 8): background, blob 1, blob 2
    torch.testing.assert_close(alphas.sum(1), torch.ones(1, 8, 8, dtype=torch.float64))
    centre = (0, slice(None), 4, 4)
    o1, o2 = o[0, 0, 4, 4], o[0, 1, 4, 4]
    torch.testing.assert_close(alphas[centre], torch.stack([(1 - o1) * (1 - o2), o1 * (1 - o2), o2]))
    assert alphas[0, 2, 4, 4] > 0.99 and alphas[0, 1, 4, 4] < 0.01
    phi = torch.tensor([[[0.0], [1.0], [2.0]]], dtype=torch.float64)  # background 0, blob 1 -> 1, blob 2 -> 2
    assert splat(alphas, phi)[0, 0, 4, 4] > 1.98  # the front blob's feature wins


def test_a_removed_blob_leaves_the_background():
    features = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]], dtype=torch.float64)  # background, blob
    kept = splat_layout(*layout([[0.5, 0.5]], [[0.02, 0.02]], [0.0], [4.0]), features, [8, 16])
    removed = splat_layout(*layout([[0.5, 0.5]], [[0.02, 0.02]], [0.0], [-100.0]), features, [8, 16])
    assert [tuple(g.shape) for g in removed] == [(1, 2, 8, 8), (1, 2, 16, 16)]  # every requested resolution
    for grid in removed:
        torch.testing.assert_close(grid, features[0, 0][None, :, None, None].expand_as(grid))
    assert kept[1][0, 1, 8, 8] > 0.9  # while present, the blob's feature fills its centre


def test_batches_and_blobs_are_splatted_at_once():
    torch.manual_seed(0)
    b, k, c = 3, 5, 4
    centers, variances = torch.rand(b, k, 2), torch.rand(b, k, 2) * 0.05 + 0.005
    angles, sizes, features = torch.rand(b, k) * math.pi, torch.randn(b, k) * 2, torch.randn(b, k + 1, c)
    (grid,) = splat_layout(centers, variances, angles, sizes, features, [8])
    assert grid.shape == (b, c, 8, 8)
    one = splat_layout(centers[1:2], variances[1:2], angles[1:2], sizes[1:2], features[1:2], [8])[0]
    torch.testing.assert_close(grid[1:2], one)  # each image depends on its own layout only


def test_blob_alphas_are_composite_of_blob_opacities_with_their_gradients():
    """The generator's blob-by-blob form against the equations as written: rotated, elongated, overlapping blobs,
    one hidden and one off the frame, values and gradients."""
    from hfgan.models.blobgan.splat import blob_alphas

    torch.manual_seed(0)
    b, k = 3, 5
    centers = torch.rand(b, k, 2, dtype=torch.float64) * 1.4 - 0.2  # some outside [0, 1]^2
    variances = torch.rand(b, k, 2, dtype=torch.float64) * 0.03 + 0.002
    angles = torch.rand(b, k, dtype=torch.float64) * 2 * math.pi
    sizes = torch.randn(b, k, dtype=torch.float64) * 2
    inputs = [t.requires_grad_(True) for t in (centers, variances, angles, sizes)]
    for grid in (1, 8, 13):
        reference = composite(blob_opacities(*inputs, grid))
        fused = blob_alphas(*inputs, grid)
        torch.testing.assert_close(fused, reference, rtol=0, atol=1e-12)
        weights = torch.rand_like(reference)
        expected = torch.autograd.grad((reference * weights).sum(), inputs)
        got = torch.autograd.grad((fused * weights).sum(), inputs)
        for g, e in zip(got, expected):
            torch.testing.assert_close(g, e, rtol=1e-9, atol=1e-10)
    # the hand-written backward against finite differences, fed an expanded gradient (what .sum() sends back)
    assert torch.autograd.gradcheck(lambda *args: blob_alphas(*args, 5).sum(), inputs)


def test_splat_is_the_alpha_weighted_sum_of_features_in_channels_last_memory():
    torch.manual_seed(0)
    alphas = torch.rand(3, 5, 8, 8, dtype=torch.float64).softmax(dim=1)  # (B, K + 1, S, S)
    features = torch.randn(3, 5, 7, dtype=torch.float64)  # (B, K + 1, C)
    grid = splat(alphas, features)
    expected = (alphas[:, :, None] * features[:, :, :, None, None]).sum(dim=1)  # sum_i alpha_i(p) phi_i, (B, C, S, S)
    torch.testing.assert_close(grid, expected)
    assert grid.is_contiguous(memory_format=torch.channels_last)  # what makes the convolutions it feeds fast on CPU
