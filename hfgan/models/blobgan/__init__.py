"""BlobGAN (Epstein et al., 2022): noise -> a layout of blobs -> splatted feature maps -> an image.

- `splat`: blob parameters -> opacity maps -> feature grids (pure functions, shapes documented).
- `layout`: `BlobLayout`, the editable blobs of a batch (move, resize, remove, restyle, duplicate), and
  `render_layout` to look at one.
- `layout_net`: `BlobLayoutNet`, noise -> layout; `decode_layout`, the raw layout vector -> layout (shared with the
  encoder).
- `generator`: `BlobGANGenerator`, layout -> image. `discriminator`: `BlobGANDiscriminator`.
- `encoder`: `BlobGANEncoder`, image -> layout (inversion: the discriminator's architecture asked for blobs).
- `presets`: named sizes of the whole family (`PAPER_256`); the classes' defaults are the CPU recipe's, and fit.

The generator, the discriminator and the encoder are made of StyleGAN2's layers (`hfgan.models.layers.stylegan2`).
The pipeline is `hfgan.BlobGANPipeline`; the training script `training/train_blobgan.py`; see docs/blobgan.md.
"""
