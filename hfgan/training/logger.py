"""A training run's logs: scalars to `metrics.jsonl`, sample grids to `samples/step-*.png`, both also to a tracker.

The tracker is any object with `log_scalars(step, scalars)`, `log_image(step, name, image)` and `finish()`; the
training scripts pass their wandb run wrapped as one (`training/common.py`), so nothing in hfgan imports wandb.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Protocol

from ..utils import atomic_write


class Tracker(Protocol):
    """An experiment tracker (wandb, say) as the logger uses it."""

    def log_scalars(self, step: int, scalars: dict[str, float]) -> None: ...

    def log_image(self, step: int, name: str, image) -> None: ...

    def finish(self) -> None: ...


class RunLogger:
    """
    Scalars to `<output_dir>/metrics.jsonl` (one JSON object a line) and sample grids to
    `<output_dir>/samples/step-NNNNNNN.png`, each also sent to `tracker`; a logger that is not `enabled` (every
    process but the main one) writes nothing.
    """

    def __init__(self, output_dir: str | Path, enabled: bool = True, tracker: Tracker | None = None):
        self.output_dir, self.enabled, self.tracker = Path(output_dir), enabled, tracker if enabled else None

    def log(self, step: int, scalars: dict[str, Any]) -> None:
        if not self.enabled:
            return
        record = {"step": step, **{k: float(v) for k, v in scalars.items()}}
        with open(self.output_dir / "metrics.jsonl", "a") as f:
            f.write(json.dumps(record) + "\n")
        if self.tracker is not None:
            self.tracker.log_scalars(step, scalars)

    def log_grid(self, step: int, grid) -> Path | None:
        """Save the sample grid (a PIL image) of `step` as samples/step-NNNNNNN.png, and send it to the tracker."""
        if not self.enabled:
            return None
        path = atomic_write(self.output_dir / "samples" / f"step-{step:07d}.png", lambda t: grid.save(t, format="PNG"))
        if self.tracker is not None:
            self.tracker.log_image(step, "samples", grid)
        return path

    def finish(self) -> None:
        if self.tracker is not None:
            self.tracker.finish()
            self.tracker = None
