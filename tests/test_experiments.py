"""Every experiment config composes and trains a few steps on CPU at toy size."""

from __future__ import annotations

from pathlib import Path

import pytest
from omegaconf import OmegaConf

from colorgan.config import config_dir
from colorgan.tasks import fit
from conftest import compose_config

EXPERIMENTS = sorted(p.stem for p in (Path(config_dir()) / "experiment").glob("*.yaml"))
STAGED = {p.stem for p in (Path(config_dir()) / "experiment").glob("*.yaml") if "\nstages:" in p.read_text()}  # several runs each: slow
TOY = {
    "trainer": {"accelerator": "cpu", "devices": 1, "precision": "32-true", "max_epochs": 1, "limit_val_batches": 1},
    "data": {"batches_per_epoch": 1, "batch_size": 2, "num_workers": 0},
}


SMALL = {"ngf": 8, "ndf": 8, "nf": 8, "preset": "deoldify_small"}  # the width keys of the networks' configs


def toy_config(name: str, out: Path, shards: Path, vgg_file: Path):
    """The experiment as composed from the command line, then shrunk: data from `shards` when it needs
    data of its own, every network's width keys small, weights from local files, one batch per stage, the
    CPU in place of a GPU or TPU. Keys are found in the config, never by model name."""
    cfg = compose_config(out, f"experiment={name}", "logger=none")
    OmegaConf.set_struct(cfg, False)
    toy = OmegaConf.create(TOY)
    if cfg.data.root is None and cfg.data.get("train_urls") is None:  # experiments on the user's own shards
        toy.data.root, toy.data.train_urls = str(shards), None
    toy.data.image_size = 32
    networks = {
        section: {k: v for k, v in SMALL.items() if k in cfg.model[section]}
        for section in cfg.model
        if OmegaConf.is_dict(cfg.model[section]) and "_target_" in cfg.model[section]
    }
    toy.model = networks | {k: v for k, v in {"perceptual_weights": str(vgg_file), "pretrained": False}.items() if k in cfg.model}
    cfg = OmegaConf.merge(cfg, toy)
    for stage in cfg.stages or {}:
        cfg.stages[stage] = OmegaConf.merge(
            cfg.stages[stage], {"trainer": {"max_epochs": 1}, "data": {"batches_per_epoch": 1, "batch_size": 2, "image_size": 32}}
        )
    return cfg


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in STAGED else n for n in EXPERIMENTS])
def test_experiment_composes_and_trains_a_few_steps(name, tmp_path, prepared_shards, vgg_file):
    cfg = toy_config(name, tmp_path, prepared_shards, vgg_file)
    result = fit(cfg)
    assert result["global_step"] > 0 and "val/de2000" in result["metrics"]
    if cfg.stages:
        assert list(result["stages"]) == list(cfg.stages)


def test_every_seed_experiment_is_here():
    assert {"seed_baseline", "seed_tpu", "egan", "deoldify_nogan", "nogan", "synthetic", "hints"} <= set(EXPERIMENTS)
    assert (Path(config_dir()) / "schedule" / "samples.yaml").is_file()  # the demo: bare colorgan-train on data=samples
