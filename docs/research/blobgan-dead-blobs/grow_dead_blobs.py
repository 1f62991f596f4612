"""Picture: what the zoo's generator draws when a dead blob is grown to s = 3 (rows: 6 samples; columns: the sample,
then blobs 0..9 each set to s = 3 alone). Writes docs/research/blobgan-dead-blobs/grow_dead_blobs.png (4x nearest upscaling).

    OMP_NUM_THREADS=1 python docs/research/blobgan-dead-blobs/grow_dead_blobs.py
"""

import torch

torch.set_num_threads(1)
from hfgan import BlobGANPipeline  # noqa: E402
from hfgan.utils import make_image_grid  # noqa: E402

pipe = BlobGANPipeline.from_pretrained("zoo/blobgan-emoji-scenes")
pipe.set_progress_bar_config(disable=True)
torch.manual_seed(0)
z = torch.randn(6, pipe.layout_net.config.latent_dim)
with torch.no_grad():
    layout = pipe.layout_net(z)
    rows = [pipe(layout=layout).images]
    for k in range(layout.num_blobs):
        sizes = layout.sizes.clone()
        sizes[:, k] = 3.0
        rows.append(pipe(layout=layout._with(sizes=sizes)).images)
tiles = [rows[c][r].resize((128, 128), 0) for r in range(6) for c in range(len(rows))]
make_image_grid(tiles, rows=6, cols=len(rows)).save("docs/research/blobgan-dead-blobs/grow_dead_blobs.png")
print("wrote docs/research/blobgan-dead-blobs/grow_dead_blobs.png")
