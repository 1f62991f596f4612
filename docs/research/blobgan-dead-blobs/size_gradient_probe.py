"""What does the zoo's discriminator say about blob sizes? A cheap probe, one thread, no training.

    OMP_NUM_THREADS=1 python docs/research/blobgan-dead-blobs/size_gradient_probe.py

1. dL_G/ds_k per blob index at the released layouts (L_G = softplus(-D(G(layout))), the non-saturating G loss;
   the release's EMA G and layout net, the run's last D), with and without training-time jitter + DiffAugment.
   A positive gradient means the G step (s -= lr * grad) shrinks blob k further.
2. The loss as a function of one blob's size: set s_k to each of -3, -1.5, 0, 1.5, 3 (all images, others as sampled)
   and read L_G and D's mean real-probability: does D call a scene with one more visible blob less real?
Probe on the EMA generator against the raw D: indicative only (the D of the last step was trained against the raw G).
"""
import json

import torch
import torch.nn.functional as F

torch.set_num_threads(1)
from hfgan import BlobGANDiscriminator, BlobGANPipeline  # noqa: E402
from hfgan.augment import DiffAugment  # noqa: E402

N = 64
pipe = BlobGANPipeline.from_pretrained("zoo/blobgan-emoji-scenes")
net, gen = pipe.layout_net.eval(), pipe.generator.eval()
disc = BlobGANDiscriminator.from_pretrained("zoo/blobgan-emoji-scenes/discriminator").eval()
for p in list(gen.parameters()) + list(disc.parameters()) + list(net.parameters()):
    p.requires_grad_(False)
K = net.config.num_blobs
torch.manual_seed(0)
z = torch.randn(N, net.config.latent_dim)
with torch.no_grad():
    layout = net(z)
augment = DiffAugment(["color", "translation"])
out = {}


def g_loss(lay, aug=False, noise="const"):
    img = gen(lay, noise_mode=noise).sample
    logits = disc(augment(img) if aug else img).logits.float().flatten()
    return F.softplus(-logits).mean(), torch.sigmoid(logits).mean()


for name, jitter, aug in (("plain", False, False), ("jitter+augment (as in training, 4 draws)", True, True)):
    grads, losses = [], []
    for draw in range(1 if not jitter else 4):
        torch.manual_seed(100 + draw)
        sizes = layout.sizes.clone().requires_grad_(True)
        lay = layout._with(sizes=sizes)
        if jitter:
            lay = lay.jittered(0.04, 0.5, 0.1)
        loss, _ = g_loss(lay, aug, "random" if jitter else "const")
        (g,) = torch.autograd.grad(loss * N, sizes)  # per-image gradient (the mean's gradient times N)
        grads.append(g)
        losses.append(float(loss))
    g = torch.stack(grads).mean(0)  # (N, K)
    out[name] = {"loss_G": round(sum(losses) / len(losses), 4),
                 "dL/ds mean per blob (+ = G step shrinks it)": [round(float(v), 4) for v in g.mean(0)],
                 "dL/ds share of images with + sign": [round(float(v), 2) for v in (g > 0).float().mean(0)],
                 "|dL/ds| mean per blob": [round(float(v), 4) for v in g.abs().mean(0)]}

sweep = {}
with torch.no_grad():
    base_loss, base_p = g_loss(layout)
    sweep["as sampled"] = {"loss_G": round(float(base_loss), 4), "D_prob_real": round(float(base_p), 4)}
    for k in range(K):
        row = {}
        for sv in (-3.0, -1.5, 0.0, 1.5, 3.0):
            sizes = layout.sizes.clone()
            sizes[:, k] = sv
            loss, p = g_loss(layout._with(sizes=sizes))
            row[str(sv)] = [round(float(loss), 3), round(float(p), 3)]
        sweep[f"blob {k}"] = row
out["sweep s_k -> [loss_G, D prob real]"] = sweep
print(json.dumps(out, indent=1))
