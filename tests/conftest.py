"""Shared fixtures: an isolated cache and wandb folder, composed configs, and small photo folders."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from colorgan.config import compose
from colorgan.data.synthetic import synthetic_scene

if os.environ.get("PYTEST_XDIST_WORKER"):  # pytest -n 2: one thread per worker (and its subprocesses), or their pools fight over the cores
    os.environ["OMP_NUM_THREADS"] = "1"
    torch.set_num_threads(1)


@pytest.fixture(scope="session", autouse=True)
def isolated_environment(tmp_path_factory):
    """Bundled sets build into a per-session cache; wandb writes offline into a temporary folder; no hub downloads."""
    cache = tmp_path_factory.mktemp("cache")
    wandb_dir = tmp_path_factory.mktemp("wandb")
    env = {"COLORGAN_CACHE_DIR": str(cache), "WANDB_MODE": "offline", "WANDB_SILENT": "true"}
    env |= {"HF_HOME": str(cache / "huggingface"), "HF_HUB_OFFLINE": "1", "TORCH_HOME": str(cache / "torch")}  # empty weight caches
    env |= {k: str(wandb_dir) for k in ("WANDB_DIR", "WANDB_CACHE_DIR", "WANDB_DATA_DIR", "WANDB_CONFIG_DIR")}
    os.environ.update(env)
    os.environ.pop("WANDB_API_KEY", None)
    yield


@pytest.fixture(autouse=True)
def no_log_handlers_on_closed_streams():
    """Drop logging handlers left by an earlier in-process Hydra app on a stream pytest has closed since (their
    'Logging error' reports would land in the stderr that this test reads)."""
    for logger in [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]:
        for handler in list(getattr(logger, "handlers", [])):
            if isinstance(handler, logging.StreamHandler) and getattr(handler.stream, "closed", False):
                logger.removeHandler(handler)


def compose_config(output_dir: Path, *overrides: str, config_name: str = "train"):
    """The config `colorgan-train` would run with these overrides, writing into `output_dir`."""
    return compose(config_name, [f"paths.output_dir={output_dir}", *overrides])


def write_scenes(folder: Path, count: int, size: int = 160, seed: int = 0) -> list[Path]:
    """Colourful synthetic photos saved as JPEG files."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(count):
        path = folder / f"scene_{i:03d}.jpg"
        Image.fromarray(synthetic_scene(rng, size)).save(path, quality=92)
        paths.append(path)
    return paths


@pytest.fixture(scope="session")
def prepared_shards(tmp_path_factory) -> Path:
    """What colorgan-prep makes of 40 synthetic photos at 64x64: 31 training photos in 4 shards and 9 validation photos
    in 2 (the split is by content hash), 8 per shard (two shards per split and rank under DDP). Shared by every test
    that reads shards: copy it before damaging it."""
    from colorgan.data.prep import PrepOptions, prepare

    root = tmp_path_factory.mktemp("prepared")
    write_scenes(root / "photos", 40, size=96)
    opts = PrepOptions(size=64, val_fraction=0.25, test_fraction=0.0, maxcount=8)
    manifest = prepare([str(root / "photos")], root / "shards", opts, workers=1, progress=False)
    assert manifest["splits"] == {"train": 31, "val": 9, "test": 0} and len(manifest["shards"]) == 6
    return root / "shards"


@pytest.fixture(scope="session")
def vgg_file(tmp_path_factory) -> Path:
    """A VGG16-BN weights file in torchvision's format (random weights, feature layers only: 59 MB)."""
    from torchvision.models import vgg16_bn

    path = tmp_path_factory.mktemp("weights") / "vgg16_bn.pth"
    torch.manual_seed(0)
    torch.save({f"features.{k}": v for k, v in vgg16_bn().features.state_dict().items()}, path)
    return path


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> str:
    """A pix2pix checkpoint from a few batches on the synthetic scenes (for inference, export and serving)."""
    from colorgan.train import train

    out = tmp_path_factory.mktemp("tiny_run")
    overrides = [
        "experiment=synthetic",
        "logger=none",
        "debug=tiny",
        "data.batches_per_epoch=3",
    ]
    return train(compose_config(out, *overrides))["last_checkpoint"]


@pytest.fixture(scope="session")
def tiny_hint_checkpoint(tmp_path_factory) -> str:
    """A pix2pix checkpoint that takes hints (experiment=hints: push-pull prior + learned correction), a few batches."""
    from colorgan.train import train

    out = tmp_path_factory.mktemp("tiny_hint_run")
    overrides = ["experiment=hints", "logger=none", "debug=tiny"]
    return train(compose_config(out, *overrides))["last_checkpoint"]
