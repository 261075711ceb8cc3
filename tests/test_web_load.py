"""The server under a burst of mixed requests: every answer says what it is, and the server stays healthy and bounded."""

from __future__ import annotations

import io
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pytest
from PIL import Image

from colorgan.inference import Colorizer
from test_web import png, png_bomb, serve


def rss_mb() -> float:
    """This process's resident memory now (the server runs in a thread of it)."""
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) / 1024


@pytest.mark.slow
def test_fifty_mixed_requests_from_eight_clients(tiny_checkpoint):
    colorizer = Colorizer.from_checkpoint(tiny_checkpoint, device="cpu")
    photo = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (300, 400), dtype=np.uint8)).save(photo, format="JPEG")
    kinds = {
        "good": (("photo.jpg", photo.getvalue(), "image/jpeg"), {200, 503}),  # 503 when the queue is full: that is the bound working
        "bad": (("notes.txt", b"not a photo at all", "text/plain"), {400}),
        "oversize": (("huge.png", b"\x89PNG" + b"0" * (3 * 2**20), "image/png"), {413}),
        "bomb": (("bomb.png", png_bomb(), "image/png"), {413}),
        "tiny": (("t.png", png(9, 7), "image/png"), {200, 503}),
    }
    plan = [list(kinds)[i % len(kinds)] for i in range(50)]
    server = serve(colorizer)
    url = next(server)
    try:
        before = rss_mb()
        start = time.perf_counter()

        def send(kind: str) -> tuple[str, int]:
            file, _ = kinds[kind]
            with httpx.Client(timeout=60) as client:
                return kind, client.post(url + "api/colorize", files={"file": file}).status_code

        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(send, plan))
        elapsed = time.perf_counter() - start
        growth = rss_mb() - before
        health = httpx.get(url + "api/health", timeout=10).json()
    finally:
        next(server, None)
    print(f"50 requests in {elapsed:.1f} s, RSS growth {growth:.0f} MB, statuses", sorted({s: sum(x == s for _, x in answers) for _, s in answers}.items()))
    wrong = [(kind, status) for kind, status in answers if status not in kinds[kind][1]]
    assert not wrong, wrong
    assert sum(status == 200 for _, status in answers) >= 10  # the good ones are served, not all turned away
    assert health == {"status": "ok", "waiting": 0}
    assert elapsed < 120 and growth < 500, (elapsed, growth)  # bounded in time and memory (MB)
