"""Staged training (NoGAN): a sequence of runs, each starting from the previous one's last checkpoint.

Stage `name` runs in `<output_dir>/<name>/` with `cfg.stages[name]` merged over the base config.
A finished stage leaves `stage.json`; re-running the same command in the same run folder skips
finished stages and resumes an interrupted one from its own checkpoints (colorgan.train's one rule).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from colorgan.errors import UserError
from colorgan.io import write_json_atomic
from colorgan.train import train

RECORD = "stage.json"


def stage_config(cfg: DictConfig, name: str, output_dir: Path, init_from: str | None) -> DictConfig:
    """The base config with stage `name`'s overrides, writing into `output_dir`, starting from `init_from`."""
    base = OmegaConf.create(OmegaConf.to_container(cfg, resolve=False))
    overrides = base.stages[name]
    base.stages, base.start_stage = None, None
    merged = OmegaConf.merge(base, overrides)
    merged.paths.output_dir = str(output_dir)
    merged.init_from = init_from
    return merged


def run_stages(cfg: DictConfig, group: str | None = None, name: str | None = None) -> dict[str, Any]:
    """Run cfg.stages in order; returns the last stage's result, every stage's under 'stages', and 'run_dir'."""
    names = list(cfg.stages)
    if cfg.get("start_stage") and cfg.start_stage not in names:
        raise UserError(f"start_stage={cfg.start_stage} is not a stage: use one of {', '.join(names)}")
    root = Path(cfg.paths.output_dir)
    init_from = cfg.get("init_from")
    results: dict[str, dict[str, Any]] = {}
    for stage in names[names.index(cfg.start_stage) if cfg.get("start_stage") else 0 :]:
        output_dir = root / stage
        record = output_dir / RECORD
        if record.is_file():  # finished in an earlier invocation
            results[stage] = json.loads(record.read_text())
        else:
            stage_cfg = stage_config(cfg, stage, output_dir, init_from)  # an interrupted stage resumes from its own checkpoints
            result = train(stage_cfg, group=group, name=f"{name or root.name}/{stage}")
            results[stage] = result | {"stage": stage, "init_from": init_from}
            if result["interrupted"]:
                break
            if result["is_global_zero"]:
                write_json_atomic(record, results[stage])
        init_from = results[stage]["last_checkpoint"]
    return results[stage] | {"stages": results, "run_dir": str(root)}
