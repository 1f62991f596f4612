"""Building blocks shared by model families, in plain PyTorch; no public names of their own (import the modules).

- `stylegan2`: StyleGAN2's layers (equalised learning rate, modulated convolution with a per-pixel style, noise
  injection, toRGB, the residual discriminator backbone with minibatch standard deviation), which BlobGAN's
  generator, discriminator and encoder are made of.
"""
