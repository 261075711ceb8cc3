"""Where the Hydra configs live (inside the installed package, or the repository's conf/ in editable installs),
and composing one of them outside a Hydra run."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from hydra import compose as hydra_compose
from hydra import initialize_config_dir
from omegaconf import DictConfig


def config_dir() -> str:
    """Absolute path of the conf/ folder (Hydra needs an absolute one under console scripts)."""
    packaged = Path(__file__).resolve().parent / "conf"
    if packaged.is_dir():
        return str(packaged)
    return str(Path(__file__).resolve().parents[2] / "conf")


def compose(config_name: str, overrides: Sequence[str] = (), return_hydra_config: bool = False) -> DictConfig:
    """The config `config_name` (train, eval) composed from conf/ with these command-line overrides, as Hydra's
    apps compose it but without a run (no output folder, no logging set-up)."""
    with initialize_config_dir(config_dir=config_dir(), version_base="1.3"):
        return hydra_compose(config_name, overrides=list(overrides), return_hydra_config=return_hydra_config)
