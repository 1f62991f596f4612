"""Splatting: a layout of blobs -> per-blob opacities -> depth-ordered alphas -> feature grids (BlobGAN's Eq. 1-3).

Pure functions of tensors, vectorised over the batch and the pixels.
Coordinates are in [0, 1]^2, x to the right and y downwards; pixel (row r, column c) of an S x S grid sits at its
centre ((c + 0.5) / S, (r + 0.5) / S), so grids of every resolution cover the same square.

For blob i with centre c_i, axis variances a_i, b_i, angle theta_i and size s_i:

    Sigma_i = R(theta_i) diag(a_i, b_i) R(theta_i)^T
    d_i^2(p) = (p - c_i)^T Sigma_i^{-1} (p - c_i)            # squared Mahalanobis distance
    o_i(p) = sigmoid(s_i - d_i^2(p))                          # opacity: about 1 inside d^2 < s, 0 far out
    alpha_i(p) = o_i(p) * prod_{j > i} (1 - o_j(p))           # a higher index is in front
    alpha_0(p) = prod_{j >= 1} (1 - o_j(p))                   # the background (o_0 = 1) fills what is left
    F(p) = sum_{i=0..K} alpha_i(p) * phi_i                    # index 0 is the background's feature

so the alphas sum to 1 at every pixel, and a blob with a very negative s has o ~ 0 everywhere: it is gone.

`blob_opacities` and `composite` are the equations as written, vectorised over blobs and pixels; `blob_alphas` gives
the same alphas (to float rounding) in one pass per blob, front to back, on (B, S, S) slices that stay in the CPU's
cache, with a hand-written backward: about 4x faster at 64 px (docs/blobgan.md#speed), and what the generator uses.
"""

from __future__ import annotations

import torch


def pixel_grid(size: int, device=None, dtype=None) -> tuple[torch.Tensor, torch.Tensor]:
    """x and y of the pixel centres of a size x size grid in [0, 1]: two (size, size) tensors."""
    centres = (torch.arange(size, device=device, dtype=dtype) + 0.5) / size
    y, x = torch.meshgrid(centres, centres, indexing="ij")
    return x, y


def blob_opacities(
    centers: torch.Tensor, variances: torch.Tensor, angles: torch.Tensor, sizes: torch.Tensor, grid_size: int
) -> torch.Tensor:
    """Opacity of each blob at each pixel.

    Args:
        centers: (B, K, 2), the blobs' (x, y) in [0, 1].
        variances: (B, K, 2), a and b > 0: the variances along the blob's own axes before rotation.
        angles: (B, K), theta in radians: the first axis points along (cos theta, sin theta) (y points down,
            so a positive angle turns clockwise on screen).
        sizes: (B, K), s: the blob covers roughly d^2 < s.
        grid_size: S.

    Returns:
        (B, K, S, S) opacities o_i(p) in (0, 1).
    """
    row, column, dy, cross = _logit_terms(centers, variances, angles, sizes, grid_size)
    return torch.sigmoid(row[..., :, None] - column[..., None, :] - dy[..., :, None] * cross[..., None, :])


def _logit_terms(centers, variances, angles, sizes, grid_size: int) -> tuple[torch.Tensor, ...]:
    """The opacity logit s - d^2 as per-row and per-column (B, K, S) vectors: s - d^2 at (row r, column c) is
    row[r] - column[c] - dy[r] * cross[c].

    d^2 = (p - c)^T Sigma^-1 (p - c) = A dx^2 + 2 B dx dy + C dy^2, with Sigma^-1 = R diag(1/a, 1/b) R^T; dx varies
    only along a row and dy only down a column, so the squares are taken on (S,)-vectors, not on full grids."""
    x, y = pixel_grid(grid_size, centers.device, centers.dtype)  # (S, S) each
    cos, sin = torch.cos(angles), torch.sin(angles)  # (B, K)
    inv_a, inv_b = 1 / variances[..., 0], 1 / variances[..., 1]
    a_xx = cos**2 * inv_a + sin**2 * inv_b
    a_xy = cos * sin * (inv_a - inv_b)
    a_yy = sin**2 * inv_a + cos**2 * inv_b
    dx = x[0] - centers[..., 0, None]  # (B, K, S): x of each column minus the centre
    dy = y[:, 0] - centers[..., 1, None]  # (B, K, S): y of each row minus the centre
    row = sizes[..., None] - a_yy[..., None] * dy**2  # s - C dy^2
    column = a_xx[..., None] * dx**2  # A dx^2
    cross = 2 * a_xy[..., None] * dx  # 2 B dx, times dy per row
    return row, column, dy, cross


def composite(opacities: torch.Tensor) -> torch.Tensor:
    """Depth-ordered alphas (B, K + 1, S, S) from opacities (B, K, S, S): index 0 is the background, and blob i
    (alpha index i + 1) is covered by every blob after it. The alphas sum to 1 at every pixel."""
    clear = 1 - opacities  # (B, K, S, S)
    # transmittance in front of blob i: prod_{j > i} (1 - o_j), an exclusive cumulative product from the back
    in_front = torch.cumprod(torch.cat([torch.ones_like(clear[:, :1]), clear.flip(1)[:, :-1]], dim=1), dim=1).flip(1)
    background = in_front[:, :1] * clear[:, :1]  # prod over every blob, (B, 1, S, S)
    return torch.cat([background, opacities * in_front], dim=1)


