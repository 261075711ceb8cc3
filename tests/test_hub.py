"""Sharing on the Hugging Face Hub, through a hub stand-in on 127.0.0.1 (tests/hub_server.py) that serves what
huggingface_hub's own upload (create_repo, preupload, commit) and download (model_info, resolve) calls ask for."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from colorgan.cli.colorize import main as colorize_main
from colorgan.cli.export import main as export_main
from colorgan.errors import UserError
from colorgan.inference import Colorizer
from conftest import compose_config, write_scenes
from hub_server import HubServer

BIN = Path(sys.executable).parent


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """A hub on 127.0.0.1 that huggingface_hub in this process talks to, with an empty cache, a token and downloads on.

    huggingface_hub reads HF_ENDPOINT and HF_HOME once, at import: in this process its constants are set instead."""
    from huggingface_hub import constants

    with HubServer() as server:
        monkeypatch.setattr(constants, "ENDPOINT", server.endpoint)
        monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE", server.endpoint + "/{repo_id}/resolve/{revision}/{filename}")
        monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub-cache"))
        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
        for name in ("HF_HUB_OFFLINE", "COLORGAN_OFFLINE"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("HF_TOKEN", "hf_test_token")
        yield server


@pytest.fixture(scope="module")
def photo(tmp_path_factory) -> Path:
    """A grey photo file (a synthetic scene, 70x50)."""
    path = write_scenes(tmp_path_factory.mktemp("photo"), 1, size=70)[0]
    grey = tmp_path_factory.mktemp("grey") / "scene.png"
    Image.open(path).convert("L").resize((70, 50)).save(grey)
    return grey


def colours(source, photo: Path) -> np.ndarray:
    return np.asarray(Colorizer.from_pretrained(source, device="cpu").colorize(photo))


def export_files(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in ("config.json", "generator.safetensors")}


def test_a_pushed_export_colours_from_the_hub_as_from_its_folder_online_and_offline(tiny_checkpoint, hub, photo, tmp_path, monkeypatch, capsys):
    from huggingface_hub import constants

    out = tmp_path / "export"
    export_main([tiny_checkpoint, "-o", str(out), "--no-onnx", "--push-to-hub", "someone/tiny"])
    assert json.loads(capsys.readouterr().out)["hub"].startswith(f"{hub.endpoint}/someone/tiny/commit/")
    repo = hub.repos["someone/tiny"]
    pushed = repo.commits[repo.refs["main"]]
    assert set(pushed) == {"config.json", "generator.safetensors", "README.md"} and all(pushed[n] == (out / n).read_bytes() for n in pushed)

    local = colours(out, photo)
    assert np.array_equal(colours("someone/tiny", photo), local)  # bit-identical through the hub
    assert set(hub.downloads("someone/tiny")) == {"config.json", "generator.safetensors"}  # not the card

    asked = len(hub.requests)
    monkeypatch.setenv("COLORGAN_OFFLINE", "1")
    assert np.array_equal(colours("hf://someone/tiny", photo), local)  # the warm cache, and not one request
    assert len(hub.requests) == asked

    monkeypatch.delenv("COLORGAN_OFFLINE")
    monkeypatch.setattr(constants, "ENDPOINT", "http://127.0.0.1:9")  # online, and the hub unreachable: the warm cache answers
    monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE", "http://127.0.0.1:9/{repo_id}/resolve/{revision}/{filename}")
    assert np.array_equal(colours("hf://someone/tiny", photo), local)
    capsys.readouterr()  # huggingface_hub's warning that it used the cached commit

    monkeypatch.setenv("COLORGAN_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    with pytest.raises(SystemExit) as exit_:
        colorize_main(["hf://someone/tiny", str(photo), "-o", str(tmp_path / "coloured")])
    errors = capsys.readouterr().err.strip().splitlines()
    assert exit_.value.code == 2 and len(errors) == 1 and "hf://someone/tiny is not in the Hugging Face hub cache" in errors[0]
    assert "downloads are off" in errors[0] and len(hub.requests) == asked


def test_a_revision_pins_the_weights_it_names(tiny_checkpoint, tiny_hint_checkpoint, hub, photo, tmp_path):
    from colorgan.export import export

    first, second = tmp_path / "first", tmp_path / "second"
    export(tiny_checkpoint, first, onnx=False)
    export(tiny_hint_checkpoint, second, onnx=False)
    first_sha = hub.add_repo("someone/evolving", export_files(first))
    hub.repos["someone/evolving"].commit(export_files(second))
    assert np.array_equal(colours(f"hf://someone/evolving@{first_sha}", photo), colours(first, photo))
    assert np.array_equal(colours("hf://someone/evolving", photo), colours(second, photo))
    with pytest.raises(UserError, match="has no revision 'v9'"):
        Colorizer.from_pretrained("hf://someone/evolving@v9")


def test_a_repository_holding_a_pickle_is_refused_and_nothing_of_it_is_fetched(tiny_checkpoint, hub, photo, tmp_path, capsys):
    from colorgan.export import export

    export(tiny_checkpoint, tmp_path / "export", onnx=False)
    hub.add_repo("someone/pickled", {"last.ckpt": Path(tiny_checkpoint).read_bytes(), "README.md": b"# my model\n"})
    hub.add_repo("someone/mixed", export_files(tmp_path / "export") | {"pytorch_model.bin": Path(tiny_checkpoint).read_bytes()})
    for repo in ("someone/pickled", "someone/mixed"):
        with pytest.raises(SystemExit) as exit_:
            colorize_main([f"hf://{repo}", str(photo), "-o", str(tmp_path / "coloured")])
        errors = capsys.readouterr().err.strip().splitlines()
        assert exit_.value.code == 2 and len(errors) == 1 and f"refusing hf://{repo}: it offers pickled files" in errors[0]
        assert hub.downloads(repo) == [] and not (tmp_path / "hub-cache" / f"models--{repo.replace('/', '--')}" / "blobs").exists()
    assert not (tmp_path / "coloured").exists()


def test_a_config_naming_foreign_code_is_refused(tiny_checkpoint, hub, tmp_path):
    from colorgan.export import export

    export(tiny_checkpoint, tmp_path / "export", onnx=False)
    files = export_files(tmp_path / "export")
    config = json.loads(files["config.json"])
    config["hyper_parameters"]["generator"]["_target_"] = "subprocess.run"
    hub.add_repo("someone/sneaky", files | {"config.json": json.dumps(config).encode()})
    with pytest.raises(UserError, match=r"names code outside colorgan and its model's package \(subprocess.run\)"):
        Colorizer.from_pretrained("someone/sneaky")


@pytest.mark.parametrize(
    ("reference", "message"),
    [("hf://nobody", "does not name a hub repository"), ("hf://a/b/c", "does not name a hub repository"), ("hf://a/b@", "names no revision")],
)
def test_malformed_references_are_one_line(reference, message):
    with pytest.raises(UserError, match=message):
        Colorizer.from_pretrained(reference)


def test_an_unknown_repository_is_one_line(hub):
    with pytest.raises(UserError, match="no model repository someone/missing on the hub"):
        Colorizer.from_pretrained("someone/missing")


def test_push_needs_a_token_and_the_network_before_anything_is_written(tiny_checkpoint, hub, tmp_path, monkeypatch, capsys):
    from huggingface_hub import constants

    monkeypatch.delenv("HF_TOKEN")
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "no-login" / "token"))  # no stored token either
    for env, expected in ((None, "needs a Hugging Face token"), ("COLORGAN_OFFLINE", "needs the network")):
        if env:
            monkeypatch.setenv(env, "1")
        with pytest.raises(SystemExit):
            export_main([tiny_checkpoint, "-o", str(tmp_path / "export"), "--no-onnx", "--push-to-hub", "someone/tiny"])
        errors = capsys.readouterr().err.strip().splitlines()
        assert len(errors) == 1 and expected in errors[0]
    assert not (tmp_path / "export").exists() and "someone/tiny" not in hub.repos


def run_folder(checkpoint: str, root: Path, *overrides: str) -> Path:
    """The checkpoint inside a run folder as colorgan-train's Hydra app leaves it (.hydra/config.yaml, overrides.yaml)."""
    from omegaconf import OmegaConf

    (root / "checkpoints").mkdir(parents=True)
    (root / ".hydra").mkdir()
    shutil.copy(checkpoint, root / "checkpoints" / "last.ckpt")
    cfg = compose_config(root, *overrides)
    OmegaConf.save(cfg, root / ".hydra" / "config.yaml")
    OmegaConf.save(OmegaConf.create(list(overrides)), root / ".hydra" / "overrides.yaml")
    return root / "checkpoints" / "last.ckpt"


