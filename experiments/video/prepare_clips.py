"""Cut the source videos into the evaluation clips and their greyed copies (called by get_clips.sh).

    python prepare_clips.py RAW OUT --clip NAME:FILE:FIRST_FRAME:PACKAGE:PATH:LICENCE:ROLE ...

Each clip: FRAMES frames from FIRST_FRAME, resized (area) so that no side exceeds MAX_SIDE, even sides; written as
OUT/colour/NAME.mkv (FFV1, RGB, lossless) and OUT/grey/NAME.mkv (FFV1, 8-bit grey: each frame's CIE L as colorgan's
colour contract makes a grey photo), at the source's frame rate. OUT/sources.json records where every clip comes from.
"""

from __future__ import annotations

import argparse
import hashlib
from fractions import Fraction
from itertools import islice
from pathlib import Path

import av
import numpy as np
import torch
import torch.nn.functional as F

from colorgan.color import model_to_rgb, rgb_to_model, to_uint8
from colorgan.io import atomic_path, write_json_atomic

FRAMES = 60
MAX_SIDE = 640


def frames_of(path: Path, first: int) -> tuple[list[np.ndarray], Fraction]:
    """FRAMES RGB frames (H, W, 3) uint8 from `first`, resized to MAX_SIDE at most, and the stream's frame rate."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate
        frames = [f.to_ndarray(format="rgb24") for f in islice(container.decode(stream), first, first + FRAMES)]
    if len(frames) < FRAMES:
        raise SystemExit(f"{path}: {len(frames)} frames from {first}, {FRAMES} needed")
    h, w = frames[0].shape[:2]
    scale = min(1.0, MAX_SIDE / max(h, w))
    size = (2 * round(h * scale / 2), 2 * round(w * scale / 2))
    if size != (h, w):
        batch = torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2).float()
        frames = list(F.interpolate(batch, size=size, mode="area").round().clamp(0, 255).byte().permute(0, 2, 3, 1).numpy())
    return frames, Fraction(rate)


def grey_of(frame: np.ndarray) -> np.ndarray:
    """The frame's CIE L as an 8-bit grey frame (H, W)."""
    L, ab = rgb_to_model(torch.from_numpy(frame).permute(2, 0, 1)[None].float() / 255)
    return to_uint8(model_to_rgb(L, torch.zeros_like(ab)))[0, 0].numpy()


def write(path: Path, frames: list[np.ndarray], rate: Fraction, grey: bool) -> None:
    """Frames as a lossless FFV1 .mkv (RGB, or 8-bit grey), written through a temporary name."""
    with atomic_path(path) as tmp, av.open(str(tmp), "w", format="matroska") as container:
        stream = container.add_stream("ffv1", rate=rate)
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "gray" if grey else "bgr0"
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="gray" if grey else "rgb24")))
        container.mux(stream.encode())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("raw", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--clip", action="append", required=True, help="NAME:FILE:FIRST_FRAME:PACKAGE:PATH:LICENCE:ROLE")
    args = parser.parse_args()
    sources = {}
    for spec in args.clip:
        name, file, first, package, path, licence, role = spec.split(":")
        frames, rate = frames_of(args.raw / file, int(first))
        write(args.out / "colour" / f"{name}.mkv", frames, rate, grey=False)
        write(args.out / "grey" / f"{name}.mkv", [grey_of(f) for f in frames], rate, grey=True)
        sources[name] = {
            "package": package,
            "path": path,
            "sha256": hashlib.sha256((args.raw / file).read_bytes()).hexdigest(),
            "frames": [int(first), int(first) + FRAMES - 1],
            "size": list(frames[0].shape[:2]),
            "frame_rate": str(rate),
            "licence": licence,
            "role": role,
        }
        print(f"{name}: {len(frames)} frames {frames[0].shape[1]}x{frames[0].shape[0]} at {rate} fps ({role})")
    write_json_atomic(args.out / "sources.json", sources)


if __name__ == "__main__":
    main()
