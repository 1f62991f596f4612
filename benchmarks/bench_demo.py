"""How snappy the web demo is on this CPU: each tab's work timed as the page runs it (`hfgan.demo.DemoModels`), and an
edit also through the launched app and gradio_client (HTTP and the page's image encoding included).

An edit re-renders the edited layout with one generator forward; the numbers put that forward beside the whole edit
(which also draws the blobs) and beside the round trip a visitor waits for.

    python benchmarks/bench_demo.py                    # the zoo; about a minute on 2 cores
    python benchmarks/bench_demo.py --models zoo --repeats 5
"""

from __future__ import annotations

import argparse
import json
import socket
import tempfile
import time
from pathlib import Path

import PIL.Image
import torch

from bench_sampling import time_it  # median of timed repeats after a warm-up

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="*", default=[str(ROOT / "zoo")])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    from hfgan.demo import DemoModels, build_demo

    start = time.perf_counter()
    models = DemoModels(args.models)
    results = {"threads": torch.get_num_threads(), "load_s": time.perf_counter() - start, "ms": {}}
    ms = results["ms"]

    def timed(name, fn, repeats=args.repeats):
        ms[name] = 1000 * time_it(fn, repeats)

    for name in models.generators:
        timed(f"sample 16 ({name})", lambda: models.sample(name, 16, 0))
    with tempfile.TemporaryDirectory() as tmp:
        upload = Path(tmp) / "upload.png"
        PIL.Image.new("RGB", (64, 64), (200, 120, 40)).save(upload)
        for name in models.classifiers:
            timed(f"classify ({name})", lambda: models.classify(name, str(upload)))
        for name in models.blobgans:
            _, _, state = models.scene(name, 0)
            pipe = models.pipelines[name]
            timed(f"generator forward, one layout ({name})", lambda: pipe(layout=state.layout, output_type="pt"))
            timed(f"edit: move, render, draw the blobs ({name})", lambda: models.edit(state, "move", 0, 0.1))
        for name in models.inverters:
            for steps in (0, 100):
                timed(f"invert, {steps} refinement steps ({name})", lambda: models.invert(name, str(upload), steps),
                      repeats=1 if steps else args.repeats)

        if models.blobgans:  # the round trip a visitor waits for
            from gradio_client import Client

            demo = build_demo(models=models)
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
            try:
                client = Client(f"http://127.0.0.1:{port}/", verbose=False)
                client.predict(models.blobgans[0], 0, api_name="/scene")
                timed("edit through the app (gradio_client)",
                      lambda: client.predict("move", 0, 0.1, 0.0, 0.0, 0, api_name="/edit"))
            finally:
                demo.close()
    results["ms"] = {k: round(v, 1) for k, v in ms.items()}
    results["load_s"] = round(results["load_s"], 2)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