@pytest.mark.slow  # a colorgan-eval run for a real results.json
def test_the_model_card_passes_the_hubs_parsing_and_shows_the_eval_scores(tiny_checkpoint, tmp_path):
    from huggingface_hub import ModelCard
    from huggingface_hub.repocard_data import model_index_to_eval_results

    from colorgan.evaluate.run import run

    overrides = ("experiment=synthetic", "debug=tiny")
    checkpoint = run_folder(tiny_checkpoint, tmp_path / "run", *overrides)
    photos = tmp_path / "heldout"
    write_scenes(photos, 4, size=64)
    record = run(compose_config(tmp_path / "eval", f"ckpt_path={checkpoint}", f"data.root={photos}", "data.image_size=64", "logger=none", config_name="eval"))
    results = Path(record["output_dir"]) / "results.json"
    scored = json.loads(results.read_text())
    ours = next(row for row in scored["rows"] if row["model"] != "grey (ab = 0)")
    ours |= {"lpips": 0.2345, "fid": 87.65}  # as given where the weights are on the machine (and 100+ photos for FID)
    results.write_text(json.dumps(scored))

    out = tmp_path / "export"
    export_main([str(checkpoint), "-o", str(out), "--no-onnx", "--eval", str(results), "--license", "apache-2.0"])
    card = ModelCard.load(out / "README.md")
    assert (card.data.library_name, card.data.pipeline_tag, card.data.license) == ("colorgan", "image-to-image", "apache-2.0")
    assert {"colorization", "pix2pix"} <= set(card.data.tags)
    name, parsed = model_index_to_eval_results(card.data.to_dict()["model-index"])
    values = {r.metric_type: r.metric_value for r in parsed}
    expected = {"ciede2000": "de2000", "psnr": "psnr", "ssim": "ssim", "lpips": "lpips", "colorfulness": "cf", "colorfulness_gap": "dcf", "fid": "fid"}
    assert values == {metric: round(ours[column], 4) for metric, column in expected.items()}
    by_type = {r.metric_type: r for r in parsed}
    assert by_type["fid"].metric_args["resize"].startswith("299x299") and by_type["ciede2000"].metric_args == {"protocol": "photo", "images": 4, "hints": 0}
    assert name == "export" and by_type["psnr"].dataset_type == "heldout"
    assert f"{ours['de2000']:.2f}" in card.text and "grey" in card.text  # the table beside the grey baseline
    assert "colorgan-train experiment=synthetic debug=tiny" in card.text and "2,000 procedural scenes, not photos" in card.text
    assert "colorgan-colorize" in card.text and "Colorizer.from_pretrained" in card.text


