"""Named sizes of a whole BlobGAN family: each class's keyword arguments, chosen to fit together.

The classes' own defaults are one such set, the CPU recipe (`training/configs/model/blobgan_small.yaml`: 64 px, 10
blobs, 64-d features, an 8x8 input grid, 8-64 channels), so `BlobGANPipeline(layout_net=BlobLayoutNet(),
generator=BlobGANGenerator())` fits together as it is. The paper's 256 px sizes are `PAPER_256`:

```py
>>> from hfgan import BlobGANGenerator, BlobGANPipeline, BlobLayoutNet
>>> from hfgan.models.blobgan.presets import PAPER_256

>>> pipe = BlobGANPipeline(layout_net=BlobLayoutNet(**PAPER_256["layout_net"]),
...                        generator=BlobGANGenerator(**PAPER_256["generator"]))  # about 36M parameters
```

A saved model's `config.json` holds every argument, so these sizes and the defaults only matter for new models.
"""

from __future__ import annotations

# Epstein et al. (2022) at 256 px: 512-d noise and features, an 8-layer 1024-wide layout MLP, a 16x16 input grid and
# StyleGAN2 config-f widths (512 channels up to 64 px, 256 at 128, 128 at 256) in the generator and the
# discriminator; the generator's alphas made at 256 px and averaged down to each grid (`pooled_alphas`, the authors'
# `pyramid_resize`); the encoder has the discriminator's architecture and widths. Keys are BlobGANPipeline's component
# names plus "discriminator"; training/configs/model/blobgan256.yaml holds the same sizes for training.
PAPER_256: dict[str, dict[str, int | float | bool | None]] = {
    "layout_net": dict(latent_dim=512, num_blobs=10, structure_dim=512, style_dim=512, hidden_dim=1024, num_layers=8,
                       blob_variance=0.01, shared_blob_head=False, max_aspect_ratio=None),
    "generator": dict(image_size=256, input_size=16, structure_dim=512, style_dim=512, channel_base=32768,
                      channel_max=512, pooled_alphas=True),
    "discriminator": dict(image_size=256, channel_base=32768, channel_max=512),
    "encoder": dict(image_size=256, num_blobs=10, structure_dim=512, style_dim=512, blob_variance=0.01,
                    max_aspect_ratio=None, channel_base=32768, channel_max=512),
}
