"""Reading and writing video with PyAV (its wheels ship FFmpeg): frames decoded upright, with their own
timestamps; coloured frames encoded with those timestamps; audio copied packet for packet.

Frames are kept as the container stores them in time: each keeps the input's presentation timestamp in the
input's own time base, so the frame rate (an exact fraction such as 30000/1001) and any variable timing
survive. A rotated video (a phone's display matrix) is decoded upright for the model and encoded in its
stored orientation with the same rotation, as the input is.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from colorgan.errors import UserError

VIDEO_SUFFIXES = {".mp4", ".m4v", ".mkv", ".mov", ".avi", ".webm"}
REWRITTEN_SUFFIXES = {".avi": ".mkv"}  # AVI has no timestamps: FFmpeg reads H.264 in it a frame late, so its copy is Matroska
X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")
SEGMENT_FORMAT = "nut"  # FFmpeg's own container keeps any time base exactly (Matroska would round to 1 ms)


@dataclass(frozen=True)
class VideoInfo:
    """What a video's first video stream is: stored size, exact average rate, time base, rotation (degrees
    counter-clockwise that display applies, from its first frame that decodes), how many audio streams it has, and
    the length its header declares for the video (seconds; the container's when the stream declares none; None
    when neither does)."""

    width: int
    height: int
    rate: Fraction
    time_base: Fraction
    rotation: int
    audio_streams: int
    declared_s: float | None = None


def output_name(name: str | Path) -> Path:
    """The name a video's coloured copy gets: the same, except an AVI's, which becomes Matroska (holds all AVI holds)."""
    path = Path(name)
    return path.with_suffix(REWRITTEN_SUFFIXES.get(path.suffix.lower(), path.suffix))


def open_input(path: str | Path) -> av.container.InputContainer:
    """Open a video file; one-line error when it is not one (or is cut off before its index)."""
    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or exc.__class__.__name__
        raise UserError(
            f"cannot read {path} as a video ({reason}): it is not a video, or it is cut off before its index; give a complete mp4, mkv, mov, avi or webm file"
        ) from exc
    if not container.streams.video:
        container.close()
        raise UserError(f"{path} has no video stream: give an mp4, mkv, mov, avi or webm file")
    return container


def probe(path: str | Path) -> VideoInfo:
    """The facts about a video that its coloured copy must keep."""
    with open_input(path) as container:
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        if not rate or not stream.width:
            raise UserError(f"{path}: its video stream has no frame rate or size (damaged header?)")
        rotation = next((frame.rotation for _, frame in decode_stream(container) if frame is not None), 0)
        declared = stream.duration * stream.time_base if stream.duration else container.duration and container.duration / av.time_base
        return VideoInfo(
            stream.width,
            stream.height,
            Fraction(rate),
            Fraction(stream.time_base),
            int(round(rotation / 90)) * 90 % 360,
            len(container.streams.audio),
            float(declared) if declared else None,
        )


def decode_stream(container: av.container.InputContainer) -> Iterator[tuple[int, av.VideoFrame | None]]:
    """(pts, frame) for every video packet's frame, in the order the decoder gives them (display order; a packet that
    does not decode comes where it is stored); frame None for such a packet or a frame the decoder marks corrupt
    (the caller sorts by pts, reports and fills it)."""
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"
    packets = container.demux(stream)
    while True:
        try:
            packet = next(packets)
        except StopIteration:
            break
        except av.FFmpegError:  # a damaged container past this point: what was read stands
            break
        try:
            frames = packet.decode()
        except av.FFmpegError:
            if packet.pts is not None:
                yield packet.pts, None
            continue
        for frame in frames:
            if frame.pts is not None:
                yield frame.pts, (None if frame.is_corrupt else frame)


def upright_rgb(frame: av.VideoFrame, rotation: int) -> np.ndarray:
    """A decoded frame as an upright (H, W, 3) uint8 RGB array."""
    rgb = frame.to_ndarray(format="rgb24")
    return np.ascontiguousarray(np.rot90(rgb, rotation // 90)) if rotation else rgb


def read_frames(path: str | Path, first_pts: int, last_pts: int, rotation: int) -> Iterator[tuple[int, np.ndarray | None]]:
    """(pts, upright RGB or None if damaged) of the frames with first_pts <= pts <= last_pts, seeking to the key frame before."""
    with open_input(path) as container:
        container.seek(first_pts, stream=container.streams.video[0], backward=True, any_frame=False)
        for pts, frame in decode_stream(container):
            if pts < first_pts:
                continue
            if pts > last_pts:
                break
            yield pts, None if frame is None else upright_rgb(frame, rotation)


@dataclass(frozen=True)
class Encoding:
    """How coloured frames are encoded: codec, pixel format and codec options."""

    codec: str
    pix_fmt: str
    options: dict[str, str]


def encoding_for(suffix: str, crf: int, preset: str, width: int, height: int) -> Encoding:
    """H.264 (VP9 for WebM, which holds nothing else) at quality `crf`, without B-frames. CRF 0 is lossless: the
    frames are stored as RGB (H.264's High 4:4:4 profile, VP9's profile 1), exactly as coloured, since 4:2:0 chroma
    would blur the colours however fine the quantiser (players not built on FFmpeg or libvpx may not play it)."""
    if suffix.lower() == ".webm":
        options = {"crf": str(crf), "b": "0", "bf": "0", "row-mt": "1"} | ({"lossless": "1"} if crf == 0 else {})
        return Encoding("libvpx-vp9", "gbrp" if crf == 0 else "yuv420p", options)
    options = {"crf": str(crf), "bf": "0", "preset": preset}
    if crf == 0:
        return Encoding("libx264rgb", "rgb24", options)
    return Encoding("libx264", "yuv420p" if width % 2 == 0 and height % 2 == 0 else "yuv444p", options)  # 4:2:0 needs even sides


class SegmentWriter:
    """Encode upright RGB frames, each at its input timestamp, into a video-only file (FFmpeg's NUT container).

    No B-frames, so every packet's decode time equals its presentation time and segments concatenate by
    stream copy; each segment starts with a key frame.
    """

    def __init__(self, path: Path, info: VideoInfo, encoding: Encoding):
        self.info = info
        self.container = av.open(str(path), "w", format=SEGMENT_FORMAT)
        self.stream = self.container.add_stream(encoding.codec, rate=info.rate, options=encoding.options)
        self.stream.width, self.stream.height, self.stream.pix_fmt = info.width, info.height, encoding.pix_fmt
        self.stream.time_base = info.time_base
        self.stream.codec_context.time_base = info.time_base

    def __enter__(self) -> SegmentWriter:
        return self

    def __exit__(self, error_type, *_) -> None:
        if error_type is None:
            self.close()
        else:  # the segment is abandoned: its file is not finished
            self.container.close()

    def write(self, rgb: np.ndarray, pts: int) -> None:
        """Encode one upright RGB frame at `pts` (the input's time base)."""
        stored = np.ascontiguousarray(np.rot90(rgb, -self.info.rotation // 90)) if self.info.rotation else rgb
        frame = av.VideoFrame.from_ndarray(stored, format="rgb24")
        frame.pts, frame.time_base = pts, self.info.time_base
        self.container.mux(self.stream.encode(frame))

    def close(self) -> None:
        """Flush the encoder and finish the file."""
        self.container.mux(self.stream.encode(None))
        self.container.close()


def _timed(packets: Iterator[av.Packet]) -> Iterator[tuple[Fraction, av.Packet]]:
    for packet in packets:
        time = packet.dts if packet.dts is not None else packet.pts
        if time is not None and packet.size:  # the demuxer's empty flush packets carry nothing
            yield time * packet.time_base, packet


def _segment_packets(segments: Sequence[Path]) -> Iterator[av.Packet]:
    for segment in segments:
        with av.open(str(segment)) as container:
            yield from container.demux(container.streams.video[0])


@contextmanager
def _output(out: Path, source: av.container.InputContainer, info: VideoInfo, add_video: Callable[[av.container.OutputContainer], av.VideoStream]):
    """`out` (container from its name) opened with a video stream (`add_video`) and a copy of each of `source`'s audio
    streams, its header written: (container, video stream, audio streams by the source's index). One line when the
    container cannot hold them."""
    try:
        container = av.open(str(out), "w")
    except ValueError as exc:
        raise UserError(f"cannot write a video named {out.name} ({exc}): end the output's name in .mp4, .mkv, .mov, .avi or .webm") from exc
    with container:
        video = add_video(container)
        video.time_base, video.codec_context.framerate = info.time_base, info.rate
        if info.rotation:
            video.set_display_rotation(info.rotation)
        audio = {}
        for stream in source.streams.audio:
            try:
                audio[stream.index] = container.add_stream_from_template(stream)
            except (ValueError, av.FFmpegError) as exc:
                raise UserError(f"the audio ({stream.codec_context.name}) cannot go into a {out.suffix} file ({exc}): choose .mkv or .mov") from exc
        try:
            container.start_encoding()
        except (ValueError, av.FFmpegError) as exc:
            raise UserError(f"a {out.suffix} file cannot hold this video's streams ({exc}): choose .mkv") from exc
        yield container, video, audio


def check_output(source: str | Path, out: Path, info: VideoInfo, encoding: Encoding) -> None:
    """Fail now, in one line, if a file named like `out` cannot hold the coloured video and `source`'s audio: before
    any frame is coloured rather than at the end. Writes `out` (an empty video) and removes it."""

    def add_video(container: av.container.OutputContainer) -> av.VideoStream:
        stream = container.add_stream(encoding.codec, rate=info.rate, options=encoding.options)
        stream.width, stream.height, stream.pix_fmt = info.width, info.height, encoding.pix_fmt
        return stream

    try:
        with open_input(source) as src, _output(out, src, info, add_video):
            pass
    finally:
        out.unlink(missing_ok=True)


def assemble(source: str | Path, segments: Sequence[Path], out: Path, info: VideoInfo) -> None:
    """Write `out` (container from its name): the segments' video by stream copy, in order, and every audio
    stream of `source` copied packet for packet, interleaved by time."""
    with av.open(str(segments[0])) as first, open_input(source) as src:
        template = first.streams.video[0]
        with _output(out, src, info, lambda container: container.add_stream_from_template(template)) as (container, video, audio):
            audio_packets = src.demux(list(src.streams.audio)) if audio else iter(())
            for _, packet in heapq.merge(_timed(_segment_packets(segments)), _timed(audio_packets), key=lambda item: item[0]):
                packet.stream = video if packet.stream.type == "video" else audio[packet.stream.index]
                container.mux(packet)
