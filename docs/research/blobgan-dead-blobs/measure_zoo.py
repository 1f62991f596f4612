"""Cheap, single-threaded measurements of zoo/blobgan-emoji-scenes's blobs (read-only).

    OMP_NUM_THREADS=1 python docs/research/blobgan-dead-blobs/measure_zoo.py [N=64] [release folder] > out.json

(about 20 s on one thread for N=64)

Per blob index over N samples (truncation 1, no jitter): raw size s (mean/std/quantiles), peak opacity sigmoid(s) (no
occlusion), peak composite alpha, visible share (composite alpha > 0.5 somewhere, hfgan's definition), coverage
(mean composite alpha over the image), d(alpha mass)/ds, the shape aspect ratio; the layout net's final-layer biases
and weight norms for s, the part of s that comes from w.h, and the same with jitter. Then "does it do anything": for
each blob, move it by dx=0.2 and measure the image change; and grow dead blobs to s=+3 and see what appears.
"""
import json
import math
import sys

import torch

torch.set_num_threads(1)
from hfgan import BlobGANPipeline  # noqa: E402
from hfgan.models.blobgan.layout_net import PER_BLOB  # noqa: E402
from hfgan.models.blobgan.splat import blob_opacities, composite  # noqa: E402

N = int(sys.argv[1]) if len(sys.argv) > 1 else 64
RELEASE = sys.argv[2] if len(sys.argv) > 2 else "zoo/blobgan-emoji-scenes"  # any BlobGAN release folder
pipe = BlobGANPipeline.from_pretrained(RELEASE)
pipe.set_progress_bar_config(disable=True)
net, gen = pipe.layout_net.eval(), pipe.generator.eval()
c = net.config
K, D, E = c.num_blobs, c.structure_dim, c.style_dim
P = PER_BLOB + D + E
out = {}
torch.manual_seed(0)
z = torch.randn(N, c.latent_dim)


def q(t, qs=(0.05, 0.25, 0.5, 0.75, 0.95)):
    return [round(float(v), 3) for v in torch.quantile(t, torch.tensor(qs))]


