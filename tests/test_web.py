"""The web app: API through a test client, and the page in a real headless Chromium."""

import contextlib
import io
import json
import os
import shutil
import socket
import struct
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor

import anyio
import numpy as np
import pytest
import uvicorn
from fastapi.testclient import TestClient
from PIL import Image

from clips import decoded_frames, shots_clip
from colorgan.inference import Colorizer
from colorgan.web.app import create_app
from colorgan.web.queue import ModelQueue

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def needs_chromium() -> None:
    """Skip where no Chromium is installed, with the reason; never in CI (CI=true), where it must be there."""
    if not CHROMIUM:
        if os.environ.get("CI"):
            pytest.fail("Chromium is needed for the browser test in CI: .ci/run installs it (apt-get install chromium)")
        pytest.skip("no Chromium here: apt-get install chromium to run the browser test")


def png_bomb(width: int = 20000, height: int = 20000) -> bytes:
    """A tiny PNG whose header declares width x height pixels (a decompression bomb's first bytes)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


@pytest.fixture(scope="module")
def colorizer(tiny_checkpoint):
    return Colorizer.from_checkpoint(tiny_checkpoint, device="cpu")


@pytest.fixture
def open_client():
    """Test clients that run the app's lifespan (its queue is made there, on the client's one event loop); closed after the test."""
    with contextlib.ExitStack() as clients:
        yield lambda app: clients.enter_context(TestClient(app))


def png(width: int, height: int) -> bytes:
    rng = np.random.default_rng(width)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (height, width), dtype=np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def test_api(colorizer, open_client):
    client = open_client(create_app(colorizer, max_upload_bytes=100_000, max_pixels=40_000))
    assert client.get("/api/health").json() == {"status": "ok", "waiting": 0}
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
    bomb = client.post("/api/colorize", files={"file": ("bomb.png", png_bomb(), "image/png")})
    assert bomb.status_code == 413 and "megapixel" in bomb.json()["detail"]
    hints = client.post(
        "/api/colorize", files={"file": ("old.png", png(20, 20), "image/png")}, data={"hints": json.dumps([{"x": 1, "y": 2, "color": "#ff0000"}])}
    )
    assert hints.status_code == 400 and "trained without hints" in hints.json()["detail"]


def test_security_headers_allow_only_the_pages_own_assets(colorizer, open_client):
    client = open_client(create_app(colorizer))
    page = client.get("/")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
    assert page.headers["x-content-type-options"] == "nosniff" and page.headers["x-frame-options"] == "DENY"
    assert "<script>" not in page.text and "<style>" not in page.text  # everything inline would be blocked
    assert client.get("/static/app.js").status_code == 200 and client.get("/static/app.css").status_code == 200
    assert client.get("/static/../app.py").status_code == 404
    assert client.get("/docs").status_code == 200 and "content-security-policy" not in client.get("/docs").headers


def test_a_full_queue_answers_503_with_retry_after(colorizer, open_client):
    app = create_app(colorizer, max_queue=0)
    response = open_client(app).post("/api/colorize", files={"file": ("p.png", png(30, 20), "image/png")})
    assert response.status_code == 503 and int(response.headers["retry-after"]) >= 1


def test_a_request_beyond_the_queue_is_turned_away_until_a_place_frees(colorizer, open_client, monkeypatch):
    running, finish = threading.Event(), threading.Event()
    colour = colorizer.colorize

    def slow_colorize(*args):
        running.set()
        finish.wait(60)
        return colour(*args)

    monkeypatch.setattr(colorizer, "colorize", slow_colorize)
    client = open_client(create_app(colorizer, max_queue=1))
    upload = {"file": ("p.png", png(30, 20), "image/png")}
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(client.post, "/api/colorize", files=upload)
        assert running.wait(60)
        waiting = client.get("/api/health").json()["waiting"]
        busy = client.post("/api/colorize", files=upload)
        finish.set()
        assert first.result().status_code == 200
    assert waiting == 1
    assert busy.status_code == 503 and busy.headers["retry-after"] == "1" and "try again" in busy.json()["detail"]
    assert client.get("/api/health").json()["waiting"] == 0
    assert client.post("/api/colorize", files=upload).status_code == 200  # the place is free again


class Client:
    """The receiving end of a request whose body is read: a disconnect when the client leaves, else nothing more."""

    def __init__(self, leaves: bool):
        self.leaves = leaves

    async def receive(self) -> dict:
        if not self.leaves:
            await anyio.sleep_forever()
        return {"type": "http.disconnect"}


def test_a_client_that_leaves_while_waiting_is_not_computed_and_frees_its_place():
    computed, finish = [], threading.Event()

    def first_photo() -> str:
        finish.wait(60)
        computed.append("first")
        return "first"

    async def scenario() -> tuple:
        queue = ModelQueue(2)
        first = []

        async def occupy() -> None:
            first.append(await queue.run(Client(leaves=False), first_photo))

        async with anyio.create_task_group() as group:
            group.start_soon(occupy)
            while queue.admitted < 1:
                await anyio.sleep(0.01)
            gone = await queue.run(Client(leaves=True), computed.append, "gone")
            admitted_after_leaving = queue.admitted
            finish.set()
        return gone, admitted_after_leaving, first, queue.admitted

    assert anyio.run(scenario) == (None, 1, ["first"], 0)
    assert computed == ["first"]


def test_hints_for_a_model_without_them_get_the_colorizers_one_line_everywhere(colorizer, tiny_checkpoint, open_client, tmp_path, capfd):
    from colorgan.cli.colorize import main
    from colorgan.errors import UserError
    from colorgan.hints import Hint

    with pytest.raises(UserError) as refusal:
        colorizer.check_hints([Hint(1, 2, "#ff0000")])
    line = str(refusal.value)
    assert "trained without hints" in line and "\n" not in line
    api = open_client(create_app(colorizer)).post(
        "/api/colorize", files={"file": ("old.png", png(20, 20), "image/png")}, data={"hints": json.dumps([{"x": 1, "y": 2, "color": "#ff0000"}])}
    )
    assert api.status_code == 400 and api.json() == {"detail": line}
    photo = tmp_path / "old.png"
    photo.write_bytes(png(20, 20))
    capfd.readouterr()
    with pytest.raises(SystemExit) as exit_:
        main([tiny_checkpoint, str(photo), "-o", str(tmp_path / "out"), "--hint", "1,2,#ff0000"])
    assert exit_.value.code == 2 and capfd.readouterr().err.splitlines() == [f"colorgan-colorize: error: {line}"]
    with pytest.raises(UserError) as video:
        colorizer.colorize_video(photo, tmp_path / "out.mp4", hints={0: [Hint(1, 2, "#ff0000")]}, progress=False)
    with pytest.raises(UserError) as library:
        colorizer.colorize(photo, hints=[Hint(1, 2, "#ff0000")])
    assert str(video.value) == str(library.value) == line
    assert not (tmp_path / "out").exists()


def test_hints_through_the_api(tiny_hint_checkpoint, open_client):
    client = open_client(create_app(Colorizer.from_checkpoint(tiny_hint_checkpoint, device="cpu")))
    assert client.get("/api/model").json()["hints"] is True
    grey = png(60, 40)
    plain = np.asarray(Image.open(io.BytesIO(client.post("/api/colorize", files={"file": ("g.png", grey, "image/png")}).content)), dtype=float)
    hinted = client.post("/api/colorize", files={"file": ("g.png", grey, "image/png")}, data={"hints": json.dumps([{"x": 10, "y": 10, "color": "#0000ff"}])})
    assert hinted.status_code == 200
    blue = np.asarray(Image.open(io.BytesIO(hinted.content)), dtype=float)
    assert (blue[10, 10, 2] - blue[10, 10, 0]) > (plain[10, 10, 2] - plain[10, 10, 0]) + 20  # bluer where the hint is
    bad = client.post("/api/colorize", files={"file": ("g.png", grey, "image/png")}, data={"hints": '[{"x": 1}]'})
    assert bad.status_code == 400 and "hints" in bad.json()["detail"]


def test_concurrent_requests(colorizer, open_client):
    client = open_client(create_app(colorizer))
    sizes = [(40 + i, 30 + 2 * i) for i in range(8)]

    def post(size):
        response = client.post("/api/colorize", files={"file": ("p.png", png(*size), "image/png")})
        return response.status_code, Image.open(io.BytesIO(response.content)).size

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(post, sizes)) == [(200, s) for s in sizes]


def serve(colorizer, max_upload_bytes: int = 2 * 2**20):
    """The real server on a free 127.0.0.1 port, in a thread; yields its URL and stops it afterwards."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = create_app(colorizer, max_upload_bytes=max_upload_bytes, max_queue=4)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/"
    server.should_exit = True
    thread.join(10)


