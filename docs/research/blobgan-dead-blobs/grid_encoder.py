"""An encoder that finds blobs where they are (round 19): one candidate blob per cell of an 8x8 grid, the K most
present taken as the layout, as an object detector (CenterNet's way) where the zoo encoder regresses all K blobs
from one global feature vector.

    OMP_NUM_THREADS=1 python docs/research/blobgan-dead-blobs/grid_encoder.py OUT [--minutes 30] > out.json

Rounds 13-18 left every encoder of the zoo's kind within half a decibel of 15 dB; round 16 found its answers in one
64-dimensional subspace (a linear head on 64 global features) and every part of the layout (places, features,
background) a share of the missing decibels; round 17 read each blob's features from the pixels under the place the
global head gave it (+0.1-0.15 dB). What none changed: where a blob goes is still one global regression, K centres
from 64 numbers. Hypothesis: placing blobs is a detection problem; a head that answers at every place of the image
("is a blob centred here, and what is it?") puts blobs on objects from local evidence, and the reconstruction's
gradient reaches the blob that sits where the error is.

`GridEncoder` keeps a release encoder's backbone (its trained weights) and, for the background's phi_0 and psi_0, its
linear head. Each cell (i, j) of the 8 px feature grid reads the backbone's maps there (8 px; 16 px averaged 2x2; 4 px
repeated 2x2), the global features and its own coordinates, and an MLP shared by the cells answers one blob: an
offset from the cell's centre (tanh, up to one cell), s, the two shape logits, the angle's 2-vector, phi, psi and a
depth score. The K cells of largest s are the blobs, ordered by depth score (the largest in front, as the highest
index of a raw layout), their centres written back as the raw layout's logits: a valid raw layout, so the pipeline,
refinement and every measure run on it as on any encoder's.

Training: train_inversion.py's image losses (emoji-cnn-distance + L2 on a real and a generated half, batch 16 + 16,
Adam lr 1e-3 (0.9, 0.99), the same draws as refined_labels.py's control) and, in place of its latent L2, the same
weight (10) on a per-cell one: each generated layout's blobs assigned to the cell holding their centre (the larger s
where two share a cell), every entry of an assigned cell's answer against its blob's (the offset as a fraction of a
cell, depth as index / (K - 1)), and every unassigned cell's s held half a unit under the smallest assigned s (a
hinge), so that on a generated image the K largest are its own blobs; an assigned cell's s error is a term of its
own, as heavy as the hinge (`--mixed-s-term`: the first run's, s averaged with the cell's other entries, where every
blob faded). Printed every `--every` steps: PSNR on the
first 256 held-out emoji scenes and the first 256 training scenes; at the end refined_labels.py's final_numbers.
Round 17's control (the zoo encoder trained on for 30 minutes in the same loop) is the yardstick: 2,981 steps,
14.89 / 14.72 dB, 62% carried.
"""
import argparse
import json
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

torch.set_num_threads(1)
from hfgan import BlobGANEncoder  # noqa: E402
from hfgan.losses import inversion_loss  # noqa: E402
from hfgan.models.blobgan.encoder import BlobGANEncoderOutput  # noqa: E402
from hfgan.models.layers.stylegan2 import EqualLinear  # noqa: E402
from hfgan.perceptual import perceptual_distance  # noqa: E402
from feedback_encoder import draw_fakes  # noqa: E402  (this folder)
from refined_labels import Curve, final_numbers, frozen_pipe, probe_scenes  # noqa: E402

GRID = 8  # cells per side: the backbone's 8 px map
MARGIN = 0.5  # an unassigned cell's s stays this far under the smallest assigned s of its image


