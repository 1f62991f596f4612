"""`hfgan convert-pkl`: an NVIDIA StyleGAN2-ADA / StyleGAN3 network pickle -> a `StyleGANPipeline` folder, without
running anything from the pickle."""

from __future__ import annotations

import argparse
import sys


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "convert-pkl",
        help="convert an NVIDIA StyleGAN2-ADA/StyleGAN3 .pkl to a StyleGANPipeline folder (safetensors), safely",
        description="Reads the pickle with a restricted unpickler: no code from the file runs (NVIDIA's own loader "
        "executes the module source a network pickle embeds). Writes safetensors weights, configs and a model card "
        "recording the source file's sha256; the folder appears only once complete.",
    )
    parser.add_argument("src", help="the network pickle, e.g. stylegan3-t-ffhqu-256x256.pkl")
    parser.add_argument("out_dir", help="the pipeline folder to write")
    parser.add_argument("--which", default="G_ema", help="the network to convert: G_ema (default) or G")
    parser.add_argument("--overwrite", action="store_true", help="replace OUT_DIR if it exists")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from hfgan.conversion.nvidia_pickle import NetworkPickleError
    from hfgan.conversion.stylegan import convert_pickle

    try:
        out = convert_pickle(args.src, args.out_dir, which=args.which, overwrite=args.overwrite)
    except (NetworkPickleError, ValueError, FileExistsError, FileNotFoundError, IsADirectoryError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"Wrote a StyleGANPipeline to {out}: load it with HfGanPipeline.from_pretrained({str(out)!r})")
    return 0
