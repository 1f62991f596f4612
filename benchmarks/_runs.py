"""Training runs for the benchmarks: each training script run as a user runs it, as its own process.

The scripts import their sibling `training/common.py`, so importing them would take a `sys.path` edit; run as
commands they need none, and a run reports back through the `summary.json` it writes into its output folder at the
end. Import this module as a sibling (`from _runs import run_training`): running `python benchmarks/x.py` puts
benchmarks/ on the path.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

TRAINING = Path(__file__).resolve().parents[1] / "training"


def training_command(script: str, overrides: list[str]) -> list[str]:
    """The command line of training/<script>.py with hydra `overrides`, in this interpreter (this environment)."""
    return [sys.executable, str(TRAINING / f"{script}.py"), *overrides]


def run_training(script: str, output_dir: Path, overrides: list[str], tail_lines: int = 30) -> dict:
    """Run training/<script>.py into `output_dir` and wait; returns its summary.json (steps, images_seen,
    wall_seconds, output_dir, release, metrics, stopped_by). Its stdout passes through, as when run in-process;
    a failed run raises `RuntimeError` with the last `tail_lines` lines of its stderr."""
    summary = Path(output_dir) / "summary.json"
    summary.unlink(missing_ok=True)  # a summary left by an earlier run in this folder must not pass for this one's
    proc = subprocess.Popen(training_command(script, [f"output_dir={output_dir}", *overrides]),
                            stderr=subprocess.PIPE, text=True)
    try:
        _, stderr = proc.communicate()
    except KeyboardInterrupt:
        # Ctrl-C reached the run too: it saves and writes its summary (stopped_by SIGINT); wait for that, and let the
        # caller decide what a stopped run means, as it did when the run was a function call
        _, stderr = proc.communicate()
    # 130/143: stopped by SIGINT/SIGTERM after saving (hfgan.training.run_main), the summary says so
    if proc.returncode not in (0, 130, 143) or not summary.is_file():
        tail = "\n".join(stderr.splitlines()[-tail_lines:])
        raise RuntimeError(f"{script}.py exited with {proc.returncode} (output_dir={output_dir}); stderr ends:\n{tail}")
    return json.loads(summary.read_text())
