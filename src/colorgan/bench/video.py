"""`colorgan-bench video`: frames/s colourising a clip, per frame and with flow, and peak memory at 1x and 10x its length.

The clip is a slow pan across a real photo (scikit-image's astronaut, scaled up) with film grain (sigma 3
levels of L, each frame its own), written as H.264 with PyAV. Each run is a fresh process, so its peak memory (maximum RSS) is its own.
"""

from __future__ import annotations

import resource
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from fractions import Fraction
from multiprocessing import get_context
from pathlib import Path

import av
import numpy as np
import torch
from PIL import Image
from skimage.data import astronaut

from colorgan.color import L_SCALE, rgb_to_model
from colorgan.inference import Colorizer


def grey_of_lightness(L: np.ndarray) -> np.ndarray:
    """CIE L (0-100, any shape) -> the 8-bit sRGB grey level of that lightness (a = b = 0)."""
    fy = (L + 16) / 116
    y = np.where(fy > 6 / 29, fy**3, 3 * (6 / 29) ** 2 * (fy - 4 / 29)).clip(0, 1)
    srgb = np.where(y <= 0.0031308, 12.92 * y, 1.055 * y ** (1 / 2.4) - 0.055)
    return np.round(srgb * 255).astype(np.uint8)


def grainy_pan(count: int, size: tuple[int, int], sigma: float = 3.0, seed: int = 0) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """A slow pan (the scene moves 1 px left a frame) across a real photo (the astronaut, scaled to fit): grey
    frames (h, w, 3) uint8, each with its own film grain (sigma in levels of L), and the colour truth."""
    h, w = size
    side = max(w + count, h)
    photo = np.asarray(Image.fromarray(astronaut()).resize((side, side), Image.Resampling.BICUBIC))
    L, _ = rgb_to_model(torch.from_numpy(photo[:h].copy()).permute(2, 0, 1)[None].float() / 255)
    lightness = ((L[0, 0] + 1) * L_SCALE).numpy()
    rng = np.random.default_rng(seed)
    grey, truth = [], []
    for t in range(count):
        grain = lightness[:, t : t + w] + rng.normal(0, sigma, (h, w))
        grey.append(np.repeat(grey_of_lightness(grain)[..., None], 3, axis=2))
        truth.append(np.ascontiguousarray(photo[:h, t : t + w]))
    return grey, truth


def write_frames(path: Path, frames: list[np.ndarray], crf: int = 12) -> Path:
    """RGB frames as an H.264 clip at 30000/1001 frames/s (no sound)."""
    h, w = frames[0].shape[:2]
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(30000, 1001), options={"crf": str(crf)})
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode(None))
    return path


def _run(checkpoint: str, src: str, temporal: str, render_factor: int | None) -> dict:
    """One colouring run in this (fresh) process: seconds, frames and the process's peak memory."""
    colorizer = Colorizer.from_checkpoint(checkpoint, device="cpu")
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        summary = colorizer.colorize_video(src, Path(out) / "out.mp4", temporal=temporal, render_factor=render_factor, progress=False)
        seconds = time.perf_counter() - start
    return {"frames": summary["frames"], "seconds": round(seconds, 2), "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def bench_video(checkpoint: str, frames: int = 30, width: int = 640, height: int = 480, render_factor: int | None = None) -> dict:
    """Frames/s with --temporal none and flow on a `frames`-long clip, and flow's peak memory at 1x and 10x that length."""
    figures: dict = {"width": width, "height": height, "clip_frames": frames, "render_factor": render_factor}
    with tempfile.TemporaryDirectory() as tmp:
        clips = {n: str(write_frames(Path(tmp) / f"clip{n}.mp4", grainy_pan(n, (height, width))[0])) for n in (frames, 10 * frames)}
        for temporal, n in (("none", frames), ("flow", frames), ("flow", 10 * frames)):
            with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
                run = pool.submit(_run, checkpoint, clips[n], temporal, render_factor).result()
            run["frames_per_s"] = round(run["frames"] / run["seconds"], 2)
            figures[f"{temporal}_{'1x' if n == frames else '10x'}"] = run
    figures["peak_memory_10x_over_1x"] = round(figures["flow_10x"]["peak_rss_mb"] / figures["flow_1x"]["peak_rss_mb"], 3)
    return figures
