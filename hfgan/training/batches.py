"""The seeded batch order: every step's batch is a function of (seed, step, rank), so a resumed run draws exactly what
the uninterrupted one would have, on any number of processes."""

from __future__ import annotations

import torch


def step_seed(seed: int, step: int, rank: int = 0) -> int:
    """The seed of one process's draws at `step` (`torch.manual_seed(step_seed(...))` at the top of a step)."""
    return (seed * 1_000_003 + step * 7_919 + rank * 104_729) % (2**63 - 1)


def batch_indices(num_items: int, batch_size: int, step: int, seed: int, rank: int = 0, world: int = 1) -> torch.Tensor:
    """Indices `(batch_size,)` of this process's batch at `step`: epochs are seeded permutations walked in order,
    each global batch split across processes."""
    global_batch = batch_size * world
    start = step * global_batch + rank * batch_size
    out = []
    while len(out) < batch_size:
        epoch, offset = divmod(start + len(out), num_items)
        order = torch.randperm(num_items, generator=torch.Generator().manual_seed(seed * 7_777 + epoch))
        out.extend(order[offset : offset + batch_size - len(out)].tolist())
    return torch.tensor(out)


def real_batch(dataset, batch_size: int, step: int, seed: int, rank: int = 0, world: int = 1,
               device: torch.device | str = "cpu") -> torch.Tensor:
    """This process's batch of real images at `step` from an `hfgan.data.ImageTensorDataset`, `(B, 3, S, S)` in
    [-1, 1] on `device` (converted there from uint8, so only uint8 crosses to the device)."""
    idx = batch_indices(len(dataset), batch_size, step, seed, rank, world)
    return dataset.uint8(idx).to(device).float().div_(127.5).sub_(1.0)  # uint8 -> [-1, 1]
