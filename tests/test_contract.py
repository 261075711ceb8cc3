"""The model contract: what every model states, read back from checkpoints alone; a new model is two files, copied
from the template (colorgan.models.template, conf/model/template.yaml)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from colorgan.checkpoint import build_model, load_model
from colorgan.config import config_dir
from colorgan.errors import UserError
from colorgan.inference import Colorizer
from colorgan.models import template
from colorgan.models.base import ModelContract
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


def copy_template(folder: Path, edit_module=lambda text: text, edit_config=lambda text: text) -> list[str]:
    """colorgan.models.template copied into `folder` as a newcomer starts a model, outside colorgan: the module as
    sketch.py (class Sketch) and its config as conf/model/sketch.yaml; returns the overrides that train it."""
    module = Path(template.__file__).read_text().replace("Template", "Sketch")
    config = (Path(config_dir()) / "model" / "template.yaml").read_text().replace("colorgan.models.template.Template", "sketch.Sketch")
    (folder / "conf" / "model").mkdir(parents=True)
    (folder / "sketch.py").write_text(edit_module(module))
    (folder / "conf" / "model" / "sketch.yaml").write_text(edit_config(config))
    return ["model=sketch", f"hydra.searchpath=[file://{folder / 'conf'}]"]


@pytest.fixture
def sketch_importable(tmp_path, monkeypatch):
    """`tmp_path` on sys.path for this test, and the sketch module imported from there forgotten after it."""
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("sketch", None)
    yield
    sys.modules.pop("sketch", None)


FEW_BATCHES = ["data=synthetic", "logger=none", "trainer.max_epochs=1", "data.batches_per_epoch=2", "data.batch_size=4", "trainer.limit_val_batches=1"]


def test_a_model_copied_from_the_template_trains_saves_loads_and_colourises(tmp_path, sketch_importable):
    """The fast version of the promise below: nothing in colorgan names the new model."""
    model_overrides = copy_template(tmp_path)
    checkpoint = train(compose_config(tmp_path / "run", *model_overrides, *FEW_BATCHES))["last_checkpoint"]
    model = load_model(checkpoint)
    assert type(model).__module__ == "sketch" and type(model).__name__ == "Sketch"
    assert model.contract == ModelContract(("generator",), 32, 4, ("L",))
    trained = torch.load(checkpoint, weights_only=True)["state_dict"]
    assert all(torch.equal(v, trained[k]) for k, v in model.state_dict().items())
    photo = Image.fromarray(np.random.default_rng(0).integers(0, 255, (40, 50), dtype=np.uint8))
    assert Colorizer(model).colorize(photo).size == (50, 40)


@pytest.mark.parametrize(
    ("edit_module", "edit_config", "message"),
    [
        pytest.param(
            lambda text: text.replace("self.save_hyperparameters()", "pass"),
            str,
            "Sketch.__init__ does not call self.save_hyperparameters()",
            id="no-save_hyperparameters",
        ),
        pytest.param(
            str,
            lambda text: text.replace("_convert_: all", ""),
            "Sketch got model.generator as an OmegaConf container: add `_convert_: all`",
            id="no-_convert_",
        ),
        pytest.param(str, lambda text: text.replace("_recursive_: false", ""), "Sketch got a built generator: add `_recursive_: false`", id="no-_recursive_"),
    ],
)
def test_a_model_that_misses_a_checklist_item_is_told_which_in_one_line(tmp_path, sketch_importable, edit_module, edit_config, message):
    from colorgan.cli.errors import one_line, user_error_in

    model_overrides = copy_template(tmp_path, edit_module, edit_config)
    with pytest.raises(Exception) as raised:  # noqa: PT011 - Hydra wraps errors raised while instantiating
        train(compose_config(tmp_path / "run", *model_overrides, *FEW_BATCHES))
    found = user_error_in(raised.value)
    assert found is not None and one_line(found).startswith(message), raised.value
    assert not (tmp_path / "run" / "checkpoints").exists()  # before any step


def test_a_checkpoint_without_saved_arguments_is_one_line():
    with pytest.raises(UserError, match=r"^Template.__init__ does not call self.save_hyperparameters\(\)"):
        build_model("colorgan.models.template.Template", {})


@pytest.mark.slow
def test_a_new_model_is_one_module_and_one_config(tmp_path):
    """The template copied outside colorgan (nothing in the package changes), trained, then coloured, exported and evaluated."""
    model_overrides = copy_template(tmp_path)
    env = os.environ | {"PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path])}  # the new model, and the colorgan under test

    def run(*args: str) -> subprocess.CompletedProcess:
        result = subprocess.run([str(BIN / args[0]), *args[1:]], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600)
        assert result.returncode == 0, result.stderr[-3000:]
        return result

    run(
        "colorgan-train",
        *model_overrides,
        "data=synthetic",
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
    assert "sketch" in (tmp_path / "eval" / "results.md").read_text()


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