@pytest.fixture
def server(tiny_hint_checkpoint):
    yield from serve(Colorizer.from_checkpoint(tiny_hint_checkpoint, device="cpu"))


def shown_ab(page, points: list[tuple[int, int]]) -> list[np.ndarray]:
    """The result's (a, b) at photo pixels, as the page shows it (a screenshot: no script runs under the page's policy)."""
    import torch

    from colorgan.color import rgb_to_model

    shot = np.asarray(Image.open(io.BytesIO(page.locator(".result img.colour").screenshot())).convert("RGB"), dtype=np.float32) / 255
    _, ab = rgb_to_model(torch.from_numpy(shot).permute(2, 0, 1)[None])
    return [ab[0, :, y, x].numpy() for x, y in points]


def click_photo(page, x: int, y: int, width: int, height: int) -> None:
    """Click the result at a photo pixel (the image may be scaled on the page)."""
    box = page.locator(".result .compare").bounding_box()
    page.mouse.click(box["x"] + (x + 0.5) / width * box["width"], box["y"] + (y + 0.5) / height * box["height"])


@contextlib.contextmanager
def browser_page(url: str):
    """A page of headless Chromium at `url`, with the list its console errors (script errors, CSP violations) go to."""
    needs_chromium()
    from playwright.sync_api import sync_playwright

    flags = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=flags)
        page = browser.new_page(viewport={"width": 1000, "height": 800})
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(url)
        try:
            yield page, errors
        finally:
            browser.close()


