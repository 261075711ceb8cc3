"""Two CPU processes (trainer=ddp_cpu, gloo) through the real command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from colorgan.checkpoint import load_model
from colorgan.color import rgb_to_model
from colorgan.data.shards import ShardWriter
from colorgan.data.synthetic import synthetic_scene
from colorgan.evaluate.scoring import evaluate
from colorgan.io import write_json_atomic

BIN = Path(sys.executable).parent
GREYS = [20 + 6 * i for i in range(32)]  # one flat grey level per training photo: its identity survives crops and flips


def png(array: np.ndarray) -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def identifiable_shards(tmp_path_factory) -> Path:
    """4 training shards of 8 flat grey photos (32 distinct levels) and 2 validation shards of scenes."""
    root = tmp_path_factory.mktemp("ddp_shards")
    records = []
    train = ShardWriter(root, "train", maxcount=8)
    for i, grey in enumerate(GREYS):
        train.write(f"grey_{i:03d}", {"png": png(np.full((48, 48, 3), grey, np.uint8)), "json": b"{}"})
    records += train.close()
    val = ShardWriter(root, "val", maxcount=6)
    rng = np.random.default_rng(1)
    for i in range(12):
        val.write(f"scene_{i:03d}", {"png": png(synthetic_scene(rng, 48)), "json": b"{}"})
    records += val.close()
    splits = {s: sum(r["count"] for r in records if r["split"] == s) for s in ("train", "val", "test")}
    write_json_atomic(root / "manifest.json", {"format": 1, "splits": splits, "shards": records})
    return root


def grey_index(L_mean: float) -> int:
    levels = rgb_to_model(torch.tensor(GREYS, dtype=torch.float32).div(255).view(-1, 1, 1, 1).expand(-1, 3, 1, 1))[0].flatten()
    return int((levels - L_mean).abs().argmin())


@pytest.mark.slow
def test_two_ranks_split_the_epoch_reduce_metrics_and_pick_the_same_child(tmp_path, identifiable_shards):
    probe = tmp_path / "probe"
    args = [
        "trainer=ddp_cpu",
        "model=egan",
        "data=shards",
        f"data.root={identifiable_shards}",
        "data.resample=false",
        "data.image_size=32",
        "data.batch_size=4",
        "data.num_workers=0",
        "model.generator.ngf=8",
        "model.discriminator.ndf=8",
        "model.eval_size=2",
        "trainer.max_epochs=1",
        "logger=none",
        f"hydra.run.dir={tmp_path / 'run'}",
        "+callbacks.probe._target_=ddp_probe.Probe",
        f"+callbacks.probe.out={probe}",
    ]
    env = os.environ | {"PYTHONPATH": str(Path(__file__).parent)}
    result = subprocess.run([str(BIN / "colorgan-train"), *args], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    ranks = [json.loads((probe / f"rank{r}.json").read_text()) for r in (0, 1)]

    seen = [sorted(grey_index(v) for v in rank["seen"]) for rank in ranks]
    assert not set(seen[0]) & set(seen[1])  # no photo on both ranks
    assert sorted(seen[0] + seen[1]) == list(range(32))  # and every photo of the epoch on one of them
    assert ranks[0]["global_step"] == ranks[1]["global_step"] > 0 and len(ranks[0]["seen"]) == len(ranks[1]["seen"]) == 16

    assert ranks[0]["winners"] == ranks[1]["winners"] and len(ranks[0]["winners"]) == 4
    assert ranks[0]["generator_checksum"] == pytest.approx(ranks[1]["generator_checksum"], rel=1e-6)

    # the logged validation metric is over both ranks' halves of the val set: the same as one process on all of it
    assert ranks[0]["val_de2000"] == pytest.approx(ranks[1]["val_de2000"], rel=1e-6)
    from colorgan.data.datamodule import LabDataModule

    data = LabDataModule(root=str(identifiable_shards), image_size=32, batch_size=4, num_workers=0)
    data.setup("validate")
    model = load_model(tmp_path / "run" / "checkpoints" / "last.ckpt", "cpu")
    images = (image for batch in data.val_dataloader() for image in batch)
    single = evaluate({"egan": model}, images, torch.device("cpu"), protocol="fixed")  # the network at the data's size, as validation
    assert single["images"] == 12 and single["rows"][1]["de2000"] == pytest.approx(ranks[0]["val_de2000"], rel=1e-4)
