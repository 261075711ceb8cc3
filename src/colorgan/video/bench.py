"""`colorgan-bench video`: frames/s colourising a clip, per frame and with flow, and peak memory at 1x and 10x its length.

The clip is a slow pan across a real photo (scikit-image's astronaut, scaled up) with film grain, written as
H.264 with PyAV. Each run is a fresh process, so its peak memory (maximum RSS) is its own.
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
from PIL import Image
from skimage.data import astronaut


def grainy_pan_clip(path: Path, frames: int, width: int, height: int, sigma: float = 3.0, seed: int = 0) -> Path:
    """A grey clip panning 1 px a frame across the astronaut photo, each frame with its own grain (sigma in grey levels)."""
    side = max(width + frames, height)
    grey = np.asarray(Image.fromarray(astronaut()).convert("L").resize((side, side), Image.Resampling.BICUBIC), dtype=np.float32)
    rng = np.random.default_rng(seed)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(30000, 1001), options={"crf": "12"})
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for t in range(frames):
            frame = np.clip(grey[:height, t : t + width] + rng.normal(0, sigma, (height, width)), 0, 255).astype(np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(np.repeat(frame[..., None], 3, axis=2), format="rgb24")))
        container.mux(stream.encode(None))
    return path


def _run(checkpoint: str, src: str, temporal: str, render_factor: int | None) -> dict:
    """One colouring run in this (fresh) process: seconds, frames and the process's peak memory."""
    from colorgan.inference import Colorizer

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
        clips = {n: str(grainy_pan_clip(Path(tmp) / f"clip{n}.mp4", n, width, height)) for n in (frames, 10 * frames)}
        for temporal, n in (("none", frames), ("flow", frames), ("flow", 10 * frames)):
            with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
                run = pool.submit(_run, checkpoint, clips[n], temporal, render_factor).result()
            run["frames_per_s"] = round(run["frames"] / run["seconds"], 2)
            figures[f"{temporal}_{'1x' if n == frames else '10x'}"] = run
    figures["peak_memory_10x_over_1x"] = round(figures["flow_10x"]["peak_rss_mb"] / figures["flow_1x"]["peak_rss_mb"], 3)
    return figures
