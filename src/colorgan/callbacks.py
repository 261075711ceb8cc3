"""Lightning callbacks: sample grids (grey | ours | truth) and training speed."""

from __future__ import annotations

import resource
import time
from pathlib import Path

import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import OnExceptionCheckpoint
from pytorch_lightning.loggers import WandbLogger
from torchvision.utils import make_grid, save_image


class SampleGrid(pl.Callback):
    """After each validation, save and log a grid of the first `n` images: one row each, grey | ours | truth."""

    def __init__(self, dirpath: str, n: int = 8):
        self.dirpath, self.n = Path(dirpath), n
        self.last_path: Path | None = None
        self._rows: list[torch.Tensor] = []

    def on_validation_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0):
        if trainer.sanity_checking or not trainer.is_global_zero or len(self._rows) >= self.n:
            return
        triples = torch.stack([outputs["grey"], outputs["pred"], outputs["true"]], dim=1)  # B, 3, C, H, W
        self._rows += list(triples[: self.n - len(self._rows)].detach().float().cpu())

    def on_validation_epoch_end(self, trainer, pl_module):
        if not self._rows:
            return
        grid = make_grid(torch.cat(self._rows), nrow=3, padding=2, pad_value=1.0)
        self._rows = []
        self.dirpath.mkdir(parents=True, exist_ok=True)
        path = self.dirpath / f"step{trainer.global_step:07d}.png"
        tmp = path.with_name(path.stem + ".partial.png")
        save_image(grid, tmp)
        tmp.replace(path)
        self.last_path = path
        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger):
                logger.log_image("samples", [grid], step=trainer.global_step, caption=["grey | ours | truth"])


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
