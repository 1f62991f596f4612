"""Issue 24, round 6: per held-out scene, does an encoder's reconstruction beat a flat image of the scene's mean
colour? Prints, per release and scene set, the encoder's mean PSNR, the flat mean colour's, that of a flat image of
the reconstruction's own mean colour (what its blobs add over its colour), and the share of scenes where the
encoder beats the flat mean colour.

    OMP_NUM_THREADS=1 python docs/research/blobgan-dead-blobs/flat_mean.py RELEASE [RELEASE ...] \
        [--scenes data/scenes/scenes-64-test.parquet data/icons/scenes-64-test.parquet]

Run from the repository root.
"""
import argparse

import torch

torch.set_num_threads(1)
from hfgan import BlobGANPipeline  # noqa: E402
from hfgan.metrics.inversion import psnr, scenes_with_boxes  # noqa: E402


def flat(images: torch.Tensor) -> torch.Tensor:
    """Each image replaced by its mean colour, (N, 3, S, S)."""
    return images.mean(dim=(2, 3), keepdim=True).expand_as(images)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("releases", nargs="+")
    parser.add_argument("--scenes", nargs="+",
                        default=["data/scenes/scenes-64-test.parquet", "data/icons/scenes-64-test.parquet"])
    args = parser.parse_args()
    for release in args.releases:
        pipe = BlobGANPipeline.from_pretrained(release)
        pipe.set_progress_bar_config(disable=True)
        for scenes in args.scenes:
            images = scenes_with_boxes(scenes, image_size=pipe.encoder.config.image_size)[0].float() / 255
            reconstructions = torch.cat([pipe.invert(chunk, output_type="pt").reconstructions.float().cpu()
                                         for chunk in images.split(100)])  # the encoder alone
            encoder, mean_colour = psnr(reconstructions, images), psnr(flat(images), images)
            own_colour = psnr(flat(reconstructions), images)
            print(f"{release} {scenes}: encoder {encoder.mean():.2f} dB, flat mean colour {mean_colour.mean():.2f}, "
                  f"flat colour of the reconstruction {own_colour.mean():.2f}; the encoder beats the flat mean "
                  f"colour on {100 * (encoder > mean_colour).float().mean():.1f}% of the scenes", flush=True)


if __name__ == "__main__":
    main()
