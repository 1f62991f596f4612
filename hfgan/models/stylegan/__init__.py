"""The StyleGAN family: StyleGAN2 and StyleGAN3 (configs T and R), with NVIDIA's parameter names.

- `generator`: what both generators share (`map`, `forward`, [`StyleGANGeneratorOutput`]).
- `mapping`: z (and a label) -> w, with the running mean of w that truncation uses.
- `stylegan2`: [`StyleGAN2Generator`] and [`StyleGAN2Discriminator`] (the discriminator of both generations).
- `directions`: [`EditDirections`], named edit directions in w (found by `hfgan.editing`).
- `stylegan3`: [`StyleGAN3Generator`], its Fourier-feature input and alias-free synthesis layers.

Parameter names are NVIDIA's (docs/stylegan.md), so their pickles convert by copying tensors.
"""
