"""The web demo of the zoo: `hfgan demo` runs it, `demo/app.py` is the same app as a Hugging Face Space.

[`DemoModels`] loads the releases and does the work of every tab (no gradio needed); [`build_demo`] lays it out as
a Gradio app (`pip install hfgan[demo]`).
"""

from .app import build_demo
from .models import BlobEdits, DemoError, DemoModels, PhotoEdit, default_sources

__all__ = ["BlobEdits", "DemoError", "DemoModels", "PhotoEdit", "build_demo", "default_sources"]