@pytest.mark.slow
def test_page_in_headless_chromium_places_a_hint_that_colours_its_point(server, tmp_path):
    """A click with a chosen colour turns the result at that point towards the colour; far away, it barely changes."""
    photo = tmp_path / "grandparents.png"
    width, height = 160, 100
    Image.fromarray(np.full((height, width), 128, dtype=np.uint8)).save(photo)
    with browser_page(server) as (page, errors):
        page.wait_for_selector("#hint-help:not([hidden])")
        page.set_input_files("#files", str(photo))
        page.wait_for_selector(".result[data-state=done] img.colour", timeout=60_000)
        page.fill(".result input[type=range]", "0")  # show the colour result over the whole photo
        version = 1

        def place(x: int, y: int, colour: str) -> None:  # a click, then a colour: two re-colourings
            nonlocal version
            click_photo(page, x, y, width, height)
            version += 1
            page.wait_for_selector(f".result[data-version='{version}'][data-state=done]", timeout=60_000)
            page.locator(".result .hints li input[type=color]").last.fill(colour)
            version += 1
            page.wait_for_selector(f".result[data-version='{version}'][data-state=done]", timeout=60_000)

        far, near = (15, 25), (140, 25)  # above the markers (which cover the hinted pixels) and the slider
        place(20, 50, "#d0b020")  # a yellow on the left first
        far_before, near_before = shown_ab(page, [far, near])
        place(140, 50, "#2040e0")  # then a blue on the right
        far_after, near_after = shown_ab(page, [far, near])
        assert page.locator(".result img.colour").screenshot() and page.locator(".result .marker").count() == 2
        page.screenshot(path=str(tmp_path / "page.png"), full_page=True)
    blue = np.array(rgb_to_model_hex("#2040e0"))
    assert np.linalg.norm(near_after - blue) < 0.5 * np.linalg.norm(near_before - blue)  # near the click: towards blue
    assert np.linalg.norm(far_after - far_before) < 0.05  # far away (beside the other hint): nearly unchanged
    assert not errors, errors  # no script errors, no CSP violations


@pytest.mark.slow
def test_page_in_headless_chromium_colours_a_film_with_a_hint_on_a_shot(server, tmp_path):
    """Choose a video, see its two shots, click the second's first frame for a hint, Start, wait: a Download link to the film."""
    film = shots_clip(tmp_path / "reel.mp4", shot_frames=(20, 20))
    with browser_page(server) as (page, errors):
        page.wait_for_selector("#film-hint-help:not([hidden])")
        page.set_input_files("#film-file", str(film))
        page.wait_for_selector("#shots figure:nth-child(2) img")  # a click on a frame waits for it to show
        page.locator("#shots figure").nth(1).locator(".frame").click(position={"x": 100, "y": 50})
        page.locator("#shots figure").nth(1).locator("input[type=color]").fill("#2040e0")
        assert page.locator("#shots .marker").count() == 1
        page.click("#film-start")
        page.wait_for_selector("#film-download:not([hidden])", timeout=120_000)
        assert page.get_attribute("#film-progress", "value") == page.get_attribute("#film-progress", "max") == "40"
        download = page.request.get(server + page.get_attribute("#film-download", "href"))
        (tmp_path / "coloured.mp4").write_bytes(download.body())
        page.screenshot(path=str(tmp_path / "film.png"), full_page=True)
    assert len(decoded_frames(tmp_path / "coloured.mp4")) == 40
    assert not errors, errors


def rgb_to_model_hex(colour: str) -> tuple[float, float]:
    from colorgan.hints import Hint

    return Hint(0, 0, colour).ab()
