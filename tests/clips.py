"""Video clips the tests make with PyAV: frames from arrays, H.264 at 30000/1001 frames/s, a sine-wave audio track."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from colorgan.data.synthetic import synthetic_scene

NTSC = Fraction(30000, 1001)
SAMPLE_RATE = 44100


def write_clip(
    path: Path,
    frames: Sequence[np.ndarray],
    rate: Fraction = NTSC,
    audio: bool = True,
    rotation: int = 0,
    codec: str = "libx264",
    crf: int = 10,
    audio_s: float | None = None,
) -> Path:
    """Write RGB uint8 frames (H, W, 3) as a video with a 440 Hz sine track (AAC; Opus for .webm) as long as the video
    (or `audio_s` seconds)."""
    h, w = frames[0].shape[:2]
    with av.open(str(path), "w") as container:
        video = container.add_stream(codec, rate=rate, options={"crf": str(crf)} if codec == "libx264" else {})
        video.width, video.height, video.pix_fmt = w, h, "yuv420p" if codec != "mjpeg" else "yuvj420p"
        if rotation:
            video.set_display_rotation(rotation)
        sound = (
            container.add_stream("libopus" if path.suffix == ".webm" else "aac", rate=48000 if path.suffix == ".webm" else SAMPLE_RATE, layout="mono")
            if audio
            else None
        )
        for rgb in frames:
            container.mux(video.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")))
        container.mux(video.encode(None))
        if sound is not None:
            rate_hz = sound.rate
            count = round((len(frames) / rate if audio_s is None else audio_s) * rate_hz)
            wave = (0.3 * np.sin(2 * np.pi * 440 * np.arange(count) / rate_hz)).astype(np.float32)[None]
            for start in range(0, count, 960):
                chunk = av.AudioFrame.from_ndarray(np.ascontiguousarray(wave[:, start : start + 960]), format="fltp", layout="mono")
                chunk.sample_rate, chunk.pts = rate_hz, start
                container.mux(sound.encode(chunk))
            container.mux(sound.encode(None))
    return path


def pan(image: np.ndarray, count: int, size: tuple[int, int], step: float = 1.0) -> list[np.ndarray]:
    """`count` crops of `size` (h, w) sliding right across `image` by `step` pixels a frame (whole pixels)."""
    h, w = size
    return [image[:h, int(i * step) : int(i * step) + w].copy() for i in range(count)]


def shots_clip(path: Path, shot_frames: Sequence[int] = (20, 20, 20), size: tuple[int, int] = (48, 64), seed: int = 0) -> Path:
    """A clip of several shots, each a slow pan over its own synthetic scene: cuts at the sums of `shot_frames`."""
    rng = np.random.default_rng(seed)
    frames = []
    for count in shot_frames:
        scene = synthetic_scene(rng, max(size) + count + 8)
        frames += pan(scene, count, size)
    return write_clip(path, frames)


def damage_packets(path: Path, indices: Sequence[int]) -> None:
    """Zero all but the first 20 bytes of the video packets at `indices` (in storage order), in place."""
    with av.open(str(path)) as container:
        packets = [(p.pos, p.size) for p in container.demux(video=0) if p.size]
    data = bytearray(path.read_bytes())
    for pos, size in (packets[i] for i in indices):
        data[pos + 20 : pos + size] = bytes(size - 20)
    path.write_bytes(bytes(data))


def decoded_frames(path: Path) -> list[np.ndarray]:
    """Every frame of a video as RGB arrays."""
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def audio_samples(path: Path) -> int:
    """How many audio samples the first audio stream decodes to."""
    with av.open(str(path)) as container:
        return sum(frame.samples for frame in container.decode(audio=0))
