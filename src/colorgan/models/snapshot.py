"""Copies of a network's weights and its optimiser's state that can be restored in place."""

from __future__ import annotations

import torch
from torch import nn


def _owned(tensor: torch.Tensor) -> torch.Tensor:
    """`tensor` as the source of a copy that must keep its own memory. On XLA, clone() and copy_() share the
    source's device buffer, and the next optimiser step donates a parameter's buffer to its new value: a snapshot
    taken by clone() then reads a deleted buffer ("buffer ... is deleted"). An arithmetic identity makes XLA
    compute a buffer of its own. Elsewhere the tensor itself (clone and copy_ copy)."""
    return (tensor * 1).to(tensor.dtype) if tensor.device.type == "xla" else tensor


def _params(optimizer: torch.optim.Optimizer) -> list[torch.Tensor]:
    return [p for group in optimizer.param_groups for p in group["params"]]


class Snapshot:
    """Weights, buffers and per-parameter optimiser state (e.g. Adam's moments and step).

    `capture` copies into the tensors it already holds, so a snapshot reused every iteration
    allocates memory once.
    """

    def __init__(self) -> None:
        self.module: dict[str, torch.Tensor] = {}
        self.optim: dict[int, dict[str, torch.Tensor]] = {}

    @torch.no_grad()
    def capture(self, module: nn.Module, optimizer: torch.optim.Optimizer) -> Snapshot:
        for key, value in module.state_dict().items():
            if key in self.module:
                self.module[key].copy_(_owned(value))
            else:
                self.module[key] = _owned(value.detach()).clone()
        optim = {}
        for i, param in enumerate(_params(optimizer)):
            state = optimizer.state.get(param)
            if not state:
                continue
            held = self.optim.get(i, {})
            optim[i] = {k: held[k].copy_(_owned(v)) if k in held and held[k].shape == v.shape else _owned(v.detach()).clone() for k, v in state.items()}
        self.optim = optim
        return self

    @torch.no_grad()
    def restore(self, module: nn.Module, optimizer: torch.optim.Optimizer) -> None:
        for key, value in module.state_dict().items():
            value.copy_(_owned(self.module[key]))
        for i, param in enumerate(_params(optimizer)):
            if i not in self.optim:
                optimizer.state.pop(param, None)
                continue
            state = optimizer.state[param]
            for k, v in self.optim[i].items():
                if k in state and state[k].shape == v.shape:
                    state[k].copy_(_owned(v))
                else:
                    state[k] = _owned(v).clone()
