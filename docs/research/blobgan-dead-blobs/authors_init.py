"""At initialisation, how much of a blob's size s is a per-index constant (the same for every z) and how much varies
with z? The authors' LayoutGenerator (src/models/networks/layoutnet.py: StyleMLP(8 layers, 1024 wide, lr_mul 0.01,
first_dim 512), EqualLinear weights randn/lr_mul * lr_mul/sqrt(fan_in), bias 0, fused_lrelu = leaky_relu(x + b, 0.2) *
sqrt(2), PixelNorm on z, no activation on the last layer) re-written in plain torch, against hfgan's BlobLayoutNet
(4 hidden layers of 256, He init, unit-variance heads).

    OMP_NUM_THREADS=1 python docs/research/blobgan-dead-blobs/authors_init.py
"""
import math

import torch
import torch.nn.functional as F

torch.set_num_threads(1)
from hfgan import BlobLayoutNet  # noqa: E402
from hfgan.models.blobgan.layout_net import pixel_norm  # noqa: E402


def authors_sizes(z, n_layers=8, hidden=1024, lr_mul=0.01, n_sizes=11, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = z * torch.rsqrt(z.pow(2).mean(-1, keepdim=True) + 1e-5)
    for i in range(n_layers):
        d_in = z.shape[1] if i == 0 else hidden
        d_out = hidden if i + 1 < n_layers else n_sizes
        w = torch.randn(d_out, d_in, generator=g) / lr_mul * (lr_mul / math.sqrt(d_in))
        x = x @ w.T
        if i + 1 < n_layers:
            x = F.leaky_relu(x, 0.2) * math.sqrt(2)
    return x[:, 1:]  # sizes[:, 0] is the background's (unused in splatting)


def report(name, s):
    per_index_mean = s.mean(0)
    within = s.std(0).mean()
    vis = (s > 0).float().mean(0)  # a lone circular blob has peak opacity > 0.5 iff s > 0
    print(f"{name}: per-index mean of s: {[round(float(v), 2) for v in per_index_mean]}")
    print(f"   spread of the per-index means (std over indices): {float(per_index_mean.std()):.2f}; "
          f"within-index std over z: {float(within):.2f}; ratio {float(per_index_mean.std() / within):.2f}")
    print(f"   share of z with s > 0 per index: {[round(float(v), 2) for v in vis]}")


z = torch.randn(2048, 512, generator=torch.Generator().manual_seed(1))
for seed in (0, 1, 2):
    report(f"authors LayoutGenerator init (seed {seed})", authors_sizes(z, seed=seed))
for seed in (0, 1, 2):
    torch.manual_seed(seed)
    net = BlobLayoutNet(64, 10, 64, 64, 256, 4, 0.01)
    with torch.no_grad():
        lay = net(torch.randn(2048, 64, generator=torch.Generator().manual_seed(1)))
        h = net.mlp(pixel_norm(torch.randn(2048, 64, generator=torch.Generator().manual_seed(1))))
    print(f"hfgan hidden mean {float(h.mean()):.3f}, rms {float(h.pow(2).mean().sqrt()):.3f}")
    report(f"hfgan BlobLayoutNet init (seed {seed})", lay.sizes)