def blob_alphas(
    centers: torch.Tensor, variances: torch.Tensor, angles: torch.Tensor, sizes: torch.Tensor, grid_size: int
) -> torch.Tensor:
    """`composite(blob_opacities(...))`, the depth-ordered alphas (B, K + 1, S, S) with the background first: every
    opacity in two in-place passes, then one pass per blob from the front, alpha_i = T * o_i and T <- T - alpha_i,
    T the transmittance in front of blob i (so T * (1 - o_i), without a division), on (B, S, S) slices, where the
    vectorised form makes about ten passes over (B, K, S, S) tensors; the gradient is written out by hand
    (`_CompositeAlphas`) instead of recorded op by op. Arguments as `blob_opacities`'."""
    return _CompositeAlphas.apply(*_logit_terms(centers, variances, angles, sizes, grid_size))


class _CompositeAlphas(torch.autograd.Function):
    """Alphas (B, K + 1, S, S) from the opacity logits' terms (`_logit_terms`, (B, K, S) each).

    Backward, with g_i = dL/dalpha_i (blob i at alpha index i + 1, the background's g_bg at 0) and T_i what blobs
    i..K-1 let through, prod_{j >= i} (1 - o_j) (T_0 = alpha_bg, T_{i+1} = T_i + alpha_i): alpha_i = T_{i+1} o_i and
    T_i = T_{i+1} (1 - o_i), so with G_i = dL/dT_i, running from the back (G_0 = g_bg),

        dL/do_i = T_{i+1} (g_i - G_i),    G_{i+1} = G_i + o_i (g_i - G_i),

    and dL/dz_i = dL/do_i * o_i (1 - o_i) for the logit z = row[r] - column[c] - dy[r] cross[c], whose terms get its
    row and column sums. Only the opacities and the alphas are kept for it: forward and backward at 64 px about a
    fifth faster than autograd's record of the same loop, the forward alone a third (docs/blobgan.md#speed)."""

    @staticmethod
    def forward(ctx, row, column, dy, cross):
        b, k, s = row.shape
        # s - d^2 for every blob and pixel, then its sigmoid, in place: (B, K, S, S)
        opacities = torch.sub(row[..., :, None], column[..., None, :])
        opacities = opacities.addcmul_(dy[..., :, None], cross[..., None, :], value=-1).sigmoid_()
        alphas = row.new_empty(b, k + 1, s, s)
        transmittance = alphas[:, 0].fill_(1)  # ends as the background's alpha: what every blob lets through
        for i in reversed(range(k)):  # the front blob first
            torch.mul(transmittance, opacities[:, i], out=alphas[:, i + 1])
            transmittance.sub_(alphas[:, i + 1])
        ctx.save_for_backward(opacities, alphas, dy, cross)
        return alphas

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad):
        opacities, alphas, dy, cross = ctx.saved_tensors
        grad_logits = torch.empty_like(opacities)  # (B, K, S, S)
        grad_behind = grad[:, 0].clone()  # G_i = dL/dT_i, from the background forward
        transmittance = alphas[:, 0].clone()  # T_i
        slope = torch.empty_like(transmittance)
        for i in range(opacities.shape[1]):  # the back blob first, on (B, S, S) slices
            o = opacities[:, i]
            transmittance.add_(alphas[:, i + 1])  # T_{i+1}
            g = torch.sub(grad[:, i + 1], grad_behind, out=grad_logits[:, i])  # g_i - G_i
            grad_behind.addcmul_(o, g)  # G_{i+1}
            torch.addcmul(o, o, o, value=-1, out=slope)  # o (1 - o), the sigmoid's slope
            g.mul_(transmittance).mul_(slope)  # dL/dz_i
        grad_row = grad_logits.sum(dim=-1)  # (B, K, S)
        grad_column = -grad_logits.sum(dim=-2)
        grad_dy = -(grad_logits @ cross.unsqueeze(-1)).squeeze(-1)
        grad_cross = -(dy.unsqueeze(-2) @ grad_logits).squeeze(-2)
        return grad_row, grad_column, grad_dy, grad_cross


def halve(grid: torch.Tensor) -> torch.Tensor:
    """(..., S, S) -> (..., S / 2, S / 2): the mean of each 2x2 block (for alphas, the alpha over each pixel of the
    coarser grid), as four strided slices: about 3x faster on a CPU than `avg_pool2d`."""
    return (grid[..., ::2, ::2] + grid[..., 1::2, ::2] + grid[..., ::2, 1::2] + grid[..., 1::2, 1::2]) / 4


def splat(alphas: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
    """Feature grid F(p) = sum_i alpha_i(p) phi_i: alphas (B, K + 1, S, S) and features (B, K + 1, C), background
    first, give (B, C, S, S) in channels-last memory (`torch.channels_last`).

    The product runs as pixels x blobs times blobs x channels: with only K + 1 blobs to sum over, the channels-first
    product is bound by writing its output in strips, about 4x slower on a CPU at 64 px; and the convolutions the
    grid feeds run channels-last too, which makes a CPU generator forward about a fifth faster (docs/blobgan.md#speed).
    """
    if alphas.shape[:2] != features.shape[:2]:
        raise ValueError(f"alphas {tuple(alphas.shape)} and features {tuple(features.shape)} disagree on (B, K + 1)")
    b, _, h, w = alphas.shape
    grid = torch.bmm(alphas.flatten(2).transpose(1, 2), features)  # (B, S * S, C)
    return grid.view(b, h, w, -1).permute(0, 3, 1, 2)  # (B, C, S, S), channels-last strides


def splat_layout(
    centers: torch.Tensor,
    variances: torch.Tensor,
    angles: torch.Tensor,
    sizes: torch.Tensor,
    features: torch.Tensor,
    grid_sizes: list[int] | tuple[int, ...],
) -> list[torch.Tensor]:
    """`splat` of one layout's features at several resolutions (the generator's input grid, every layer's style
    map): one (B, C, S, S) grid per size in `grid_sizes`."""
    return [splat(blob_alphas(centers, variances, angles, sizes, s), features) for s in grid_sizes]