with torch.no_grad():
    hidden = net.mlp(torch.nn.functional.normalize(z, dim=1) * math.sqrt(c.latent_dim))  # pixel_norm(z)
    raw = net.raw(z)
    layout = net.decode(raw)
    s = layout.sizes  # (N, K)
    # ---- final layer: bias / weights of the size outputs, and the w.h part
    W = net.blobs.weight.view(K, P, -1)  # (K, P, H)
    b = net.blobs.bias.view(K, P)
    size_bias = b[:, 2]
    size_wnorm = W[:, 2].norm(dim=1)
    wh = hidden @ W[:, 2].T  # (N, K)
    out["hidden_rms"] = float(hidden.pow(2).mean().sqrt())
    out["hidden_mean"] = float(hidden.mean())
    out["hidden_l1_per_sample"] = float(hidden.abs().sum(1).mean())
    out["size_bias"] = [round(float(v), 4) for v in size_bias]
    out["size_weight_norm"] = [round(float(v), 3) for v in size_wnorm]
    out["other_weight_norm_mean"] = {name: round(float(W[:, i].norm(dim=1).mean()), 3)
                                     for i, name in enumerate(["x", "y", "s", "shape_a", "shape_b", "dir_u", "dir_v"])}
    out["init_head_weight_norm_expected"] = 1.0  # std hidden**-0.5 over hidden inputs: norm ~ 1
    out["structure_row_norm_mean"] = round(float(W[:, PER_BLOB:PER_BLOB + D].norm(dim=2).mean()), 3)
    out["style_row_norm_mean"] = round(float(W[:, PER_BLOB + D:].norm(dim=2).mean()), 3)
    out["all_bias_abs_max"] = round(float(net.blobs.bias.abs().max()), 4)
    out["wh_mean_per_blob"] = [round(float(v), 3) for v in wh.mean(0)]
    out["output_mean_sizes"] = [round(float(v), 3) for v in net.output_mean[: K * P].view(K, P)[:, 2]]
    out["mean_samples"] = int(net.mean_samples)
    # ---- per blob: sizes, opacity, coverage
    S = gen.config.image_size
    op = blob_opacities(*layout.splat_args(), S)  # (N, K, S, S)
    alpha = composite(op)  # (N, K+1, S, S)
    peak_op = op.flatten(2).amax(2)
    peak_alpha = alpha[:, 1:].flatten(2).amax(2)
    cover = alpha[:, 1:].flatten(2).mean(2)
    visible = peak_alpha > 0.5
    shapes = layout.shapes
    aspect = (shapes[..., 0] / shapes[..., 1]).clamp(min=1e-9)
    aspect = torch.maximum(aspect, 1 / aspect)
    grad_mass = (op * (1 - op)).flatten(2).sum(2) / (S * S)  # d(sum_p o_p)/ds in image fractions
    per_blob = []
    for k in range(K):
        per_blob.append({
            "blob": k,
            "s_mean": round(float(s[:, k].mean()), 3), "s_std": round(float(s[:, k].std()), 3),
            "s_q05_25_50_75_95": q(s[:, k]),
            "sigmoid_s_mean": round(float(torch.sigmoid(s[:, k]).mean()), 3),
            "sigmoid_grad_at_centre_mean": round(float((torch.sigmoid(s[:, k]) * (1 - torch.sigmoid(s[:, k]))).mean()), 4),
            "peak_opacity_mean": round(float(peak_op[:, k].mean()), 3),
            "peak_alpha_mean": round(float(peak_alpha[:, k].mean()), 3),
            "visible_share": round(float(visible[:, k].float().mean()), 3),
            "coverage_mean": round(float(cover[:, k].mean()), 4),
            "dmass_ds_mean": round(float(grad_mass[:, k].mean()), 5),
            "aspect_median": round(float(aspect[:, k].median()), 2),
            "x_std": round(float(layout.xs[:, k].std()), 3), "y_std": round(float(layout.ys[:, k].std()), 3),
        })
    out["per_blob"] = per_blob
    out["visible_per_sample_mean"] = round(float(visible.sum(1).float().mean()), 3)
    out["visible_per_sample_hist"] = torch.bincount(visible.sum(1), minlength=K + 1).tolist()
    out["background_coverage_mean"] = round(float(alpha[:, 0].mean()), 3)
    out["all_s_mean"] = round(float(s.mean()), 3)
    out["all_s_quantiles_05_25_50_75_95"] = q(s.flatten())
    # correlation between the blob sizes of different indices (do live blobs trade off?)
    cs = torch.corrcoef(s.T)
    out["size_corr_offdiag_mean"] = round(float((cs.sum() - K) / (K * K - K)), 3)
    # ---- visibility with training-time jitter (size +-0.5 etc.): what D saw
    torch.manual_seed(1)
    jl = layout.jittered(0.04, 0.5, 0.1)
    out["visible_per_sample_with_jitter"] = round(float((composite(blob_opacities(*jl.splat_args(), S))[:, 1:]
                                                         .flatten(2).amax(2) > 0.5).sum(1).float().mean()), 3)
    # ---- does moving blob k move something? image change inside old+new footprint vs total
    base = gen(layout, noise_mode="const").sample
    moves = []
    for k in range(K):
        moved = layout.move(k, dx=0.2)
        img = gen(moved, noise_mode="const").sample
        diff = (img - base).abs().mean(1)  # (N, S, S)
        a_old = alpha[:, k + 1]
        a_new = composite(blob_opacities(*moved.splat_args(), S))[:, k + 1]
        foot = (a_old > 0.5) | (a_new > 0.5)
        total = diff.flatten(1).sum(1)
        inside = (diff * foot).flatten(1).sum(1)
        moves.append({"blob": k, "mean_abs_change": round(float(diff.mean()), 4),
                      "change_when_visible": round(float(diff.mean((1, 2))[visible[:, k]].mean()), 4) if visible[:, k].any() else None,
                      "change_when_hidden": round(float(diff.mean((1, 2))[~visible[:, k]].mean()), 4) if (~visible[:, k]).any() else None,
                      "share_inside_footprint_when_visible": round(float((inside / total.clamp(min=1e-9))[visible[:, k]].mean()), 3) if visible[:, k].any() else None})
    out["move_dx0.2"] = moves
    # ---- grow each blob to s = 3 (a visible disc of radius ~0.17): does G draw an object there?
    grows = []
    for k in range(K):
        sizes = layout.sizes.clone()
        sizes[:, k] = 3.0
        grown = layout._with(sizes=sizes)
        img = gen(grown, noise_mode="const").sample
        diff = (img - base).abs().mean(1)
        a_new = composite(blob_opacities(*grown.splat_args(), S))[:, k + 1] > 0.5
        inside = (diff * a_new).flatten(1).sum(1) / a_new.flatten(1).sum(1).clamp(min=1)
        outside = (diff * ~a_new).flatten(1).sum(1) / (~a_new).flatten(1).sum(1).clamp(min=1)
        # colour contrast of the grown region against the rest of the image
        m = a_new[:, None].float()
        mean_in = (img * m).sum((2, 3)) / m.sum((2, 3)).clamp(min=1)
        mean_out = (img * (1 - m)).sum((2, 3)) / (1 - m).sum((2, 3)).clamp(min=1)
        grows.append({"blob": k, "change_inside": round(float(inside.mean()), 4), "change_outside": round(float(outside.mean()), 4),
                      "rgb_contrast_in_vs_out": round(float((mean_in - mean_out).abs().mean()), 4),
                      "image_std_inside": round(float(((img - mean_in[..., None, None]) ** 2 * m).sum((1, 2, 3)).div(3 * m.sum((1, 2, 3)).clamp(min=1)).sqrt().mean()), 4)})
    out["grow_to_s3"] = grows
    # theory: mass(s) = pi v softplus(s), d mass/ds = pi v sigmoid(s), v = blob_variance
    v = c.blob_variance
    out["theory_mass_and_grad"] = {str(sv): {"mass": round(math.pi * v * math.log1p(math.exp(sv)), 5),
                                             "dmass_ds": round(math.pi * v / (1 + math.exp(-sv)), 5),
                                             "r_at_o=0.5": round(math.sqrt(v * sv), 3) if sv > 0 else 0.0}
                                    for sv in (-5, -3, -1.4, 0, 1, 2, 4, 6, 9)}
print(json.dumps(out, indent=1))
