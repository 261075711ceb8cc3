"""colorgan-eval from a composed config: load the checkpoints, score them on the configured data (photos or videos),
write and log the results."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from hydra.utils import instantiate
from omegaconf import ListConfig

from colorgan.checkpoint import load_model
from colorgan.errors import UserError
from colorgan.evaluate.report import log_results, notes, write_results
from colorgan.evaluate.scoring import evaluate
from colorgan.evaluate.videos import evaluate_videos
from colorgan.inference import pick_device
from colorgan.loggers import make_loggers
from colorgan.video.data import VideoFolder


def images_of(datamodule: Any, split: str) -> Iterator[torch.Tensor]:
    """The uint8 RGB images (3, H, W) of a datamodule's split, one at a time."""
    datamodule.prepare_data()
    datamodule.setup("test")
    loader = datamodule.test_dataloader() if split == "test" else datamodule.val_dataloader()
    for batch in loader:
        yield from batch


def row_names(paths: list[str], models: list, given: list[str] | None) -> list[str]:
    """Given names, else '<model class> (<run folder>)', numbered where they would clash."""
    if given is not None:
        if len(given) != len(paths):
            raise UserError(f"{len(given)} names for {len(paths)} checkpoints: give one name per checkpoint")
        return list(given)
    runs = [p.removeprefix("hf://") if p.startswith("hf://") else Path(p).resolve().parent.parent.name for p in paths]  # hub repository, or run folder
    names = [f"{type(m).__name__.lower()} ({run})" for run, m in zip(runs, models, strict=True)]
    return [f"{n} #{i + 1}" if names.count(n) > 1 else n for i, n in enumerate(names)]


def score(cfg: Any, models: dict[str, Any], datamodule: Any, device: torch.device) -> dict[str, Any]:
    """Score the models on the configured data: frame and temporal metrics for videos, photo metrics otherwise."""
    hints = list(cfg.hints) if isinstance(cfg.hints, ListConfig) else [int(cfg.hints)]
    weights = {"fid_weights": cfg.fid_weights, "lpips_weights": cfg.lpips_weights, "sheet_size": cfg.sheet_size}
    if isinstance(datamodule, VideoFolder):
        return evaluate_videos(models, datamodule, device, hints, cfg.protocol, temporal=list(cfg.temporal), seed=cfg.seed, **weights)
    return evaluate(models, images_of(datamodule, cfg.split), device, hints, cfg.protocol, seed=cfg.seed, **weights)


def run(cfg: Any) -> dict[str, Any]:
    """colorgan-eval: evaluate the configured checkpoints (or export folders) on the configured data, then write
    results.json, results.md and contact_sheet.png into the run folder (and the table and sheet to the loggers)."""
    paths = [str(p) for p in cfg.ckpt_path] if isinstance(cfg.ckpt_path, ListConfig) else [str(cfg.ckpt_path)]
    device = pick_device(cfg.device)
    models = [load_model(p, device) for p in paths]
    names = row_names(paths, models, list(cfg.names) if cfg.names else None)
    datamodule = instantiate(cfg.data)
    result = score(cfg, dict(zip(names, models, strict=True)), datamodule, device)
    record = {k: v for k, v in result.items() if k != "sheet"} | {
        "checkpoints": dict(zip(names, paths, strict=True)),
        "data": str(getattr(datamodule, "root", None)),
        "notes": notes(result),
    }
    out = Path(cfg.paths.output_dir)
    table = write_results(out, result, record)
    log_results(make_loggers(cfg), result)
    return record | {"table": table, "output_dir": str(out)}
