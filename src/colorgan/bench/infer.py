"""Latency of colourising one photo through the Colorizer, as the web page asks for it (`colorgan-bench infer`)."""

from __future__ import annotations

import io
import time
from collections.abc import Sequence

import numpy as np
from hydra.utils import instantiate
from PIL import Image
from skimage.data import astronaut

from colorgan.bench import train_config
from colorgan.bench.machine import synchronize
from colorgan.callbacks import peak_memory_mb
from colorgan.errors import UserError
from colorgan.hints import Hint
from colorgan.inference import Colorizer, pick_device


def untrained_colorizer(overrides: Sequence[str], device: str) -> Colorizer:
    """A Colorizer of the model the colorgan-train `overrides` configure, with its initial weights."""
    cfg = train_config(overrides)
    model = instantiate(cfg.model)
    model.image_size = cfg.data.image_size
    return Colorizer(model.eval().to(pick_device(device)))


def grey_photo(width: int, height: int) -> bytes:
    """A real photo (scikit-image's astronaut), grey, at width x height, as PNG bytes: what the web page uploads."""
    buffer = io.BytesIO()
    Image.fromarray(astronaut()).convert("L").resize((width, height), Image.Resampling.BICUBIC).save(buffer, format="PNG")
    return buffer.getvalue()


def moving_hints(rng: np.random.Generator, count: int, width: int, height: int, round_: int) -> list[Hint] | None:
    """`count` hints at random places, colours alternating with the round, as a user moves hints on the page; None for 0."""
    if not count:
        return None
    points = [(rng.uniform(0, width), rng.uniform(0, height)) for _ in range(count)]
    return [Hint(x, y, "#3060c0" if (i + round_) % 2 else "#c06030") for i, (x, y) in enumerate(points)]


def latencies(colorizer: Colorizer, photo: bytes, render_factor: int | None, hint_rounds: list[list[Hint] | None]) -> list[float]:
    """Seconds of colourising `photo` with each round of hints after the first, a warm-up."""
    colorizer.colorize(photo, render_factor, hint_rounds[0])
    times = []
    for hints in hint_rounds[1:]:
        synchronize(colorizer.device)
        start = time.perf_counter()
        colorizer.colorize(photo, render_factor, hints)
        synchronize(colorizer.device)
        times.append(time.perf_counter() - start)
    return times


def bench_infer(
    ckpt: str | None = None,
    overrides: Sequence[str] = (),
    width: int = 1024,
    height: int | None = None,
    render_factor: int | None = None,
    repeats: int = 5,
    device: str = "auto",
    hints: int = 0,
) -> dict:
    """Latency of colourising one photo (decode excluded), median of `repeats`, with the model of `ckpt` (a checkpoint,
    export folder or hf://owner/name) or else the untrained one of `overrides`; with `hints`, one moved each time."""
    colorizer = Colorizer.from_checkpoint(ckpt, device=device) if ckpt else untrained_colorizer(overrides, device)
    if hints and not colorizer.contract.hints:
        raise UserError("--hints needs a model that takes hints: --ckpt of one trained with model.hints=true, or model.hints=true")
    height = height or width
    rng = np.random.default_rng(0)
    times = latencies(colorizer, grey_photo(width, height), render_factor, [moving_hints(rng, hints, width, height, r) for r in range(repeats + 1)])
    factor = render_factor or colorizer.default_render_factor
    return {
        "model": type(colorizer.model).__name__,
        "photo": f"astronaut, grey, {width}x{height} PNG bytes",
        "render_factor": factor,
        "render_long_side": 16 * factor,
        "hints": hints,
        "latency_s_median": round(sorted(times)[len(times) // 2], 3),
        "latency_s_all": [round(t, 3) for t in times],
        "peak_memory_mb": round(peak_memory_mb(colorizer.device), 1),
    }