@pytest.mark.slow  # trains a few batches
def test_train_init_from_the_hub_starts_from_the_shared_weights(hub, tmp_path):
    import pytorch_lightning as pl
    from hydra.utils import instantiate

    from colorgan.checkpoint import load_model
    from colorgan.export import export
    from colorgan.train import train

    # instance norm (no running statistics) and lr 0: training leaves the model as it started, so the run's
    # first validation is the shared model's own
    model = ("experiment=synthetic", "logger=none", "debug=tiny", "model.generator.norm=instance")
    shared = train(compose_config(tmp_path / "shared", *model, "data.batches_per_epoch=2", "trainer.max_epochs=1"))["last_checkpoint"]
    export(shared, tmp_path / "export", onnx=False)
    hub.add_repo("someone/instance", export_files(tmp_path / "export"))

    cfg = compose_config(tmp_path / "tuned", *model, "data.batches_per_epoch=1", "trainer.max_epochs=1", "model.lr=0", "init_from=hf://someone/instance")
    first_validation = train(cfg)["metrics"]["val/de2000"]
    datamodule = instantiate(cfg.data)
    trainer = pl.Trainer(accelerator="cpu", logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False)
    exported = trainer.validate(load_model(tmp_path / "export"), datamodule=datamodule, verbose=False)[0]["val/de2000"]
    assert first_validation == pytest.approx(exported, abs=1e-6)
    assert sorted(set(hub.downloads("someone/instance"))) == ["config.json", "generator.safetensors"]


