"""Where the Hydra configs live: inside the installed package, or the repository's conf/ in editable installs."""

from __future__ import annotations

from pathlib import Path


def config_dir() -> str:
    """Absolute path of the conf/ folder (Hydra needs an absolute one under console scripts)."""
    packaged = Path(__file__).resolve().parent / "conf"
    if packaged.is_dir():
        return str(packaged)
    return str(Path(__file__).resolve().parents[2] / "conf")
