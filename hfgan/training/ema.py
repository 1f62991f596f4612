"""An exponential moving average (EMA) copy of a network, for samples and releases.

Short runs need care (measured on the emoji set: with a fixed decay of 0.999 and no warm-up, the EMA generator was
still close to its initialisation after ~730 steps): the decay ramps up as min(decay, (1 + t) / (10 + t)), so the
average forgets the random initialisation within tens of steps and reaches `decay` only in long runs.

BatchNorm running statistics are buffers, not parameters: averaging the weights does not give the statistics of the
averaged network, and copying the live network's statistics mismatches them. `recalibrate_batch_norm` recomputes
them by running the EMA network on fresh inputs, which is what sampling in eval mode needs.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
from torch import nn


class EMA:
    """Keeps `self.model`, an EMA of the parameters of the network passed to `update`.

    Args:
        model: the network to average (its initial weights seed the average).
        decay: the decay reached in long runs.
        warmup: use the ramp min(decay, (1 + t) / (10 + t)); without it, `decay` from step 0.
        copy_buffers: copy the network's buffers at each update (StyleGAN's running mean of w and tracked layer
            magnitudes are statistics of the training, not weights to average; BatchNorm's are not: see above).
    """

    def __init__(self, model: nn.Module, decay: float = 0.999, warmup: bool = True, copy_buffers: bool = False):
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"ema decay must be in [0, 1), got {decay}")
        self.decay, self.warmup, self.copy_buffers = decay, warmup, copy_buffers
        self.model = copy.deepcopy(model).eval().requires_grad_(False)
        self.num_updates = 0

    def current_decay(self) -> float:
        t = self.num_updates
        return min(self.decay, (1 + t) / (10 + t)) if self.warmup else self.decay

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        decay = self.current_decay()
        ema_params = dict(self.model.named_parameters())
        for name, param in model.named_parameters():
            ema_params[name].lerp_(param.detach(), 1.0 - decay)  # ema = decay * ema + (1 - decay) * param
        if self.copy_buffers:
            ema_buffers = dict(self.model.named_buffers())
            for name, buffer in model.named_buffers():
                ema_buffers[name].copy_(buffer)
        self.num_updates += 1

    def state_dict(self) -> dict:
        return {"num_updates": self.num_updates}

    def load_state_dict(self, state: dict) -> None:
        self.num_updates = int(state["num_updates"])


@torch.no_grad()
def recalibrate_batch_norm(model: nn.Module, make_input: Callable[[], torch.Tensor], num_batches: int = 8) -> None:
    """Recompute every BatchNorm's running mean/var as the plain average over `num_batches` fresh inputs."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    was_training = model.training
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative moving average: equal weight for every batch
    model.train()
    for _ in range(num_batches):
        model(make_input())
    for m, momentum in zip(norms, momenta):
        m.momentum = momentum
    model.train(was_training)
