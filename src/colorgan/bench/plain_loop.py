"""pix2pix's own training step and learning-rate schedule, run by a plain PyTorch loop instead of a Trainer: the
reference that `colorgan-bench train --loop plain` measures Lightning's overhead against."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch.utils.data import DataLoader

from colorgan.models.pix2pix import Pix2Pix


class WithoutTrainer:
    """What a manual-optimisation LightningModule asks its Trainer for, in plain PyTorch: its optimisers and
    learning-rate schedulers (from its own configure_optimizers, for a run of `batches` batches), backward and
    optimiser toggling; logging is dropped. Mixed in before the LightningModule; `start_run` before the first batch."""

    def start_run(self, batches: int) -> None:
        """Build the optimisers and schedulers for a run of `batches` batches."""
        self._run_batches = batches
        self._optimizers, self._schedulers = self.configure_optimizers()

    def training_batches(self) -> int:
        """The run's length in batches, which the learning-rate schedules span."""
        return self._run_batches

    def optimizers(self, use_pl_optimizer: bool = True) -> list[torch.optim.Optimizer]:
        """The plain optimisers of configure_optimizers."""
        return self._optimizers

    def lr_schedulers(self) -> list[torch.optim.lr_scheduler.LRScheduler]:
        """The learning-rate schedulers of configure_optimizers."""
        return self._schedulers

    def manual_backward(self, loss: torch.Tensor, *args, **kwargs) -> None:
        """Autograd's backward, as it is."""
        loss.backward(*args, **kwargs)

    @contextmanager
    def toggled_optimizer(self, optimizer: torch.optim.Optimizer) -> Iterator[None]:
        """Only `optimizer`'s parameters take gradients inside (the other optimisers' are frozen meanwhile)."""
        own = {p for group in optimizer.param_groups for p in group["params"]}
        others = {p for opt in self._optimizers for group in opt.param_groups for p in group["params"] if p not in own and p.requires_grad}
        for p in others:
            p.requires_grad_(False)
        try:
            yield
        finally:
            for p in others:
                p.requires_grad_(True)

    def log(self, *args, **kwargs) -> None:
        """Dropped: the plain loop logs nothing."""

    def log_dict(self, *args, **kwargs) -> None:
        """Dropped: the plain loop logs nothing."""


class PlainPix2Pix(WithoutTrainer, Pix2Pix):
    """pix2pix, trainable by `time_plain_loop` without a Trainer."""


def time_plain_loop(model: WithoutTrainer, batches: DataLoader, warmup: int) -> float:
    """Train on `batches` through the model's own training_step and its learning-rate schedulers' steps
    (on_train_batch_end), as a Trainer would; the seconds taken by the batches after the first `warmup`."""
    model.train()
    model.start_run(len(batches))
    start = None
    for i, batch in enumerate(batches):
        if i == warmup:
            start = time.perf_counter()
        model.training_step(batch, i)
        model.on_train_batch_end(None, batch, i)
    return time.perf_counter() - start
