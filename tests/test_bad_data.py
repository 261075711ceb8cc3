"""Training survives bad data: damaged samples and broken shards are skipped, counted and logged; mostly bad data stops with one line."""

import csv
import io
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from colorgan.data.datamodule import LabDataModule
from colorgan.errors import UserError
from colorgan.train import train
from conftest import compose_config

TINY = ["debug=tiny", "data.image_size=32", "data.batch_size=4", "data.batches_per_epoch=4"]


def damage_jpegs(shard: Path, count: int) -> None:
    """Rewrite a shard with its first `count` JPEGs damaged as a bad disk or transfer would (libjpeg: 'Unsupported marker type')."""
    with tarfile.open(shard) as tar:
        members = [(m, tar.extractfile(m).read()) for m in tar.getmembers()]
    with tarfile.open(shard, "w", format=tarfile.GNU_FORMAT) as tar:
        for member, data in members:
            if member.name.endswith(".jpg") and count > 0:
                data, count = data[:2] + b"\xff\x4f" + data[2:], count - 1
                member.size = len(data)
            tar.addfile(member, io.BytesIO(data))


def truncate(shard: Path) -> None:
    """Cut a shard off in the middle, as a dropped connection does."""
    shard.write_bytes(shard.read_bytes()[: shard.stat().st_size // 2])


@pytest.fixture
def shards(prepared_shards, tmp_path) -> Path:
    """A copy of the shared prepared shards (31 training photos in 4 shards, 9 validation photos in 2) to damage."""
    return Path(shutil.copytree(prepared_shards, tmp_path / "shards"))


def logged(run: Path, name: str) -> list[float]:
    with next((run / "csv").rglob("metrics.csv")).open() as f:
        return [float(row[name]) for row in csv.DictReader(f) if row.get(name)]


@pytest.mark.slow
def test_a_damaged_jpeg_and_a_truncated_shard_are_skipped_counted_and_logged(tmp_path, shards):
    damage_jpegs(shards / "train-000000.tar", 1)
    truncate(shards / "train-000001.tar")
    damage_jpegs(shards / "val-000000.tar", 1)
    run = tmp_path / "run"
    result = train(compose_config(run, "data=shards", f"data.root={shards}", "data.num_workers=2", "logger=csv", *TINY))
    assert result["global_step"] == 8 and "val/de2000" in result["metrics"]  # all 4 batches, 2 optimiser steps each
    assert logged(run, "data/skipped_train")[-1] > 0
    assert logged(run, "data/skipped_val") == [1.0]  # one damaged JPEG in one validation pass


@pytest.mark.slow
@pytest.mark.timeout(400)
@pytest.mark.parametrize("trainer", ["cpu", "ddp_cpu"])
def test_mostly_bad_data_stops_with_one_line(tmp_path, shards, trainer):
    """With DDP every rank stops at the same batch: the counts are summed over the ranks before each check, and a rank
    whose stream runs dry fills its epoch with empty batches that all ranks agree on (one that stopped alone would
    leave the other waiting in its next all-reduce)."""
    for shard in shards.glob("train-*.tar"):
        damage_jpegs(shard, 7)  # 26 or more of 31 training photos
    args = ["data=shards", f"data.root={shards}", "data.bad_check_after=20", "data.num_workers=1", f"trainer={trainer}", "logger=none"]
    args += [f"hydra.run.dir={tmp_path / 'run'}", *TINY]
    result = subprocess.run([str(Path(sys.executable).parent / "colorgan-train"), *args], capture_output=True, text=True, timeout=300)
    assert result.returncode == 2, result.stderr[-3000:]
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("colorgan-train: error: ") and ("training samples and shard reads failed" in last or "training data ran dry" in last), last
    assert "Traceback" not in result.stderr


@pytest.mark.slow
@pytest.mark.timeout(400)
@pytest.mark.parametrize("trainer", ["cpu", "ddp_cpu"])
def test_a_stream_that_runs_dry_stops_every_rank_with_one_line(tmp_path, shards, trainer):
    """Every training read fails but the fraction limit allows it: the stream ends after bad_check_after failures
    in a row, and the run stops at its first dry batch, on every rank."""
    for shard in shards.glob("train-*.tar"):
        damage_jpegs(shard, 8)
    args = ["data=shards", f"data.root={shards}", "data.bad_check_after=20", "data.max_bad_fraction=1", "data.num_workers=1", f"trainer={trainer}"]
    args += ["logger=none", f"hydra.run.dir={tmp_path / 'run'}", *TINY]
    result = subprocess.run([str(Path(sys.executable).parent / "colorgan-train"), *args], capture_output=True, text=True, timeout=300)
    assert result.returncode == 2, result.stderr[-3000:]
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("colorgan-train: error: training data ran dry: 20 reads in a row failed"), last
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("limits, message", [({"max_bad_fraction": 2}, "between 0 and 1"), ({"bad_check_after": 0}, "positive whole number")])
def test_bad_limits_are_user_errors(limits, message):
    with pytest.raises(UserError, match=message):
        LabDataModule(root="/anywhere", **limits)
