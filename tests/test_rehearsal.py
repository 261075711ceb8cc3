"""The researcher's first real run, end to end on a stand-in for Places365, as a user types it (experiments/rehearsal/run.sh
is the same sequence at full scale): recipe -> shards -> train with the real-run defaults and a GPU run's numerics
(bf16-mixed, channels_last) on the CPU -> eval (both protocols) -> export -> colorize -> serve one request."""

import csv
import io
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from colorgan.data.bundled import SAMPLE_PHOTOS, photo_path

BIN = Path(sys.executable).parent
RECIPE = Path(__file__).resolve().parents[1] / "data_prep" / "places365.py"


def places365_stand_in(src: Path, count: int = 400) -> None:
    """Places365's test_256 layout (Places365_test_NNNNNNNN.jpg, 256x256) cut from the real photos the install ships."""
    src.mkdir(parents=True)
    rng = np.random.default_rng(0)
    photos = [Image.open(photo_path(package, name)).convert("RGB") for package, name in SAMPLE_PHOTOS]
    for i in range(count):
        photo = photos[i % len(photos)]
        side = int(rng.integers(256, min(photo.size) + 1))
        x, y = (int(rng.integers(0, n - side + 1)) for n in photo.size)
        tile = photo.crop((x, y, x + side, y + side)).resize((256, 256), Image.Resampling.LANCZOS)
        tile.save(src / f"Places365_test_{i + 1:08d}.jpg", quality=90)


def run(program: str, *args: str) -> None:
    """A console script of the install, or a Python script, as a user runs it."""
    command = [sys.executable, program] if program.endswith(".py") else [str(BIN / program)]
    result = subprocess.run([*command, *args], capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, f"{program}: {result.stderr[-3000:]}"


def last_validation(run_dir: Path) -> dict[str, float]:
    """The last logged validation metrics of a run with logger=csv."""
    with next((run_dir / "csv").rglob("metrics.csv")).open() as f:
        rows = [row for row in csv.DictReader(f) if row.get("val/de2000")]
    return {k: float(v) for k, v in rows[-1].items() if v}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def colourise_through_the_server(url: str, photo: Path, timeout: float = 120) -> httpx.Response:
    """POST the photo once the server answers its health check."""
    deadline = time.time() + timeout
    while True:
        try:
            httpx.get(f"{url}/api/health", timeout=5).raise_for_status()
            break
        except httpx.HTTPError:
            if time.time() > deadline:
                raise
            time.sleep(0.5)
    return httpx.post(f"{url}/api/colorize", files={"file": (photo.name, photo.read_bytes(), "image/jpeg")}, timeout=60)


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_places365_recipe_to_a_served_model(tmp_path):
    places, shards, run_dir = tmp_path / "test_256", tmp_path / "shards", tmp_path / "run"
    places365_stand_in(places)
    run(str(RECIPE), "--src", str(places), "--out", str(shards), "--workers", "1")
    manifest = json.loads((shards / "manifest.json").read_text())
    assert manifest["kept"] > 350 and all(manifest["splits"][split] > 0 for split in ("train", "val", "test")), manifest["splits"]

    # the real-run defaults (validation subset, cadence) with a GPU run's numerics; a few hundred batches of a small model
    run(
        "colorgan-train", "data=shards", f"data.root={shards}", "trainer=cpu_bf16", "channels_last=true", "data.image_size=32", "data.batch_size=8",
        "data.num_workers=1", "data.batches_per_epoch=100", "trainer.max_epochs=2", "model.generator.ngf=16", "model.discriminator.ndf=16", "logger=csv",
        f"hydra.run.dir={run_dir}",
    )  # fmt: skip
    checkpoint = run_dir / "checkpoints" / "last.ckpt"
    metrics = last_validation(run_dir)
    assert metrics["val/de2000"] < metrics["val_grey/de2000"], metrics  # it learned something on photos it did not train on

    for protocol in ("photo", "fixed"):
        out = tmp_path / f"eval_{protocol}"
        run(
            "colorgan-eval",
            f"ckpt_path={checkpoint}",
            "data=shards",
            f"data.root={shards}",
            "split=test",
            f"protocol={protocol}",
            "logger=none",
            f"hydra.run.dir={out}",
        )
        rows = json.loads((out / "results.json").read_text())["rows"]
        assert len(rows) == 2 and all(np.isfinite(row["de2000"]) for row in rows)

    export = tmp_path / "export"
    run("colorgan-export", str(checkpoint), "-o", str(export))
    assert (export / "generator.safetensors").is_file() and (export / "generator.onnx").is_file()

    photo = tmp_path / "old.jpg"
    Image.open(photo_path("skimage", "coffee.png")).convert("L").resize((300, 200)).save(photo)
    run("colorgan-colorize", str(export), str(photo), "-o", str(tmp_path / "coloured"))
    assert Image.open(tmp_path / "coloured" / "old.jpg").size == (300, 200)

    port = free_port()
    server = subprocess.Popen([str(BIN / "colorgan-serve"), str(export), "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        answer = colourise_through_the_server(f"http://127.0.0.1:{port}", photo)
        assert answer.status_code == 200 and Image.open(io.BytesIO(answer.content)).size == (300, 200)
    finally:
        server.terminate()
        server.wait(timeout=30)
