"""Picture: for 4 samples of a BlobGAN release, the image, its background (every blob removed), the image with each
visible blob (up to 6) moved right by 0.2 of the width, and the blobs. Shows whether moving a blob moves an object.

    OMP_NUM_THREADS=1 python docs/research/blobgan-dead-blobs/move_each_blob.py RELEASE OUT.png
"""
import sys

import torch
import torchvision.transforms.functional as TF

torch.set_num_threads(1)
from hfgan import BlobGANPipeline, render_layout  # noqa: E402
from hfgan.metrics.inversion import visible_blobs  # noqa: E402
from hfgan.pipelines.image_processor import denormalize  # noqa: E402
from hfgan.utils import make_image_grid  # noqa: E402

pipe = BlobGANPipeline.from_pretrained(sys.argv[1])
net, gen = pipe.layout_net.eval(), pipe.generator.eval()
torch.manual_seed(0)
with torch.no_grad():
    layout = net(torch.randn(4, net.config.latent_dim))
    empty = layout
    for k in range(layout.num_blobs):
        empty = empty.remove(k)
    visible = visible_blobs(layout, gen.config.image_size)
    tiles = []
    for i in range(4):
        one = layout[i:i + 1]
        row = [gen(one, noise_mode="const").sample, gen(empty[i:i + 1], noise_mode="const").sample]
        row += [gen(one.move(k, dx=0.2), noise_mode="const").sample for k in visible[i].nonzero().flatten()[:6]]
        row += [torch.zeros_like(row[0])] * (8 - len(row))
        tiles += [TF.to_pil_image(denormalize(r)[0]) for r in row] + [render_layout(one, size=64)[0]]
size = 128
make_image_grid(tiles, rows=4, cols=9).resize((9 * size, 4 * size), 0).save(sys.argv[2])
