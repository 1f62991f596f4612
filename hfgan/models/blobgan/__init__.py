"""BlobGAN (Epstein et al., 2022): noise -> a layout of blobs -> splatted feature maps -> an image.

Built in steps (issue 10). Here so far: `splat` (blob parameters -> opacity maps -> feature grids, pure functions)
and `layout` (`BlobLayout`, the editable blobs of a batch, and `render_layout`). Next: the layout network, the
generator and discriminator, the pipeline, `prepare-scenes` and the training script.
"""
