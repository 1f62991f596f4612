"""Schedules set from how much of a run is done, so that a run ends its schedule when its budget ends.

A run stops at `max_steps` or at `max_minutes`, whichever comes first. `run_progress` is the larger of the two
fractions: on a fast machine the steps end the run and the schedule follows the steps (reproducible to the bit); on
a slow one the clock ends it and the schedule follows the clock, so the learning rate has come down when the budget
is spent whatever the machine's speed, instead of stopping in the middle of a schedule written for another machine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


def run_progress(step: int, max_steps: int, elapsed_minutes: float = 0.0, max_minutes: float | None = None) -> float:
    """The fraction of the run done, in [0, 1]: max(step / max_steps, elapsed_minutes / max_minutes)."""
    if max_steps <= 0:
        raise ValueError(f"max_steps must be positive, got {max_steps}")
    done = step / max_steps
    if max_minutes is not None:
        if max_minutes <= 0:
            raise ValueError(f"max_minutes must be positive or None, got {max_minutes}")
        done = max(done, elapsed_minutes / max_minutes)
    return min(max(done, 0.0), 1.0)


def ramp_down(progress: float, length: float, final: float = 0.0) -> float:
    """A learning-rate factor: 1 until the last `length` of the run, then linearly down to `final` at its end.

    `length=0` keeps the factor at 1 (no ramp). Linear, as a short run has no room for a long tail.
    """
    if not 0.0 <= length <= 1.0:
        raise ValueError(f"ramp-down length must be a fraction of the run in [0, 1], got {length}")
    if not 0.0 <= final <= 1.0:
        raise ValueError(f"ramp-down final factor must be in [0, 1], got {final}")
    start = 1.0 - length
    if length == 0.0 or progress <= start:
        return 1.0
    t = min((progress - start) / length, 1.0)  # 0 -> 1 over the ramp
    return 1.0 + t * (final - 1.0)


def set_learning_rates(optimizers: list[tuple[torch.optim.Optimizer | None, float]], scale: float) -> None:
    """Set each optimiser's learning rate to its base rate times `scale` (e.g. `ramp_down`'s factor at this step);
    `optimizers` pairs an optimiser (None: skipped, a network this run does not train) with its base rate."""
    for optimizer, base_lr in optimizers:
        if optimizer is not None:
            for group in optimizer.param_groups:
                group["lr"] = base_lr * scale
