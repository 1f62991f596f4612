"""BlobGAN (Epstein et al., 2022): noise -> a layout of blobs -> splatted feature maps -> an image.

- `splat`: blob parameters -> opacity maps -> feature grids (pure functions, shapes documented).
- `layout`: `BlobLayout`, the editable blobs of a batch (move, resize, remove, restyle, duplicate), and
  `render_layout` to look at one.
- `layout_net`: `BlobLayoutNet`, noise -> layout; `decode_layout`, the raw layout vector -> layout (shared with the
  encoder).
- `layers`: StyleGAN2's pieces (equalised learning rate, spatially modulated convolution, noise, minibatch std).
- `generator`: `BlobGANGenerator`, layout -> image. `discriminator`: `BlobGANDiscriminator`.
- `encoder`: `BlobGANEncoder`, image -> layout (inversion: the discriminator's architecture asked for blobs).

The pipeline is `hfgan.BlobGANPipeline`; the training script `training/train_blobgan.py`; see docs/blobgan.md.
"""
