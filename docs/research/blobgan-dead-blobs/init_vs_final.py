"""Rebuild the zoo run's initial BlobLayoutNet (train_blobgan.py: torch.manual_seed(0), then BlobLayoutNet(...) first;
layout_net.py's init has not changed since commit 7967d84, the code the zoo run used) and compare it with the release.

    OMP_NUM_THREADS=1 python docs/research/blobgan-dead-blobs/init_vs_final.py

Do the blobs that won already start large (a per-index head start), and how far did each part of the net move?
(The release holds the EMA weights; EMA at decay 0.999 trails the raw weights by ~1000 steps, close enough here.)
"""
import json

import torch

torch.set_num_threads(1)
from hfgan import BlobGANPipeline, BlobLayoutNet  # noqa: E402
from hfgan.models.blobgan.layout_net import PER_BLOB, pixel_norm  # noqa: E402
from hfgan.models.blobgan.splat import blob_opacities, composite  # noqa: E402

final = BlobGANPipeline.from_pretrained("zoo/blobgan-emoji-scenes").layout_net.eval()
c = final.config
torch.manual_seed(0)
init = BlobLayoutNet(c.latent_dim, c.num_blobs, c.structure_dim, c.style_dim, c.hidden_dim, c.num_layers,
                     c.blob_variance).eval()
K, D, E = c.num_blobs, c.structure_dim, c.style_dim
P = PER_BLOB + D + E
out = {}
g = torch.Generator().manual_seed(123)
z = torch.randn(512, c.latent_dim, generator=g)
with torch.no_grad():
    for name, net in (("init", init), ("final", final)):
        lay = net(z)
        vis = composite(blob_opacities(*lay.splat_args(), 64))[:, 1:].flatten(2).amax(2) > 0.5
        h = net.mlp(pixel_norm(z))
        out[name] = {"s_mean_per_blob": [round(float(v), 2) for v in lay.sizes.mean(0)],
                     "s_std_per_blob": [round(float(v), 2) for v in lay.sizes.std(0)],
                     "visible_share_per_blob": [round(float(v), 2) for v in vis.float().mean(0)],
                     "visible_per_sample": round(float(vis.sum(1).float().mean()), 2),
                     "hidden_mean": round(float(h.mean()), 3), "hidden_rms": round(float(h.pow(2).mean().sqrt()), 3)}
    # how far each parameter moved, relative to its init
    moved = {}
    for (n, p0), (_, p1) in zip(init.named_parameters(), final.named_parameters()):
        moved[n] = {"rel_change": round(float((p1 - p0).norm() / p0.norm().clamp(min=1e-12)), 4),
                    "max_abs_change": round(float((p1 - p0).abs().max()), 5),
                    "mean_abs_change": round(float((p1 - p0).abs().mean()), 6)}
    out["param_change"] = moved
    W0, W1 = init.blobs.weight.view(K, P, -1), final.blobs.weight.view(K, P, -1)
    h1 = final.mlp(pixel_norm(z))
    h0 = init.mlp(pixel_norm(z))
    dW = W1[:, 2] - W0[:, 2]  # (K, H), size rows
    out["size_row"] = {
        "cos_init_final": [round(float(torch.cosine_similarity(W0[k, 2], W1[k, 2], dim=0)), 3) for k in range(K)],
        "delta_w_norm": [round(float(dW[k].norm()), 3) for k in range(K)],
        "delta_w_abs_mean": [round(float(dW[k].abs().mean()), 4) for k in range(K)],
        "s_shift_from_head_change_(dW.E[h_final])": [round(float(dW[k] @ h1.mean(0)), 2) for k in range(K)],
        "s_shift_from_trunk_change_(W0.(E[h_final]-E[h_init]))": [round(float(W0[k, 2] @ (h1.mean(0) - h0.mean(0))), 2) for k in range(K)],
    }
    out["note"] = ("Adam moves each weight by at most ~lr per step: 2e-5 * 3065 steps = 0.061 max; "
                   "a coherent shift of all 256 weights of a size row along E[h] (mean ~0.7) moves s by up to "
                   "0.061 * 256 * 0.7 ~ 11")
print(json.dumps(out, indent=1))
