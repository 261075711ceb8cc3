"""Lightning callbacks: sample grids (grey | ours | truth), training speed, and a run length in batches."""

from __future__ import annotations

import resource
import time
from pathlib import Path

import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import OnExceptionCheckpoint
from pytorch_lightning.loggers import WandbLogger
from torchvision.utils import make_grid

from colorgan.images import to_pil
from colorgan.io import atomic_path

HINT_DOT = (255, 0, 255)  # outline of a hint on the grey input: magenta, rare in photos


def mark_hints(grey: torch.Tensor, hints: torch.Tensor) -> torch.Tensor:
    """The grey image (3, H, W) with each hinted pixel painted its hint colour and ringed in magenta."""
    from colorgan.color import model_to_rgb, rgb_to_model

    mask = hints[2:3] > 0
    ring = (torch.nn.functional.max_pool2d(mask[None].float(), 3, stride=1, padding=1)[0] > 0) & ~mask
    L, _ = rgb_to_model(grey[None])
    colour = model_to_rgb(L, hints[None, :2])[0]
    out = torch.where(mask, colour, grey)
    dot = torch.tensor(HINT_DOT, dtype=grey.dtype).view(3, 1, 1) / 255
    return torch.where(ring, dot, out)


class SampleGrid(pl.Callback):
    """After each validation, save and log a grid of the first `n` images: one row each, grey | ours | truth
    (for models that take hints, the grey input shows each hint in its colour, ringed in magenta)."""

    def __init__(self, dirpath: str, n: int = 8):
        self.dirpath, self.n = Path(dirpath), n
        self.last_path: Path | None = None
        self._rows: list[torch.Tensor] = []

    def on_validation_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0):
        if trainer.sanity_checking or not trainer.is_global_zero or len(self._rows) >= self.n:
            return
        grey = outputs["grey"].detach().float().cpu()
        if "hints" in outputs:
            grey = torch.stack([mark_hints(g, h) for g, h in zip(grey, outputs["hints"].float().cpu())])
        triples = torch.stack([grey, outputs["pred"].detach().float().cpu(), outputs["true"].detach().float().cpu()], dim=1)  # B, 3, C, H, W
        self._rows += list(triples[: self.n - len(self._rows)])

    def on_validation_epoch_end(self, trainer, pl_module):
        if not self._rows:
            return
        image = to_pil(make_grid(torch.cat(self._rows), nrow=3, padding=2, pad_value=1.0))
        self._rows = []
        path = self.dirpath / f"step{trainer.global_step:07d}.png"
        with atomic_path(path) as tmp:
            image.save(tmp)
        self.last_path = path
        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger):  # 8-bit pixels: wandb 0.31 writes float tensors as black PNGs
                logger.log_image("samples", [image], step=trainer.global_step, caption=["grey (hints ringed) | ours | truth"])


class InterruptCheckpoint(OnExceptionCheckpoint):
    """Lightning's checkpoint on Ctrl-C or a crash, skipped when no step was taken (nothing to lose, no stray file)."""

    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException) -> None:
        if trainer.global_step > 0:
            super().on_exception(trainer, pl_module, exception)


def peak_memory_mb(device: torch.device) -> float:
    """Peak memory so far: the CUDA allocator's on a GPU, else the process's maximum RSS."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class TrainingSpeed(pl.Callback):
    """Logs training images per second and peak memory every `every` batches."""

    def __init__(self, every: int = 10):
        self.every = every
        self._start: float | None = None
        self._images = 0

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if self._start is None:
            self._start, self._images = time.perf_counter(), 0

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self._images += batch[0].shape[0]
        if (batch_idx + 1) % self.every == 0:
            elapsed = time.perf_counter() - self._start
            pl_module.log_dict({"speed/images_per_s": self._images / elapsed, "speed/peak_memory_mb": peak_memory_mb(pl_module.device)})
            self._start = None


class BatchLimit(pl.Callback):
    """Stops training after `max_batches` batches in all (the run's length in batches, whatever the model's
    optimiser steps per batch)."""

    def __init__(self, max_batches: int):
        self.max_batches = max_batches

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if trainer.fit_loop.total_batch_idx + 1 >= self.max_batches:
            trainer.should_stop = True
