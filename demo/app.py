"""The hfgan zoo demo, as a Hugging Face Space runs it (and as `python demo/app.py` or `hfgan demo` runs it here).

Which models it serves: the Space variable (or environment variable) HFGAN_DEMO_MODELS, comma-separated Hub repo ids
or folders; else the releases in a `zoo/` folder beside this file; else the hfgan checkout's `zoo/`.
"""

import os
from pathlib import Path

from hfgan.demo import build_demo

HERE = Path(__file__).resolve().parent
sources = [str(HERE / "zoo")] if (HERE / "zoo").is_dir() and not os.environ.get("HFGAN_DEMO_MODELS") else None

demo = build_demo(sources)

if __name__ == "__main__":
    demo.launch()
