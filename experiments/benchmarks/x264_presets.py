"""x264 presets on coloured film: encoding time, file size and PSNR at CRF 18 (the default quality).

    python experiments/benchmarks/x264_presets.py CKPT

Colours `colorgan-bench video`'s clip (200 frames, 640x480, grainy pan) losslessly (CRF 0), then encodes those frames
as colorgan does (yuv420p, no B-frames) with each preset; PSNR is against the lossless frames (4:2:0 chroma included).
"""

from __future__ import annotations

import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from colorgan.bench.video import grainy_pan, write_frames
from colorgan.inference import Colorizer


def decoded(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def encode(frames: list[np.ndarray], path: Path, preset: str) -> float:
    """Seconds to encode `frames` at CRF 18 with `preset`."""
    start = time.perf_counter()
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(30000, 1001), options={"crf": "18", "bf": "0", "preset": preset})
        stream.width, stream.height, stream.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuv420p"
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode(None))
    return time.perf_counter() - start


def main() -> None:
    colorizer = Colorizer.from_checkpoint(sys.argv[1], device="cpu")
    with tempfile.TemporaryDirectory() as tmp:
        src = write_frames(Path(tmp) / "pan.mp4", grainy_pan(200, (480, 640))[0])
        colorizer.colorize_video(src, Path(tmp) / "lossless.mkv", crf=0, progress=False)
        reference = decoded(Path(tmp) / "lossless.mkv")
        print("| preset | encoding (ms/frame) | size (MB) | PSNR (dB) |\n| --- | --- | --- | --- |")
        for preset in ("medium", "fast", "faster", "veryfast", "superfast"):
            out = Path(tmp) / f"{preset}.mp4"
            seconds = encode(reference, out, preset)
            mse = np.mean([np.mean((a.astype(np.float64) - b) ** 2) for a, b in zip(decoded(out), reference)])
            print(f"| {preset} | {seconds / len(reference) * 1000:.1f} | {out.stat().st_size / 1e6:.2f} | {10 * np.log10(255**2 / mse):.2f} |")


if __name__ == "__main__":
    main()
