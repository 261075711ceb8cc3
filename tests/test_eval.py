"""colorgan-eval: the metrics table with the grey baseline, FID as published tables compute it, FID/LPIPS from local
weights or reported unavailable with what to put where."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch_fidelity.feature_extractor_inceptionv3 import URL_INCEPTION_V3
from torchvision.models import AlexNet_Weights, alexnet

from colorgan.evaluate.metric_weights import FID_PROTOCOL
from colorgan.evaluate.report import markdown_table
from colorgan.evaluate.run import run
from conftest import compose_config, write_scenes

BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("photos")
    write_scenes(folder / "nested", 5, size=80, seed=3)
    return folder


@pytest.fixture(scope="module")
def lpips_file(tmp_path_factory) -> Path:
    """torchvision AlexNet weights (random values) in the hub's file format."""
    path = tmp_path_factory.mktemp("weights") / "alexnet.pth"
    torch.manual_seed(0)
    torch.save(alexnet().state_dict(), path)
    return path


@pytest.fixture(scope="module")
def fid_file(tmp_path_factory) -> Path:
    """torch-fidelity Inception-v3 weights (random values): built once without loading any weights."""
    from torch_fidelity import feature_extractor_inceptionv3 as fidelity

    path = tmp_path_factory.mktemp("weights") / "inception.pth"
    patch = pytest.MonkeyPatch()
    patch.setattr(fidelity, "load_state_dict_from_url", lambda *a, **k: {})
    patch.setattr(fidelity.FeatureExtractorInceptionV3, "load_state_dict", lambda self, state: None)
    torch.manual_seed(0)
    net = fidelity.FeatureExtractorInceptionV3("inception-v3-compat", ["2048"])
    patch.undo()
    torch.save(net.state_dict(), path)
    return path


@pytest.mark.slow
def test_table_of_every_metric_with_the_grey_baseline(tmp_path, tiny_checkpoint, photos, fid_file, lpips_file):
    cfg = compose_config(
        tmp_path,
        f"ckpt_path=[{tiny_checkpoint},{tiny_checkpoint}]",
        "names=[first,second]",
        f"data.root={photos}",
        "data.image_size=64",
        "data.batch_size=2",
        "logger=none",
        f"fid_weights={fid_file}",
        f"lpips_weights={lpips_file}",
        "sheet_size=3",
        config_name="eval",
    )
    record = run(cfg)
    rows = {r["model"]: r for r in record["rows"]}
    assert list(rows) == ["grey (ab = 0)", "first", "second"] and record["images"] == 5
    assert all(math.isfinite(v) for r in rows.values() for k, v in r.items() if k not in ("model", "fid"))
    assert rows["grey (ab = 0)"]["cf"] < 0.01 and rows["first"]["de2000"] == pytest.approx(rows["second"]["de2000"])
    # FID on 5 images is refused, with the protocol and the reason in the record
    bias = "on few images FID is mostly its small-sample bias; published values use 5,000+"
    reason = f"FID refused: 5 images, under the 100 needed ({bias}): evaluate on at least 100"
    assert all(r["fid"] is None for r in rows.values())
    assert record["fid"] == FID_PROTOCOL | {"weights": str(fid_file), "available": True, "images": 5, "reason": reason}
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["rows"] == record["rows"] and saved["fid"]["reason"] == reason
    assert (tmp_path / "results.md").read_text() == markdown_table(record["rows"]) + "\n\n" + "\n".join(record["notes"]) + "\n" and reason in record["notes"]
    from PIL import Image

    sheet = Image.open(tmp_path / "contact_sheet.png")
    assert sheet.size == (4 * 130 + 2, 3 * 130 + 2)  # grey | first | second | truth, three photos, 128 px tiles, 2 px padding


def test_missing_weights_are_reported_unavailable_with_the_path(tmp_path, tiny_checkpoint, photos):
    cfg = compose_config(tmp_path, f"ckpt_path={tiny_checkpoint}", f"data.root={photos}", "data.image_size=64", "logger=none", config_name="eval")
    record = run(cfg)
    assert record["fid"]["available"] is False and record["fid"]["weights"].endswith("weights-inception-2015-12-05-6726825d.pth")
    assert record["lpips"]["available"] is False and record["lpips"]["weights"].endswith("alexnet-owt-7be5be79.pth")
    for metric, url in (("fid", URL_INCEPTION_V3), ("lpips", AlexNet_Weights.IMAGENET1K_V1.url)):  # offline (conftest): what to put where
        reason = record[metric]["reason"]
        assert f"downloads are off (COLORGAN_OFFLINE/HF_HUB_OFFLINE): put {Path(url).name} (from {url}) at {record[metric]['weights']}" in reason
        assert reason in (tmp_path / "results.md").read_text()
    assert all(r["fid"] is None and r["lpips"] is None for r in record["rows"])
    assert "n/a" in markdown_table(record["rows"])