class GridEncoder(BlobGANEncoder):
    """A release encoder's backbone with a per-cell blob head (the module docstring); a BlobGANEncoder to the
    pipeline."""

    def __init__(self, encoder: BlobGANEncoder, hidden: int = 256, num_blobs: int | None = None):
        config = {k: v for k, v in encoder.config.items() if not k.startswith("_")}
        super().__init__(**{**config, "num_blobs": num_blobs or config["num_blobs"]})  # K of the cells taken
        self.backbone.load_state_dict(encoder.backbone.state_dict())
        self.head = encoder.head  # the release's, for the background's phi_0 and psi_0 (its last D + E outputs)
        c = self.config
        channels = {m.shape[-1]: m.shape[1] for m in self.backbone(torch.zeros(1, 3, c.image_size, c.image_size),
                                                                   return_maps=True)[1]}
        inputs = channels[GRID] + channels[GRID * 2] + channels[GRID // 2] + self.backbone.out_features + 2
        self.per_cell = 2 + 5 + c.structure_dim + c.style_dim + 1  # offset, s, shape, angle, phi, psi, depth
        self.cell_mlp = torch.nn.Sequential(
            EqualLinear(inputs, hidden, activation="lrelu"), EqualLinear(hidden, hidden, activation="lrelu"),
            EqualLinear(hidden, self.per_cell, weight_init=0.1))
        centres = (torch.arange(GRID) + 0.5) / GRID
        self.register_buffer("centres", torch.stack(torch.meshgrid(centres, centres, indexing="xy"), -1).view(-1, 2),
                             persistent=False)  # (G * G, 2): cell c's (x, y), row-major

    def cells(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Every cell's answer (B, G * G, per_cell) and the background's raw phi_0, psi_0 (B, D + E)."""
        features, maps = self.backbone(images, return_maps=True)
        maps = {m.shape[-1]: m for m in maps}
        b = images.shape[0]
        grid = torch.cat([maps[GRID], F.avg_pool2d(maps[GRID * 2], 2),
                          F.interpolate(maps[GRID // 2], scale_factor=2, mode="nearest"),
                          features[:, :, None, None].expand(-1, -1, GRID, GRID),
                          self.centres.T.reshape(1, 2, GRID, GRID).expand(b, -1, -1, -1)], 1)  # (B, C, G, G)
        cells = self.cell_mlp(grid.flatten(2).transpose(1, 2))  # (B, G * G, per_cell)
        c = self.config
        return cells, self.head(features)[:, -(c.structure_dim + c.style_dim):]

    def assemble(self, cells: torch.Tensor, background: torch.Tensor) -> torch.Tensor:
        """The K cells of largest s, in depth order, as a raw layout (B, raw_dim)."""
        k = self.config.num_blobs
        top = cells[..., 2].topk(k, dim=1).indices  # (B, K): the cells whose blobs are largest
        order = cells[..., -1].gather(1, top).argsort(dim=1)  # the deepest first: a higher index is in front
        top = top.gather(1, order)
        chosen = cells.gather(1, top[..., None].expand(-1, -1, cells.shape[-1]))  # (B, K, per_cell)
        xy = self.centres[top] + torch.tanh(chosen[..., :2]) / GRID  # (B, K, 2): up to a cell from the centre
        raw_xy = torch.logit(xy.clamp(1e-3, 1 - 1e-3))  # decode_layout's sigmoid gives xy back
        return torch.cat([torch.cat([raw_xy, chosen[..., 2:-1]], -1).flatten(1), background], 1)

    def forward(self, images: torch.Tensor, return_dict: bool = True):
        raw = self.assemble(*self.cells(images))
        layout = self.decode(raw)
        return BlobGANEncoderOutput(raw=raw, layout=layout) if return_dict else (raw, layout)


def cell_loss(cells: torch.Tensor, predicted_background: torch.Tensor, beta: torch.Tensor, k: int,
              centres: torch.Tensor, own_s_term: bool = True) -> torch.Tensor:
    """The per-cell latent L2 of the module docstring: cells (B, G * G, per_cell) against generated raw layouts beta
    (B, raw_dim) of K blobs, plus the background's raw entries against beta's; centres (G * G, 2) the cells'. With
    `own_s_term` an assigned cell's s error is a term of its own, as heavy as the unassigned cells' hinge; without
    (the first run), one of the cell's 136 entries averaged together, against a hinge on s alone."""
    b, n, p = cells.shape
    background = beta.shape[1] - k * (p - 1)  # D + E: a blob's raw entries are per_cell - 1 (no depth)
    blobs = beta[:, :-background].view(b, k, p - 1)  # (B, K, 7 + D + E)
    xy = torch.sigmoid(blobs[..., :2])  # (B, K, 2)
    col, row = (xy * GRID).floor().clamp(0, GRID - 1).long().unbind(-1)
    home = F.one_hot(row * GRID + col, n).bool()  # (B, K, G * G): blob k's centre is in cell c
    s = torch.where(home, blobs[..., 2:3], torch.tensor(float("-inf")))  # (B, K, G * G)
    best, owner = s.max(1)  # (B, G * G): each cell's largest blob
    assigned = best > float("-inf")
    target = blobs.gather(1, owner[..., None].expand(-1, -1, p - 1))  # (B, G * G, 7 + D + E)
    offset = (torch.sigmoid(target[..., :2]) - centres) * GRID  # in cells, within +-0.5
    depth = owner.float() / (k - 1)
    error = torch.cat([(torch.tanh(cells[..., :2]) - offset) ** 2, (cells[..., 2:-1] - target[..., 2:]) ** 2,
                       (cells[..., -1:] - depth[..., None]) ** 2], -1)  # (B, G * G, per_cell)
    floor = torch.where(assigned, best, torch.tensor(float("inf"))).min(1, keepdim=True).values - MARGIN
    absent = F.relu(cells[..., 2] - floor)[~assigned]  # unassigned cells above the smallest assigned s
    s_term = error[..., 2][assigned].mean() if own_s_term else 0.0  # s against the hinge, one for one
    return (error[assigned].mean() + s_term + (absent**2).sum() / max(int((~assigned).sum()), 1)
            + F.mse_loss(predicted_background, beta[:, -background:]))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--release", default="zoo/blobgan-emoji-scenes-inversion")
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--mixed-s-term", action="store_true",
                        help="the first run's latent term: s averaged with a cell's other entries (its blobs faded)")
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--every", type=int, default=250)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--num-eval", type=int, default=1000, help="test scenes per set at the end")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    pipe = frozen_pipe(args.release)
    net, gen = pipe.layout_net, pipe.generator
    torch.manual_seed(args.seed)
    encoder = pipe.encoder = GridEncoder(pipe.encoder, args.hidden).requires_grad_(True)
    optimizer = torch.optim.Adam(encoder.parameters(), lr=args.lr, betas=(0.9, 0.99))  # train_inversion.py's
    perceptual = perceptual_distance("emoji-cnn-distance")
    size, k = gen.config.image_size, net.config.num_blobs
    train_images, held_out = probe_scenes(size)
    fitted = train_images[:256].float() / 127.5 - 1
    draws = torch.Generator().manual_seed(args.seed)
    b = 16

    curve = Curve(encoder, lambda x: gen(encoder(x).layout, noise_mode="const").sample, held_out, fitted)
    step = 0
    curve.add(step)
    while time.time() - curve.start < args.minutes * 60:
        real = train_images[torch.randint(len(train_images), (b,), generator=draws)].float() / 127.5 - 1
        beta_fake, fake = draw_fakes(net, gen, b, draws)  # the same draws as refined_labels.py's control
        cells, background = encoder.cells(torch.cat([real, fake]))  # (2B, G * G, per_cell), (2B, D + E)
        raw = encoder.assemble(cells, background)  # (2B, raw_dim)
        reconstruction = gen(encoder.decode(raw), noise_mode="const").sample
        terms = inversion_loss(real, reconstruction[:b], fake, reconstruction[b:], beta_fake, raw[b:], perceptual,
                               latent_weight=0.0)  # the image terms; the latent term is per cell below
        loss = terms["loss"] + 10.0 * cell_loss(cells[b:], background[b:], beta_fake, k, encoder.centres,
                                                not args.mixed_s_term)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        step += 1
        if step % args.every == 0:
            curve.add(step)
    encoder.eval().requires_grad_(False)
    save_file({k: v.contiguous() for k, v in encoder.state_dict().items()}, out / "encoder.safetensors")
    print(json.dumps({"release": args.release, "hidden": args.hidden, "mixed_s_term": args.mixed_s_term,
                      "minutes": args.minutes, "steps": step,
                      "curve": curve, **final_numbers(pipe, args.num_eval)}, indent=1))


if __name__ == "__main__":
    main()
