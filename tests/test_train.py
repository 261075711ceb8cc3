from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch

from colorgan.errors import UserError
from colorgan.train import train
from conftest import compose_config


class BatchCounter(pl.Callback):
    """Counts the training batches a run really executes, and the step it started at."""

    batches = 0
    first_step = None

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if BatchCounter.first_step is None:
            BatchCounter.first_step = trainer.global_step
        BatchCounter.batches += 1


COUNTER = "+callbacks.counter._target_=test_train.BatchCounter"


@pytest.mark.slow
def test_pix2pix_learns_synthetic_colours(tmp_path):
    cfg = compose_config(tmp_path, "experiment=synthetic", "logger=none", "trainer.max_epochs=4")
    result = train(cfg)
    metrics = result["metrics"]
    assert metrics["val/de2000"] <= 0.7 * metrics["val_grey/de2000"], metrics
    assert metrics["val/de2000_gain"] >= 0.3
    checkpoint = torch.load(result["best_checkpoint"], weights_only=False)
    assert checkpoint["colorgan"]["target"] == "colorgan.models.pix2pix.Pix2Pix"
    assert checkpoint["hyper_parameters"]["generator"]["_target_"] == "colorgan.nets.UNetGenerator"


@pytest.mark.slow
def test_stopped_run_resumes_at_the_same_global_step(tmp_path):
    common = ["experiment=synthetic", "logger=none", "debug=tiny", "data.batches_per_epoch=5", COUNTER]
    first = train(compose_config(tmp_path / "a", *common, "max_batches=3"))  # stops mid-epoch: 3 batches, 2 optimiser steps each
    assert first["global_step"] == 6
    saved = torch.load(first["last_checkpoint"], weights_only=False)
    assert saved["global_step"] == 6
    BatchCounter.batches, BatchCounter.first_step = 0, None
    second = train(compose_config(tmp_path / "b", *common, "max_batches=10", f"ckpt_path={first['last_checkpoint']}"))
    assert BatchCounter.first_step == 6 and BatchCounter.batches == 7
    assert second["global_step"] == 20


def test_trains_on_prepared_shards(tmp_path, prepared_shards):
    cfg = compose_config(
        tmp_path / "run",
        "data=shards",
        f"data.root={prepared_shards}",
        "data.image_size=32",
        "data.num_workers=1",
        "data.batches_per_epoch=4",
        "data.batch_size=8",
        "debug=tiny",
        "logger=csv",
        "test=false",
    )
    result = train(cfg)
    assert result["global_step"] == 8 and "val/de2000" in result["metrics"]
    metrics_csv = next((tmp_path / "run" / "csv").rglob("metrics.csv")).read_text()
    assert "val/de2000" in metrics_csv and "val_grey/de2000" in metrics_csv


def test_missing_checkpoint_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        train(compose_config(tmp_path, "logger=none", f"ckpt_path={tmp_path / 'nope.ckpt'}"))


@pytest.mark.slow
def test_trains_on_shards_streamed_through_pipe_commands(tmp_path, prepared_shards):
    """Object storage works the same way: e.g. pipe:gcloud storage cat gs://... or pipe:aws s3 cp s3://... -"""
    train_urls = [f"pipe:cat {p}" for p in sorted(prepared_shards.glob("train-*.tar"))]
    val_urls = [f"pipe:cat {p}" for p in sorted(prepared_shards.glob("val-*.tar"))]
    assert len(train_urls) >= 2
    cfg = compose_config(
        tmp_path / "run",
        "data=shards",
        f"data.train_urls=[{','.join(train_urls)}]",
        f"data.val_urls=[{','.join(val_urls)}]",
        "data.image_size=32",
        "data.num_workers=1",
        "data.batches_per_epoch=3",
        "data.batch_size=8",
        "debug=tiny",
        "logger=none",
    )
    result = train(cfg)
    assert result["global_step"] == 6 and result["metrics"]["val_grey/de2000"] > 0


@pytest.mark.slow
def test_compile_keeps_parameter_names_so_checkpoints_do_not_change(tmp_path):
    from hydra.utils import instantiate

    from colorgan.acceleration import compile_networks

    model = instantiate(compose_config(tmp_path, "experiment=synthetic").model)
    names = list(model.state_dict())
    compile_networks(model)
    assert list(model.state_dict()) == names
    assert model.generator._compiled_call_impl is not None and model.discriminator._compiled_call_impl is not None


class WeightLayout(pl.Callback):
    """Records whether the generator's 4-d weights are channels-last while training."""

    seen: list[bool] = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        weights = [p for p in pl_module.generator.parameters() if p.dim() == 4]
        WeightLayout.seen.append(all(p.is_contiguous(memory_format=torch.channels_last) for p in weights))


def test_channels_last_trains_in_nhwc(tmp_path):
    overrides = [
        "experiment=synthetic",
        "channels_last=true",
        "logger=none",
        "debug=tiny",
        "+callbacks.layout._target_=test_train.WeightLayout",
    ]
    WeightLayout.seen.clear()
    train(compose_config(tmp_path, *overrides))
    assert WeightLayout.seen == [True, True]