def test_wandb_log_model_offline_says_so_in_one_line_and_goes_on(tmp_path, caplog):
    from pytorch_lightning.loggers import WandbLogger

    from colorgan.loggers import make_loggers

    for extra, expected, log_model in (
        ((), "staged in wandb's data folder", True),
        (("+logger.wandb.offline=true",), "Lightning refuses log_model offline", False),
    ):
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="colorgan.loggers"):
            (logger,) = make_loggers(compose_config(tmp_path, "logger.wandb.log_model=true", *extra))
        assert isinstance(logger, WandbLogger) and logger._log_model is log_model
        assert [r.getMessage() for r in caplog.records if expected in r.getMessage()] and len(caplog.records) == 1
        assert "\n" not in caplog.records[0].getMessage()


@pytest.mark.slow  # four command-line processes
def test_the_command_line_round_trip(tiny_checkpoint, photo, tmp_path):
    with HubServer() as hub:
        env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "COLORGAN_OFFLINE")}
        env |= {"HF_ENDPOINT": hub.endpoint, "HF_HOME": str(tmp_path / "hf"), "HF_TOKEN": "hf_test_token"}

        def run(*args: str, **extra: str) -> subprocess.CompletedProcess:
            return subprocess.run([str(BIN / args[0]), *args[1:]], capture_output=True, text=True, env=env | extra)

        pushed = run("colorgan-export", tiny_checkpoint, "-o", str(tmp_path / "export"), "--no-onnx", "--push-to-hub", "someone/cli", "--private")
        assert pushed.returncode == 0, pushed.stderr
        assert hub.repos["someone/cli"].private
        for name, extra in (("online", {}), ("offline", {"HF_HUB_OFFLINE": "1"})):
            done = run("colorgan-colorize", "hf://someone/cli", str(photo), "-o", str(tmp_path / name), **extra)
            assert done.returncode == 0, done.stderr
        local = Colorizer.from_checkpoint(tmp_path / "export", device="cpu").colorize(photo)
        for name in ("online", "offline"):
            assert np.array_equal(np.asarray(Image.open(tmp_path / name / photo.name)), np.asarray(local))
        empty = run("colorgan-colorize", "hf://someone/cli", str(photo), "-o", str(tmp_path / "none"), HF_HUB_OFFLINE="1", HF_HOME=str(tmp_path / "empty"))
        assert empty.returncode == 2 and len(empty.stderr.strip().splitlines()) == 1 and "hf://someone/cli" in empty.stderr


def test_eval_names_a_hub_model_by_its_repository():
    from colorgan.evaluate.run import row_names

    class Pix2Pix:
        pass

    assert row_names(["hf://someone/tiny@v1"], [Pix2Pix()], None) == ["pix2pix (someone/tiny@v1)"]


@pytest.mark.slow  # builds two DeOldify generators
def test_export_weights_start_a_spectral_norm_generator_where_the_export_is(tmp_path):
    import copy

    import torch
    from hydra.utils import instantiate

    from colorgan.init_weights import load_generator, settle_spectral_norm
    from colorgan.nets.layers import fold_spectral_norm

    cfg = compose_config(tmp_path, "model=deoldify", "data=synthetic")
    torch.manual_seed(0)
    trained, fresh = instantiate(cfg.model).generator, instantiate(cfg.model).generator
    x = torch.rand(2, 1, 32, 32) * 2 - 1
    with torch.no_grad():
        trained.train()(x)  # batch-norm statistics move
    settle_spectral_norm(trained)  # a trained model's power iteration has converged
    with torch.no_grad():
        expected = trained.eval()(x)
        assert (fresh.eval()(x) - expected).abs().max() > 0.1
        load_generator(fresh, fold_spectral_norm(copy.deepcopy(trained)).state_dict(), "export")
        assert (fresh.eval()(x) - expected).abs().max() < 1e-3  # float32 re-normalisation through the spectral-norm layers: about 1e-4
