"""Every experiment config composes and trains a few steps on CPU at toy size."""

from __future__ import annotations

from pathlib import Path

import pytest
from omegaconf import OmegaConf

from colorgan.config import config_dir
from colorgan.data.prep import PrepOptions, prepare
from colorgan.stages import run_stages
from colorgan.train import train
from conftest import compose_config, write_scenes

EXPERIMENTS = sorted(p.stem for p in (Path(config_dir()) / "experiment").glob("*.yaml"))
TOY = {"trainer": {"accelerator": "cpu", "devices": 1, "precision": "32-true", "max_epochs": 1, "limit_val_batches": 1},
       "data": {"batches_per_epoch": 1, "batch_size": 2, "num_workers": 0}}


@pytest.fixture(scope="module")
def shards(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("experiment_data")
    write_scenes(root / "photos", 24, size=96)
    prepare([str(root / "photos")], root / "shards", PrepOptions(size=64, val_fraction=0.25, test_fraction=0.0), progress=False)
    return root / "shards"


def toy_config(name: str, out: Path, shards: Path, vgg_file: Path):
    """The experiment as composed from the command line, then shrunk: data from `shards` when it needs
    data of its own, small networks, one batch per stage, the CPU in place of a GPU or TPU."""
    cfg = compose_config(out, f"experiment={name}", "logger=none")
    OmegaConf.set_struct(cfg, False)
    toy = OmegaConf.create(TOY)
    if cfg.data.root is None and cfg.data.get("train_urls") is None:  # experiments on the user's own shards
        toy.data.root, toy.data.train_urls = str(shards), None
    if "DeOldify" in cfg.model._target_:
        toy.model = {"perceptual_weights": str(vgg_file), "pretrained": False, "generator": {"preset": "deoldify_small"}}
    else:
        toy.model = {"generator": {"ngf": 8}, "discriminator": {"ndf": 8}}
        toy.data.image_size = 32
    cfg = OmegaConf.merge(cfg, toy)
    for stage in cfg.stages or {}:
        cfg.stages[stage] = OmegaConf.merge(cfg.stages[stage], {"trainer": {"max_epochs": 1}, "data": {"batches_per_epoch": 1, "batch_size": 2, "image_size": 32}})
    return cfg


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_experiment_composes_and_trains_a_few_steps(name, tmp_path, shards, vgg_file):
    cfg = toy_config(name, tmp_path, shards, vgg_file)
    result = run_stages(cfg) if cfg.stages else train(cfg)
    assert result["global_step"] > 0 and "val/de2000" in result["metrics"]
    if cfg.stages:
        assert list(result["stages"]) == list(cfg.stages)


def test_every_seed_experiment_is_here():
    assert {"seed_baseline", "seed_tpu", "egan", "deoldify_nogan", "nogan", "demo", "synthetic"} <= set(EXPERIMENTS)
