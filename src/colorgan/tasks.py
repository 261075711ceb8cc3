"""The tasks a command runs, training and evaluation, each closing its loggers however it ends."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from omegaconf import DictConfig


@contextmanager
def closing_loggers() -> Iterator[None]:
    """Finish the wandb run a task started, on success and on failure (marked failed), so that the next
    task (a sweep's next job) starts a run of its own."""
    failed = False
    try:
        yield
    except BaseException:
        failed = True
        raise
    finally:
        wandb = sys.modules.get("wandb")
        if wandb is not None and wandb.run is not None:
            wandb.finish(exit_code=1 if failed else 0)


def fit(cfg: DictConfig, group: str | None = None, name: str | None = None) -> dict[str, Any]:
    """Train as configured: one run, or staged runs in sequence when cfg.stages is set (NoGAN); each run
    closes its own loggers."""
    from colorgan.stages import run_stages
    from colorgan.train import train

    return run_stages(cfg, group=group, name=name) if cfg.get("stages") else train(cfg, group=group, name=name)


def evaluate(cfg: DictConfig) -> dict[str, Any]:
    """Evaluate checkpoints as configured (colorgan-eval) and write the results."""
    from colorgan.evaluate import run

    with closing_loggers():
        return run(cfg)