class OptimizerKinds(pl.Callback):
    """Records whether each optimiser runs fused kernels."""

    seen: list[bool] = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        OptimizerKinds.seen.extend(bool(opt.defaults["fused"]) for opt in trainer.optimizers)


@pytest.mark.slow
@pytest.mark.parametrize("model, fused", [("pix2pix", False), ("egan", True)])
def test_fused_optimizer_switch_trains(tmp_path, model, fused):
    """E-GAN restores parents' Adam state in place: fused Adam's state must survive that too."""
    overrides = [
        "experiment=synthetic",
        f"model={model}",
        f"model.fused_optimizer={fused}",
        "logger=none",
        "debug=tiny",
        "+callbacks.kinds._target_=test_train.OptimizerKinds",
    ]
    OptimizerKinds.seen.clear()
    result = train(compose_config(tmp_path, *overrides))
    assert OptimizerKinds.seen == [fused] * 4 and result["metrics"]["val/de2000"] > 0


@pytest.mark.slow
def test_trains_on_shards_from_an_fsspec_url(tmp_path, prepared_shards):
    """Any scheme fsspec knows works as a shard URL (s3://, gcs://, az:// with their fsspec packages); memory:// here."""
    import fsspec

    memory = fsspec.filesystem("memory")
    for path in prepared_shards.glob("*.tar"):
        memory.pipe(f"/colorgan-test/{path.name}", path.read_bytes())
    train_urls = ",".join(f"memory://colorgan-test/{p.name}" for p in sorted(prepared_shards.glob("train-*.tar")))
    val_urls = ",".join(f"memory://colorgan-test/{p.name}" for p in sorted(prepared_shards.glob("val-*.tar")))
    cfg = compose_config(
        tmp_path / "run",
        "data=shards",
        f"data.train_urls=[{train_urls}]",
        f"data.val_urls=[{val_urls}]",
        "data.image_size=32",
        "data.num_workers=0",
        "data.batch_size=8",
        "debug=tiny",
        "logger=none",
    )
    result = train(cfg)
    assert result["global_step"] == 4 and result["metrics"]["val_grey/de2000"] > 0


DIES_WHILE_SAVING = """
import os, signal, sys
from pathlib import Path
from pytorch_lightning.plugins.io import TorchCheckpointIO

saves = []
original = TorchCheckpointIO.save_checkpoint


def dies_half_way(self, checkpoint, path, storage_options=None):
    saves.append(Path(path).name)
    if Path(path).name.startswith("last") and sum(name.startswith("last") for name in saves) == 2:
        with open(path, "wb") as f:  # the second last.ckpt: half written, then the process is killed
            f.write(b"half a checkpoint")
            f.flush()
        os.kill(os.getpid(), signal.SIGKILL)
    return original(self, checkpoint, path, storage_options)


TorchCheckpointIO.save_checkpoint = dies_half_way
from colorgan.cli.train import main

sys.argv = ["colorgan-train", *sys.argv[1:]]
main()
"""


@pytest.mark.slow
def test_a_kill_during_a_save_leaves_the_last_good_checkpoint_and_the_run_resumes_from_it(tmp_path):
    import subprocess
    import sys

    from colorgan.checkpoint import read_checkpoint

    script = tmp_path / "dies.py"
    script.write_text(DIES_WHILE_SAVING)
    run_dir = tmp_path / "run"
    args = [
        "experiment=synthetic",
        "logger=none",
        "debug=tiny",
        "data.batches_per_epoch=3",
        "trainer.max_epochs=3",
        f"hydra.run.dir={run_dir}",
    ]
    killed = subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert killed.returncode == -9, killed.stderr[-2000:]
    last = run_dir / "checkpoints" / "last.ckpt"
    assert read_checkpoint(last)["global_step"] == 6  # epoch 1's, complete (2 optimiser steps per batch)
    resumed = subprocess.run([sys.executable, "-m", "colorgan.cli.train", *args], capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"Restored all states from the checkpoint at {last}" in resumed.stdout + resumed.stderr
    assert read_checkpoint(last)["global_step"] == 18, resumed.stdout[-3000:]


def test_the_dashboard_shows_the_same_picture_as_the_saved_grid(tmp_path):
    """wandb 0.31 wrote float grids as black PNGs: the logged picture must be the grid saved on disk, pixel for pixel."""
    import numpy as np
    from PIL import Image

    cfg = compose_config(
        tmp_path,
        "experiment=synthetic",
        "logger=wandb",
        "debug=tiny",
    )
    result = train(cfg)
    saved = np.asarray(Image.open(result["sample_grid"]).convert("RGB"))
    logged = list(Path(result["wandb_dir"]).rglob("media/images/samples_*.png"))
    assert len(logged) == 1
    assert np.array_equal(np.asarray(Image.open(logged[0]).convert("RGB")), saved) and saved.std() > 10  # not blank
