"""Fit a colouriser from a composed Hydra config; the library side of `colorgan-train`."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, open_dict
from pytorch_lightning.loggers import WandbLogger
from pytorch_lightning.plugins.io.wrapper import _WrappingCheckpointIO

from colorgan.acceleration import accelerate
from colorgan.callbacks import BatchLimit, SampleGrid
from colorgan.checkpoint import read_checkpoint, resume_checkpoint
from colorgan.errors import UserError
from colorgan.init_weights import load_weights
from colorgan.io import atomic_path
from colorgan.loggers import closing_loggers, make_loggers
from colorgan.xla import settle, xla_trainer_arguments


class AtomicCheckpointIO(_WrappingCheckpointIO):
    """The strategy's checkpoint writer, through a temporary name renamed when complete: a crash or kill
    during a save leaves the previous checkpoint intact, never a truncated one under its name. A wrapper in
    Lightning's sense, which XLA strategies accept beside their own writer."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path, storage_options: Any | None = None) -> None:
        with atomic_path(path) as tmp:
            super().save_checkpoint(checkpoint, tmp, storage_options)


def check_accelerator(trainer_cfg: DictConfig) -> None:
    """Say in one line what to use when the configured accelerator is not on this machine."""
    accelerator = trainer_cfg.get("accelerator")
    if accelerator == "tpu":
        import importlib.util

        if importlib.util.find_spec("torch_xla") is None:
            raise UserError("trainer=tpu needs torch_xla: on a TPU VM, pip install 'torch_xla[tpu]'; elsewhere use trainer=gpu or trainer=cpu")
        os.environ.setdefault("PJRT_DEVICE", "TPU")
    if accelerator in ("gpu", "cuda") and not torch.cuda.is_available():
        raise UserError("this trainer needs a CUDA GPU and none is visible: use trainer=cpu, or trainer=ddp_cpu for two CPU processes")


def check_length(cfg: DictConfig) -> None:
    """A run's length is counted in batches for every model: max_batches, or max_epochs x data.batches_per_epoch."""
    if cfg.trainer.get("max_steps", -1) not in (-1, None):
        raise UserError(
            "trainer.max_steps counts optimiser steps, which differ per model (pix2pix takes 2 per batch, E-GAN 5): "
            "set the length in batches with max_batches=N, or trainer.max_epochs and data.batches_per_epoch"
        )
    if cfg.get("max_batches"):
        with open_dict(cfg):
            cfg.trainer.max_epochs = -1  # BatchLimit ends the run, also when it resumes after a stop mid-epoch


def build_trainer(cfg: DictConfig, loggers: list) -> tuple[pl.Trainer, list[pl.Callback]]:
    """The configured Trainer with its callbacks, writing checkpoints atomically."""
    callbacks = [instantiate(c) for c in (cfg.get("callbacks") or {}).values()]
    if cfg.get("max_batches"):
        callbacks.append(BatchLimit(cfg.max_batches))
    trainer: pl.Trainer = instantiate(cfg.trainer, callbacks=callbacks, logger=loggers or False, **xla_trainer_arguments(cfg.trainer))
    trainer.strategy.checkpoint_io = AtomicCheckpointIO(trainer.strategy.checkpoint_io)
    return trainer, callbacks


def train(cfg: DictConfig, group: str | None = None, name: str | None = None) -> dict[str, Any]:
    """Fit (and with cfg.test, test) the configured model; returns metrics and the paths a user wants next.

    Without ckpt_path, a run whose folder already holds checkpoints (the same hydra.run.dir again) resumes
    from the newest complete one.
    """
    check_accelerator(cfg.trainer)
    check_length(cfg)
    ckpt_path = cfg.get("ckpt_path")
    if ckpt_path:
        read_checkpoint(ckpt_path)  # missing, damaged or unsafe: one line before anything is built
    else:
        ckpt_path = resume_checkpoint(Path(cfg.paths.output_dir) / "checkpoints")
    if cfg.get("seed") is not None:
        pl.seed_everything(cfg.seed, workers=True, verbose=False)
    datamodule = instantiate(cfg.data)
    datamodule.prepare_data()
    datamodule.setup("fit")  # fail fast on bad data paths, before anything is built or written
    model = instantiate(cfg.model)
    if cfg.get("init_from") and not ckpt_path:
        load_weights(model, cfg.init_from)
    accelerate(model, cfg)
    with closing_loggers():  # one wandb run per training run, finished however it ends
        loggers = make_loggers(cfg, group=group, name=name)
        trainer, callbacks = build_trainer(cfg, loggers)
        with warnings.catch_warnings():
            # a fresh run: Lightning looks for the on-exception checkpoint to resume from and says there is none
            warnings.filterwarnings("ignore", message=r".*ckpt_path=None\)` was called without a model")
            warnings.filterwarnings("ignore", message=r".*there is no last checkpoint available")
            trainer.fit(model, datamodule=datamodule, ckpt_path=ckpt_path, weights_only=True)
        if cfg.get("test"):
            trainer.test(model, datamodule=datamodule, ckpt_path="best" if trainer.checkpoint_callback else None, weights_only=True)
        settle(trainer.strategy.root_device)
        wandb_loggers = [lg for lg in loggers if isinstance(lg, WandbLogger) and lg._experiment is not None]  # rank zero started a run
        checkpoint = trainer.checkpoint_callback
        grids = [c.last_path for c in callbacks if isinstance(c, SampleGrid) and c.last_path]
        return {
            "global_step": trainer.global_step,
            "is_global_zero": trainer.is_global_zero,
            "interrupted": trainer.interrupted,
            "metrics": {k: float(v) for k, v in trainer.callback_metrics.items()},
            "best_checkpoint": getattr(checkpoint, "best_model_path", None) or None,
            "last_checkpoint": resume_checkpoint(checkpoint.dirpath) if checkpoint else None,
            "sample_grid": str(grids[0]) if grids else None,
            "wandb_dir": str(Path(wandb_loggers[0].experiment.dir).parent) if wandb_loggers else None,
        }
