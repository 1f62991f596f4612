"""An encoder that reads each blob's features from the pixels under it (round 17), for refined_labels.py's `train
--pooled HIDDEN`.

Round 16 found the encoder's answers confined to one 64-dimensional affine subspace of the 1,478 raw layout numbers
(a linear head from 64 global features), where the refined layouts that render held-out scenes at 20 dB need
hundreds of dimensions between them (their best 64 hold them at 15.5 dB). Hypothesis: what a blob should draw is
local, so an encoder that looks at each blob's own pixels can say it without a global bottleneck.

`PooledEncoder` keeps a release's encoder E (backbone and linear head: the first answer beta_0) and adds one per-blob
MLP, shared by the blobs, whose last layer starts at zero (so at step 0 it answers as E). Per blob (and for the
background) it reads:

    m_i^l = sum_p w_i(p) F^l(p) / sum_p w_i(p)       # the mean of feature map F^l under blob i's alpha

for the image and every map of E's backbone (64 px down to 4 px: 3 + 8 + 16 + 32 + 64 + 64 channels at the
recipe's widths), w_i blob i's composite alpha from beta_0's geometry (the generator's `blob_alphas` at the image's
size, 2x2 means down to each map's; not differentiated), with the blob's raw geometry, E's global features and a
one-hot of its index, and outputs a correction of its raw entries (geometry and phi, psi; the background's phi_0,
psi_0), added to beta_0. The corrections of different scenes are no longer one linear map of 64 numbers.

With `footprint=True` a blob's weights are its opacity at size s = 0, sigmoid(-d^2), wherever beta_0 puts it and
whatever its size or what covers it (the background's stay its composite alpha): a blob that beta_0 made invisible
still reads the pixels where it sits, so its correction can grow it over an object nothing draws.
"""
import torch

from hfgan import BlobGANEncoder
from hfgan.models.blobgan.encoder import BlobGANEncoderOutput
from hfgan.models.blobgan.layout_net import PER_BLOB
from hfgan.models.blobgan.splat import blob_alphas, blob_opacities, halve
from hfgan.models.layers.stylegan2 import EqualLinear


class PooledEncoder(BlobGANEncoder):
    """E (a release's encoder, its weights copied) plus the per-blob correction above; a BlobGANEncoder to the
    pipeline, so pipe.invert and evaluate_inversion run it as any encoder."""

    def __init__(self, encoder: BlobGANEncoder, hidden: int, footprint: bool = False):
        super().__init__(**{k: v for k, v in encoder.config.items() if not k.startswith("_")})
        self.footprint = footprint
        self.load_state_dict(encoder.state_dict())
        c = self.config
        maps = 3 + self.backbone.from_rgb.weight.shape[0] + sum(b.conv2.weight.shape[0] for b in self.backbone.blocks)
        inputs = maps + PER_BLOB + self.backbone.out_features + c.num_blobs + 1
        self.blob_mlp = torch.nn.Sequential(
            EqualLinear(inputs, hidden, activation="lrelu"),
            EqualLinear(hidden, PER_BLOB + c.structure_dim + c.style_dim, weight_init=0.0))  # starts as E

    def forward(self, images: torch.Tensor, return_dict: bool = True):
        c = self.config
        k, b = c.num_blobs, images.shape[0]
        features, maps = self.backbone(images, return_maps=True)  # (B, C_4); 64 px down to 4 px
        maps = [images, *maps]  # the image's own colours first
        raw = self.head(features)  # beta_0, (B, raw_dim)
        with torch.no_grad():  # where each blob (and the background, moved last as in beta) is visible
            args = self.decode(raw).splat_args()
            alphas = blob_alphas(*args, c.image_size)  # (B, K + 1, S, S), background first
            seen = alphas[:, 1:]  # (B, K, S, S): where each blob is seen, or (footprint) where it sits
            if self.footprint:
                seen = blob_opacities(*args[:3], torch.zeros_like(args[3]), c.image_size)
            alphas = torch.cat([seen, alphas[:, :1]], dim=1)
        pooled = []
        for feature_map in maps:
            while alphas.shape[-1] > feature_map.shape[-1]:  # the alpha over each coarser pixel
                alphas = halve(alphas)
            weights = alphas.flatten(2)  # (B, K + 1, P)
            weights = weights / (weights.sum(-1, keepdim=True) + 1e-6)
            pooled.append(torch.bmm(weights, feature_map.flatten(2).transpose(1, 2)))  # (B, K + 1, C_l)
        blobs = raw[:, : -(c.structure_dim + c.style_dim)].view(b, k, -1)  # (B, K, PER_BLOB + D + E)
        geometry = torch.cat([blobs[..., :PER_BLOB], blobs.new_zeros(b, 1, PER_BLOB)], dim=1)  # (B, K + 1, 7)
        index = torch.eye(k + 1, dtype=raw.dtype, device=raw.device).expand(b, -1, -1)  # (B, K + 1, K + 1)
        delta = self.blob_mlp(torch.cat([*pooled, geometry, features[:, None].expand(-1, k + 1, -1), index], -1))
        raw = raw + torch.cat([delta[:, :k].flatten(1), delta[:, k, PER_BLOB:]], dim=1)  # (B, raw_dim)
        layout = self.decode(raw)
        return BlobGANEncoderOutput(raw=raw, layout=layout) if return_dict else (raw, layout)
