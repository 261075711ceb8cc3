"""The train config's speed options, channels_last and compile, applied to a model's networks (colorgan-train, colorgan-bench)."""

from __future__ import annotations

import os
from pathlib import Path

import pytorch_lightning as pl
import torch
from omegaconf import DictConfig


def compile_networks(model: pl.LightningModule, cache_dir: str | None = None) -> None:
    """torch.compile every network of the model's contract in place (parameter names, so checkpoints, do not change).

    Compiled code is kept in `cache_dir` (TorchInductor's cache: its kernels and the FX graph and AOTAutograd caches,
    which torch keeps on by default), so a later run or another job of a sweep that compiles the same networks loads
    the code instead of compiling it again; None leaves torch's own place.
    """
    if cache_dir:
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = str(Path(cache_dir).resolve())  # read by torch when it first compiles
    for name in model.networks:
        getattr(model, name).compile()


def accelerate(model: pl.LightningModule, cfg: DictConfig) -> None:
    """Lay the model's weights out channels-last (cfg.channels_last) and compile its networks (cfg.compile, with
    compiled code kept in cfg.paths.compile_cache_dir), in place."""
    if cfg.get("channels_last"):
        model.to(memory_format=torch.channels_last)
    if cfg.get("compile"):
        compile_networks(model, cfg.paths.get("compile_cache_dir"))
