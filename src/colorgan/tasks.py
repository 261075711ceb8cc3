"""The tasks a command runs, training and evaluation, each closing its loggers however it ends."""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig

from colorgan.evaluate.run import run
from colorgan.loggers import closing_loggers
from colorgan.stages import run_stages
from colorgan.train import train


def fit(cfg: DictConfig, group: str | None = None, name: str | None = None) -> dict[str, Any]:
    """Train as configured: one run, or staged runs in sequence when cfg.stages is set (NoGAN); each run
    closes its own loggers."""
    return run_stages(cfg, group=group, name=name) if cfg.get("stages") else train(cfg, group=group, name=name)


def evaluate(cfg: DictConfig) -> dict[str, Any]:
    """Evaluate checkpoints as configured (colorgan-eval) and write the results."""
    with closing_loggers():
        return run(cfg)
