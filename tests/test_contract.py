"""The model contract: what every model states, read back from checkpoints alone; a new model is two files."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from colorgan.checkpoint import load_model
from colorgan.inference import Colorizer
from colorgan.train import train
from conftest import compose_config, write_scenes

BIN = Path(sys.executable).parent
LEGACY = Path(__file__).parent / "fixtures" / "pix2pix_v0_1_0.ckpt"  # written by colorgan 0.1.0 (32 px, ngf 4)


def test_a_checkpoint_of_colorgan_0_1_0_still_loads_and_renders_at_its_size():
    model = load_model(LEGACY)
    assert model.contract.image_size == 32 and model.contract.size_multiple == 32 and not model.contract.hints
    colorizer = Colorizer(model)
    assert colorizer.default_render_factor == 2
    assert colorizer.colorize(Image.new("L", (90, 40), 128)).size == (90, 40)


@pytest.mark.slow
def test_deoldify_trained_at_64_px_renders_at_64_px_by_default(tmp_path):
    cfg = compose_config(
        tmp_path,
        "model=deoldify",
        "model.stage=critic",
        "data=synthetic",
        "data.image_size=64",
        "logger=none",
        "trainer.max_epochs=1",
        "data.batches_per_epoch=1",
        "data.batch_size=2",
        "trainer.limit_val_batches=1",
    )
    checkpoint = train(cfg)["last_checkpoint"]
    saved = torch.load(checkpoint, weights_only=True)["colorgan"]["model"]
    assert saved["image_size"] == 64 and saved["size_multiple"] == 16 and saved["inputs"] == ["L"]
    colorizer = Colorizer.from_checkpoint(checkpoint, device="cpu")
    assert colorizer.default_render_factor == 4 and colorizer.render_shape(300, 600, None) == (32, 64)


TOY_MODULE = '''
"""A fourth colouriser, as a newcomer writes one: a tiny conv net trained on L1."""
import torch
import torch.nn.functional as F
from torch import nn

from colorgan.models.base import ColorizationModule


class TinyNet(nn.Module):
    size_multiple = 4

    def __init__(self, in_channels: int = 1, width: int = 8):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, 2, 1), nn.ReLU(), nn.Conv2d(width, width, 3, 2, 1), nn.ReLU(),
            nn.Upsample(scale_factor=4, mode="bilinear"), nn.Conv2d(width, 2, 3, 1, 1), nn.Tanh(),
        )

    def forward(self, x):
        return self.net(x)


class Toy(ColorizationModule):
    def __init__(self, generator, lr=1e-2, **options):  # options every model takes: hints, hint_prior, ...
        super().__init__(**options)
        self.save_hyperparameters()
        self.generator = self.build_generator(generator)

    def training_step(self, batch, batch_idx):
        L, ab, x = self.training_inputs(batch)
        loss = F.l1_loss(self.generate(x), ab)
        self.log("train/loss_l1", loss)
        return loss

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=self.hparams.lr)
'''

TOY_CONFIG = """
_target_: toy_colorizer.Toy
_recursive_: false
_convert_: all
generator:
  _target_: toy_colorizer.TinyNet
  width: 8
