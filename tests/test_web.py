"""The web app: API through a test client, and the page in a real headless Chromium."""

import io
import shutil
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import uvicorn
from fastapi.testclient import TestClient
from PIL import Image

from colorgan.inference import Colorizer
from colorgan.web.app import create_app

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def colorizer(tiny_checkpoint):
    return Colorizer.from_checkpoint(tiny_checkpoint, device="cpu")


def png(width: int, height: int) -> bytes:
    rng = np.random.default_rng(width)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (height, width), dtype=np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def test_api(colorizer):
    client = TestClient(create_app(colorizer, max_upload_bytes=100_000, max_pixels=40_000))
    assert client.get("/api/health").json() == {"status": "ok"}
    assert client.get("/api/model").json()["model"] == "Pix2Pix"
    assert "/api/colorize" in client.get("/openapi.json").json()["paths"]
    ok = client.post("/api/colorize", files={"file": ("old.png", png(57, 31), "image/png")}, data={"render_factor": "3"})
    assert ok.status_code == 200 and ok.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(ok.content)).size == (57, 31)
    not_image = client.post("/api/colorize", files={"file": ("notes.txt", b"hello", "text/plain")})
    assert not_image.status_code == 400 and "not an image" in not_image.json()["detail"]
    too_many_bytes = client.post("/api/colorize", files={"file": ("big.png", b"\x89PNG" + b"0" * 200_000, "image/png")})
    assert too_many_bytes.status_code == 413
    too_many_pixels = client.post("/api/colorize", files={"file": ("wide.png", png(300, 300), "image/png")})
    assert too_many_pixels.status_code == 413 and "megapixels" in too_many_pixels.json()["detail"]
    bad_factor = client.post("/api/colorize", files={"file": ("old.png", png(20, 20), "image/png")}, data={"render_factor": "0"})
    assert bad_factor.status_code == 400


def test_concurrent_requests(colorizer):
    client = TestClient(create_app(colorizer))
    sizes = [(40 + i, 30 + 2 * i) for i in range(8)]

    def post(size):
        response = client.post("/api/colorize", files={"file": ("p.png", png(*size), "image/png")})
        return response.status_code, Image.open(io.BytesIO(response.content)).size

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(post, sizes)) == [(200, s) for s in sizes]


@pytest.fixture
def server(colorizer):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(colorizer), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/"
    server.should_exit = True
    thread.join(10)


def test_page_in_headless_chromium(server, tmp_path):
    assert CHROMIUM, "Chromium is needed for the browser test: apt-get install chromium (.ci/run does)"
    from playwright.sync_api import sync_playwright

    photo = tmp_path / "grandparents.png"
    photo.write_bytes(png(90, 60))
    flags = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=flags)
        page = browser.new_page()
        page.goto(server)
        page.wait_for_function("document.getElementById('factor').value !== ''")
        page.set_input_files("#files", str(photo))
        page.wait_for_selector(".result[data-state=done] img.colour", timeout=60_000)
        size = page.eval_on_selector(".result img.colour", "img => [img.naturalWidth, img.naturalHeight]")
        page.screenshot(path=str(tmp_path / "page.png"))
        browser.close()
    assert size == [90, 60]