@pytest.mark.slow
def test_fid_is_the_published_protocol(fid_file, monkeypatch):
    """FID as torch-fidelity's Inception features of rounded uint8 images give it, with the Fréchet distance computed
    independently (the value; that it needs 100 images is the test above, so 6 images pass the gate here)."""
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    from colorgan.color import model_to_rgb, rgb_to_model
    from colorgan.evaluate import metric_weights, scoring

    monkeypatch.setattr(metric_weights, "MIN_FID_IMAGES", 6)
    monkeypatch.setattr(scoring, "MIN_FID_IMAGES", 6)
    true = torch.randint(0, 256, (6, 3, 35, 45), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    fid = scoring.evaluate({}, list(true), torch.device("cpu"), fid_weights=str(fid_file))["rows"][0]["fid"]

    L, ab = rgb_to_model(true.float() / 255)
    grey = model_to_rgb(L, torch.zeros_like(ab)).clamp(0, 1).numpy() * 255  # the grey row's images
    inception = FeatureExtractorInceptionV3("inception-v3-compat", ["2048"], feature_extractor_weights_path=str(fid_file))
    images = {"real": true.numpy(), "rounded": np.round(grey).astype(np.uint8), "truncated": grey.astype(np.uint8)}
    with torch.no_grad():
        features = {name: inception(torch.from_numpy(x))[0].double().numpy() for name, x in images.items()}
    # random weights give features of order 1e-8 and distances of order 1e-13: relative tolerances only
    assert fid == pytest.approx(frechet_distance(features["real"], features["rounded"]), rel=1e-4, abs=0)
    assert fid != pytest.approx(frechet_distance(features["real"], features["truncated"]), rel=1e-3, abs=0)  # what torchmetrics' normalize=True gives


def frechet_distance(x: np.ndarray, y: np.ndarray) -> float:
    """|mu_x - mu_y|^2 + tr(S_x) + tr(S_y) - 2 tr sqrt(S_x S_y), S = A^T A / (n - 1) for centred features A (n < dim):
    the nonzero eigenvalues of S_x S_y are the squared singular values of A B^T / (n - 1), so tr sqrt is its nuclear norm."""
    a, b = x - x.mean(0), y - y.mean(0)
    return float(((x.mean(0) - y.mean(0)) ** 2).sum() + ((a**2).sum() + (b**2).sum() - 2 * np.linalg.norm(a @ b.T, "nuc")) / (len(x) - 1))


@pytest.mark.slow
def test_command_line_prints_the_table(tmp_path, tiny_checkpoint, photos):
    result = subprocess.run(
        [str(BIN / "colorgan-eval"), f"ckpt_path={tiny_checkpoint}", f"data.root={photos}", "data.image_size=64", "logger=none", f"hydra.run.dir={tmp_path}"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert (
        "| grey (ab = 0) |" in result.stdout
        and "| pix2pix (" in result.stdout
        and "downloads are off (COLORGAN_OFFLINE/HF_HUB_OFFLINE): put weights-inception" in result.stdout
    )
    bad = subprocess.run(
        [str(BIN / "colorgan-eval"), "ckpt_path=/no/such.ckpt", f"data.root={photos}"], capture_output=True, text=True, cwd=tmp_path, timeout=300
    )
    assert bad.returncode == 2 and bad.stderr.strip().startswith("colorgan-eval: error: checkpoint /no/such.ckpt does not exist")


@pytest.mark.slow
def test_wandb_run_gets_the_table_and_the_contact_sheet(tmp_path, tiny_checkpoint, photos):
    cfg = compose_config(tmp_path, f"ckpt_path={tiny_checkpoint}", f"data.root={photos}", "data.image_size=64", "logger=wandb", config_name="eval")
    run(cfg)
    media = list((tmp_path / "wandb").glob("offline-run-*/files/media"))
    assert media, "no offline wandb run with media"
    tables = list(media[0].rglob("*.table.json"))
    assert tables and "grey (ab = 0)" in tables[0].read_text()
    assert list(media[0].rglob("*.png"))


def test_hint_rows_with_the_baselines_and_both_protocols(tmp_path, photos):
    """Rows per hint count for a model that takes hints, beside nearest/IDW/Levin given the same hints."""
    from hydra.utils import instantiate

    from colorgan.evaluate.scoring import evaluate

    model = instantiate(compose_config(tmp_path, "experiment=hints", "debug=tiny").model).eval()
    model.image_size = 32  # what it would have been trained at
    folder = instantiate(compose_config(tmp_path, f"data.root={photos}", "data.image_size=64", config_name="eval").data)
    from colorgan.evaluate.run import images_of

    images = list(images_of(folder, "test"))
    result = evaluate({"hinted": model}, images, torch.device("cpu"), hints=[0, 5], protocol="photo")
    rows = {r["model"]: r for r in result["rows"]}
    assert set(rows) == {"grey (ab = 0), 0 hints", "hinted, 0 hints", "hinted, 5 hints", "nearest, 5 hints", "idw, 5 hints", "levin, 5 hints"}
    assert rows["idw, 5 hints"]["de2000"] < rows["grey (ab = 0), 0 hints"]["de2000"]
    # an untrained model with the push-pull prior is its propagation: as good as the baselines, far better than grey
    assert rows["hinted, 5 hints"]["de2000"] < 0.8 * rows["grey (ab = 0), 0 hints"]["de2000"]
    fixed = evaluate({"hinted": model}, images, torch.device("cpu"), hints=[0, 5], protocol="fixed")
    assert {r["model"]: r["de2000"] for r in fixed["rows"]}["idw, 5 hints"] == pytest.approx(rows["idw, 5 hints"]["de2000"])
