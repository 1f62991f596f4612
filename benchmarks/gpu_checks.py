"""Every pipeline on a GPU against the same pipeline on the CPU: same weights, same seeds, float32 on both (TF32 off,
so the GPU's matrix products are float32 too). The zoo's BlobGAN releases (samples, a moved blob, encoder inversion)
and random DCGAN, classifier and StyleGAN2 networks (their zoo releases need not travel to a device machine).

Prints one line per check, the largest |cpu - gpu| of the outputs in [0, 1] (class scores for the classifier), OK
under the tolerance; exits 1 if any check fails. docs/benchmarks.md#gpu-checks has a run's numbers.

    python benchmarks/gpu_checks.py                  # cuda
    python benchmarks/gpu_checks.py --device cpu     # the script itself, where there is no GPU (all differences 0)
"""
import argparse
import sys
import time
import traceback

import numpy as np
import torch

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False

from hfgan import (  # noqa: E402
    BlobGANPipeline, DCGANDiscriminator, DCGANGenerator, DCGANPipeline, DiscriminatorClassifierPipeline,
    StyleGAN2Generator, StyleGANPipeline,
)

torch.manual_seed(0)  # random weights where no zoo release travels: the same on both devices
G = DCGANGenerator(latent_dim=100, base_channels=32, image_size=32)
D = DCGANDiscriminator(base_channels=32, image_size=32, num_classes=9)
SG2 = StyleGAN2Generator(z_dim=64, w_dim=64, img_resolution=32, mapping_layers=2, channel_base=2048, channel_max=64)


def check(name, fn, device, tol=2e-3) -> bool:
    """Print and return whether `fn(device)` gives `fn("cpu")`'s outputs within `tol`."""
    start = time.time()
    try:
        a, b = fn("cpu"), fn(device)
    except Exception:
        print(f"FAIL {name}: raised\n{traceback.format_exc()}", flush=True)
        return False
    diff = float(np.max(np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64))))
    print(f"{'OK  ' if diff < tol else 'FAIL'} {name}: max |cpu - {device}| = {diff:.2e} (tol {tol}), "
          f"{time.time() - start:.1f} s", flush=True)
    return diff < tol


def gen():
    return torch.Generator(device="cpu").manual_seed(0)  # latents drawn on the CPU: the same on both devices


def dcgan(device):
    pipe = DCGANPipeline(generator=G).to(device)
    return pipe(num_images=8, generator=gen(), output_type="np").images


def classifier(device):
    images = DCGANPipeline(generator=G.cpu())(num_images=4, generator=gen()).images
    pipe = DiscriminatorClassifierPipeline(discriminator=D).to(device)
    return [[p["score"] for p in sorted(preds, key=lambda p: p["label"])] for preds in pipe(images, top_k=None)]


def blobgan(device):
    pipe = BlobGANPipeline.from_pretrained("zoo/blobgan-emoji-scenes").to(device)
    out = pipe(num_images=4, generator=gen(), output_type="np")
    moved = pipe(layout=out.layouts[0].move(0, dx=0.2), output_type="np").images
    return np.concatenate([out.images, moved])


def blobgan_invert(device):
    pipe = BlobGANPipeline.from_pretrained("zoo/blobgan-emoji-scenes-inversion").to(device)
    photos = BlobGANPipeline.from_pretrained("zoo/blobgan-emoji-scenes")(num_images=2, generator=gen()).images
    return pipe.invert(photos, output_type="np").reconstructions


def stylegan(device):
    pipe = StyleGANPipeline(generator=SG2).to(device)
    return pipe(num_images=4, truncation_psi=0.7, generator=gen(), output_type="np").images


def stylegan_invert(device):
    photos = StyleGANPipeline(generator=SG2.cpu())(num_images=2, generator=gen()).images
    pipe = StyleGANPipeline(generator=SG2).to(device)
    # 20 Adam steps amplify rounding differences: a looser tolerance
    return pipe.invert(photos, num_steps=20, output_type="np").reconstructions


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda")
    device = parser.parse_args().device
    results = [
        check("DCGANPipeline (random 32 px)", dcgan, device),
        check("DiscriminatorClassifierPipeline (random, 9 classes)", classifier, device),
        check("BlobGANPipeline zoo/blobgan-emoji-scenes (+ a moved blob)", blobgan, device),
        check("BlobGANPipeline.invert (encoder) zoo/blobgan-emoji-scenes-inversion", blobgan_invert, device),
        check("StyleGANPipeline (random StyleGAN2, 32 px)", stylegan, device),
        check("StyleGANPipeline.invert (random StyleGAN2, 20 steps)", stylegan_invert, device, tol=5e-2),
    ]
    print(f"checks: {sum(results)} of {len(results)} OK", flush=True)
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
