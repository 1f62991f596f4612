"""`hfgan demo`: the web demo of the zoo (sample, classify, edit blobs, invert) on this machine, in a browser."""

from __future__ import annotations

import argparse
import sys


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run the web demo (needs pip install 'hfgan[demo]')",
        description="Serve the web demo: release folders, zoo folders (each release inside) or Hub repo ids. Without "
        "any, HFGAN_DEMO_MODELS (comma-separated), else a zoo/ folder here or in the hfgan checkout.",
    )
    parser.add_argument("models", nargs="*", help="release folders, zoo folders or Hub repo ids")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0: every interface)")
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--share", action="store_true", help="also serve through a public gradio.live link")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from hfgan.demo import build_demo

    try:
        demo = build_demo(args.models or None, device=args.device)
    except ImportError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    demo.launch(server_name=args.host, server_port=args.port, share=args.share)
    return 0
