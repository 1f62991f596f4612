"""How long the visible blobs of a BlobGAN release are (round 12): over N sampled layouts, the ratio of each visible
blob's long axis to its short one (the square root of its two variances' ratio), median and 90th percentile.

    OMP_NUM_THREADS=1 python docs/research/blobgan-dead-blobs/blob_axes.py RELEASE [N=256]
"""
import json
import sys

import torch

from hfgan import BlobGANPipeline
from hfgan.metrics.inversion import visible_blobs

release, n = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 256
pipe = BlobGANPipeline.from_pretrained(release)
torch.manual_seed(0)
with torch.no_grad():
    layout = pipe.layout_net(torch.randn(n, pipe.layout_net.config.latent_dim))
    visible = visible_blobs(layout, pipe.generator.config.image_size)  # (N, K) booleans
    a, b = layout.shapes[..., 0], layout.shapes[..., 1]
    axes = torch.maximum(a / b, b / a)[visible].sqrt()  # one ratio >= 1 per visible blob
median, p90 = torch.quantile(axes, torch.tensor([0.5, 0.9])).tolist()
print(json.dumps({"release": release, "samples": n, "visible_blobs": int(visible.sum()),
                  "axes_ratio_median": round(median, 2), "axes_ratio_p90": round(p90, 2),
                  "max_aspect_ratio": pipe.layout_net.config.max_aspect_ratio}))