lr: 0.01
"""


@pytest.mark.slow
def test_a_fourth_model_is_one_module_and_one_config(tmp_path):
    """Written outside colorgan (nothing in the package changes), trained, then coloured, exported and evaluated."""
    (tmp_path / "conf" / "model").mkdir(parents=True)
    (tmp_path / "toy_colorizer.py").write_text(textwrap.dedent(TOY_MODULE))
    (tmp_path / "conf" / "model" / "toy.yaml").write_text(TOY_CONFIG)
    env = os.environ | {"PYTHONPATH": str(tmp_path)}

    def run(*args: str) -> subprocess.CompletedProcess:
        result = subprocess.run([str(BIN / args[0]), *args[1:]], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600)
        assert result.returncode == 0, result.stderr[-3000:]
        return result

    run(
        "colorgan-train",
        "model=toy",
        "data=synthetic",
        f"hydra.searchpath=[file://{tmp_path / 'conf'}]",
        f"hydra.run.dir={tmp_path / 'run'}",
        "logger=none",
        "trainer.max_epochs=1",
        "data.batches_per_epoch=3",
    )
    checkpoint = tmp_path / "run" / "checkpoints" / "last.ckpt"
    photos = write_scenes(tmp_path / "photos", 3, size=48)
    run("colorgan-colorize", str(checkpoint), str(tmp_path / "photos"), "-o", str(tmp_path / "coloured"))
    assert Image.open(tmp_path / "coloured" / photos[0].name).size == (48, 48)
    run("colorgan-export", str(checkpoint), "-o", str(tmp_path / "export"))
    assert (tmp_path / "export" / "generator.onnx").is_file()
    run(
        "colorgan-eval",
        f"ckpt_path={checkpoint}",
        f"data.root={tmp_path / 'photos'}",
        "data.image_size=32",
        "logger=none",
        f"hydra.run.dir={tmp_path / 'eval'}",
    )
    assert "toy" in (tmp_path / "eval" / "results.md").read_text()


class CreatesFile:
    """A pickle that creates a file when unpickled: what a malicious checkpoint does."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


@pytest.fixture
def malicious_checkpoint(tmp_path) -> tuple[Path, Path]:
    marker = tmp_path / "pwned"
    path = tmp_path / "shared.ckpt"
    real = torch.load(LEGACY, weights_only=True)
    torch.save(real | {"state_dict": CreatesFile(marker)}, path)
    return path, marker


@pytest.mark.parametrize(
    "command",
    [
        ["colorgan-colorize", "{ckpt}", "{photos}", "-o", "{tmp}/out"],
        ["colorgan-serve", "{ckpt}", "--port", "1"],
        ["colorgan-export", "{ckpt}", "-o", "{tmp}/export"],
        ["colorgan-eval", "ckpt_path={ckpt}", "data.root={photos}", "logger=none", "hydra.run.dir={tmp}/eval"],
        ["colorgan-train", "init_from={ckpt}", "experiment=synthetic", "logger=none", "hydra.run.dir={tmp}/train"],
        ["colorgan-train", "ckpt_path={ckpt}", "experiment=synthetic", "logger=none", "hydra.run.dir={tmp}/train"],
    ],
    ids=["colorize", "serve", "export", "eval", "init_from", "ckpt_path"],
)
@pytest.mark.slow
def test_a_checkpoint_that_would_run_code_is_refused_in_one_line(malicious_checkpoint, tmp_path, command):
    path, marker = malicious_checkpoint
    write_scenes(tmp_path / "photos", 1, size=32)
    args = [a.format(ckpt=path, photos=tmp_path / "photos", tmp=tmp_path) for a in command]
    result = subprocess.run([str(BIN / args[0]), *args[1:]], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2 and len(lines) == 1 and "refusing" in lines[0], result.stderr[-2000:]
    assert not marker.exists()


def test_a_damaged_last_checkpoint_names_the_good_one_to_resume_from(tmp_path):
    from colorgan.checkpoint import resume_checkpoint
    from colorgan.errors import UserError

    folder = tmp_path / "checkpoints"
    folder.mkdir()
    good = folder / "interrupted.ckpt"
    good.write_bytes(LEGACY.read_bytes())
    damaged = folder / "last.ckpt"
    damaged.write_bytes(LEGACY.read_bytes()[: LEGACY.stat().st_size // 2])
    os.utime(good, (1, 1))  # older than the damaged one
    with pytest.raises(UserError, match=f"last.ckpt is damaged.*ckpt_path={good}"):
        resume_checkpoint(folder)
    damaged.unlink()
    assert resume_checkpoint(folder) == str(good)


def test_a_model_trained_without_hints_refuses_them_in_one_line():
    from colorgan.errors import UserError
    from colorgan.hints import Hint

    photo = Image.fromarray(np.random.default_rng(0).integers(0, 255, (40, 60), dtype=np.uint8))
    with pytest.raises(UserError, match="trained without hints"):
        Colorizer(load_model(LEGACY)).colorize(photo, hints=[Hint(3, 4, "#ff0000")])
