"""Training images/s, peak memory and FLOPs of a configured model on fixed random batches (`colorgan-bench train`),
through Lightning as colorgan-train runs it, or (pix2pix) through a plain PyTorch loop doing the same work."""

from __future__ import annotations

import time
from collections.abc import Sequence

import pytorch_lightning as pl
import torch
from hydra.utils import get_class, instantiate
from omegaconf import DictConfig
from torch.utils.data import DataLoader

from colorgan.acceleration import accelerate
from colorgan.bench import train_config
from colorgan.bench.flops import FlopCount, flop_figures
from colorgan.bench.machine import synchronize
from colorgan.bench.plain_loop import PlainPix2Pix, time_plain_loop
from colorgan.callbacks import peak_memory_mb
from colorgan.errors import UserError
from colorgan.models.pix2pix import Pix2Pix


class Clock(pl.Callback):
    """Wall time of the training batches after the warm-up ones."""

    def __init__(self, warmup: int):
        self.warmup, self.start, self.end = warmup, None, None

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if batch_idx == self.warmup:
            synchronize(pl_module.device)
            self.start = time.perf_counter()

    def on_train_end(self, trainer, pl_module):
        synchronize(pl_module.device)
        self.end = time.perf_counter()


def build_model(cfg: DictConfig, loop: str) -> pl.LightningModule:
    """The configured model, channels-last and compiled as configured; for the plain loop, pix2pix on the CPU only."""
    if loop == "plain":
        if get_class(cfg.model._target_) is not Pix2Pix or cfg.trainer.accelerator != "cpu":
            raise UserError("--loop plain measures model=pix2pix on trainer=cpu (the reference for Lightning's overhead)")
        model = instantiate(cfg.model, _target_=f"{PlainPix2Pix.__module__}.{PlainPix2Pix.__qualname__}")
    else:
        model = instantiate(cfg.model)
    accelerate(model, cfg)
    return model


def random_batches(size: int, batch: int, count: int) -> DataLoader:
    """`count` batches of one random (L, ab) pair repeated: the data costs nothing beside the model."""
    L = torch.rand(batch, 1, size, size) * 2 - 1
    ab = (torch.rand(batch, 2, size, size) - 0.5) * 0.6
    return DataLoader([(L[0], ab[0])] * (batch * count), batch_size=batch)


def time_lightning(cfg: DictConfig, model: pl.LightningModule, batches: DataLoader, warmup: int) -> tuple[float, int | None]:
    """Train on `batches` with the configured Trainer (no logger, checkpoints or validation): the seconds taken by
    the batches after the first `warmup`, and the FLOPs of the last warm-up batch."""
    clock, flop_count = Clock(warmup), FlopCount(max(0, warmup - 1))
    trainer = instantiate(
        cfg.trainer,
        max_epochs=1,
        max_steps=-1,
        logger=False,
        callbacks=[flop_count, clock],
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
        default_root_dir=None,
    )
    trainer.fit(model, batches)
    return clock.end - clock.start, flop_count.flops


def run_figures(cfg: DictConfig, loop: str, model: pl.LightningModule, steps: int, seconds: float, baseline_mb: float) -> dict:
    """What ran (loop, model, sizes, precision, speed options, parameters) and how fast: images/s and seconds per
    batch over `steps` batches in `seconds`, peak memory (on the CPU also above `baseline_mb`, the process's before the model)."""
    params = sum(p.numel() for p in model.parameters())
    device = next(model.parameters()).device
    figures = {
        "loop": loop,
        "model": cfg.model._target_.rsplit(".", 1)[-1],
        "image_size": cfg.data.image_size,
        "batch_size": cfg.data.batch_size,
        "precision": str(cfg.trainer.precision),
        "channels_last": bool(cfg.channels_last),
        "compile": bool(cfg.compile),
        "fused_optimizer": bool(cfg.model.get("fused_optimizer")),
        "parameters_m": round(params / 1e6, 2),
        "images_per_s": round(steps * cfg.data.batch_size / seconds, 2),
        "seconds_per_batch": round(seconds / steps, 4),
        "peak_memory_mb": round(peak_memory_mb(device), 1),
    }
    if device.type == "cpu":
        figures["peak_memory_above_start_mb"] = round(figures["peak_memory_mb"] - baseline_mb, 1)
    return figures


def bench_train(overrides: Sequence[str], steps: int = 10, warmup: int = 2, loop: str = "lightning") -> dict:
    """Training images/s and peak memory of the model the colorgan-train `overrides` configure, over `steps` batches
    after `warmup` ones, through Lightning (loop="lightning", with FLOPs) or a plain PyTorch loop (loop="plain")."""
    cfg = train_config(overrides)
    baseline_mb = peak_memory_mb(torch.device("cpu"))
    model = build_model(cfg, loop)
    batches = random_batches(cfg.data.image_size, cfg.data.batch_size, warmup + steps)
    if loop == "plain":
        elapsed, flops = time_plain_loop(model, batches, warmup), None
    else:
        elapsed, flops = time_lightning(cfg, model, batches, warmup)
    figures = run_figures(cfg, loop, model, steps, elapsed, baseline_mb)
    if flops:
        figures |= flop_figures(flops, steps, elapsed, figures["precision"])
    return figures
