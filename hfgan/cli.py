"""The `hfgan` command: `hfgan <subcommand> ...`.

Each subcommand module exposes `add_parser(subparsers)`, which registers its parser and sets `func`, a callable
taking the parsed arguments and returning an exit code.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# subcommand name -> module that defines it; imported lazily so `hfgan --help` stays fast
SUBCOMMANDS = {
    "sample": "hfgan.commands.sample",
    "evaluate": "hfgan.commands.evaluate",
    "prepare-data": "hfgan.commands.prepare_data",
    "prepare-scenes": "hfgan.commands.prepare_scenes",
    "demo": "hfgan.commands.demo",
    "convert-pkl": "hfgan.commands.convert_pkl",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hfgan", description="Train, sample, evaluate and share GANs on the Hub.")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for module_name in SUBCOMMANDS.values():
        importlib.import_module(module_name).add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
