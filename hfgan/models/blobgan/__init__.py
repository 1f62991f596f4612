"""BlobGAN (Epstein et al., 2022): noise -> a layout of blobs -> splatted feature maps -> an image.

Built in steps (issue 10). Here so far: `splat` (blob parameters -> opacity maps -> feature grids, pure functions),
`layout` (`BlobLayout`, the editable blobs of a batch, and `render_layout`) and `layout_net` (`BlobLayoutNet`:
noise -> layout). Next: the generator and discriminator, the pipeline, `prepare-scenes` and the training script.
"""
