"""Fit a colouriser from a composed Hydra config; the library side of `colorgan-train`."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig
from pytorch_lightning.callbacks import OnExceptionCheckpoint
from pytorch_lightning.loggers import WandbLogger

from colorgan.callbacks import SampleGrid
from colorgan.errors import UserError


# With OnExceptionCheckpoint present, a fit without ckpt_path resumes from a checkpoint already in its
# checkpoint folder (a run re-started in the same hydra.run.dir) and warns when a fresh run has none.
warnings.filterwarnings("ignore", message=r".*ckpt_path=None\)` was called without a model")
warnings.filterwarnings("ignore", message=r".*there is no last checkpoint available")


def has_wandb_credentials() -> bool:
    """True when an API key is in the environment or ~/.netrc; otherwise runs go offline."""
    if os.environ.get("WANDB_API_KEY"):
        return True
    netrc = Path(os.environ.get("NETRC", Path.home() / ".netrc"))
    return netrc.is_file() and "api.wandb.ai" in netrc.read_text(errors="ignore")


def make_loggers(cfg: DictConfig, group: str | None = None, name: str | None = None) -> list:
    """Instantiate the configured loggers; wandb goes offline without credentials and is grouped by sweep."""
    loggers = []
    for key, conf in (cfg.get("logger") or {}).items():
        if key == "wandb":
            if not has_wandb_credentials():
                os.environ.setdefault("WANDB_MODE", "offline")
            os.environ.setdefault("WANDB_SILENT", "true")
            Path(conf.save_dir).mkdir(parents=True, exist_ok=True)
            loggers.append(instantiate(conf, group=group, name=name))
        else:
            loggers.append(instantiate(conf))
    return loggers


def last_checkpoint(trainer: pl.Trainer) -> str | None:
    """The checkpoint to resume from: the one saved on interruption, else last.ckpt."""
    candidates = [Path(c.ckpt_path) for c in trainer.callbacks if isinstance(c, OnExceptionCheckpoint) and trainer.interrupted]
    checkpoint = trainer.checkpoint_callback
    if checkpoint and checkpoint.save_last:
        candidates.append(Path(checkpoint.dirpath) / "last.ckpt")
    return next((str(p) for p in candidates if p.is_file()), None)


def load_weights(model: pl.LightningModule, path: str) -> None:
    """Start from the weights of a checkpoint (a new run, unlike ckpt_path, which resumes one)."""
    if not Path(path).is_file():
        raise UserError(f"init_from={path} does not exist: give the path of a .ckpt file, e.g. outputs/.../checkpoints/last.ckpt")
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=False)["state_dict"])


def check_accelerator(trainer_cfg: DictConfig) -> None:
    """A TPU run needs torch_xla (PJRT runtime); say so in one line rather than deep inside Lightning."""
    if trainer_cfg.get("accelerator") == "tpu":
        import importlib.util

        if importlib.util.find_spec("torch_xla") is None:
            raise UserError("trainer=tpu needs torch_xla: on a TPU VM, pip install 'torch_xla[tpu]'; elsewhere use trainer=gpu or trainer=cpu")
        os.environ.setdefault("PJRT_DEVICE", "TPU")


def compile_networks(model: pl.LightningModule) -> None:
    """torch.compile every network in place (nn.Module.compile keeps parameter names: checkpoints do not change)."""
    for name in ("generator", "discriminator", "critic"):
        if isinstance(getattr(model, name, None), torch.nn.Module):
            getattr(model, name).compile()


def train(cfg: DictConfig, group: str | None = None, name: str | None = None) -> dict[str, Any]:
    """Fit (and with cfg.test, test) the configured model; returns metrics and the paths a user wants next."""
    check_accelerator(cfg.trainer)
    ckpt_path = cfg.get("ckpt_path")
    if ckpt_path and not Path(ckpt_path).is_file():
        raise UserError(f"ckpt_path={ckpt_path} does not exist: give the path of a .ckpt file, e.g. outputs/.../checkpoints/last.ckpt")
    if cfg.get("seed") is not None:
        pl.seed_everything(cfg.seed, workers=True, verbose=False)
    datamodule = instantiate(cfg.data)
    datamodule.prepare_data()
    datamodule.setup("fit")  # fail fast on bad data paths, before anything is built or written
    model = instantiate(cfg.model)
    if cfg.get("init_from") and not ckpt_path:
        load_weights(model, cfg.init_from)
    if cfg.get("channels_last"):
        model.to(memory_format=torch.channels_last)
    if cfg.get("compile"):
        compile_networks(model)
    callbacks = [instantiate(c) for c in (cfg.get("callbacks") or {}).values()]
    loggers = make_loggers(cfg, group=group, name=name)
    trainer: pl.Trainer = instantiate(cfg.trainer, callbacks=callbacks, logger=loggers or False)
    wandb_loggers = [lg for lg in loggers if isinstance(lg, WandbLogger)]
    wandb_dir = None
    try:
        trainer.fit(model, datamodule=datamodule, ckpt_path=ckpt_path)
        if cfg.get("test"):
            trainer.test(model, datamodule=datamodule, ckpt_path="best" if trainer.checkpoint_callback else None)
    finally:
        if wandb_loggers:
            import wandb

            if wandb_loggers[0]._experiment is not None:  # rank zero started a run
                wandb_dir = str(Path(wandb_loggers[0].experiment.dir).parent)
            wandb.finish()
    checkpoint = trainer.checkpoint_callback
    grids = [c.last_path for c in callbacks if isinstance(c, SampleGrid) and c.last_path]
    return {
        "global_step": trainer.global_step,
        "is_global_zero": trainer.is_global_zero,
        "interrupted": trainer.interrupted,
        "metrics": {k: float(v) for k, v in trainer.callback_metrics.items()},
        "best_checkpoint": getattr(checkpoint, "best_model_path", None) or None,
        "last_checkpoint": last_checkpoint(trainer),
        "sample_grid": str(grids[0]) if grids else None,
        "wandb_dir": wandb_dir,
    }
