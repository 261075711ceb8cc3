"""Colourise a video of any length as a resumable job: timeline and shots first, then segments, then one remux.

The job lives in a hidden folder beside the output, `.NAME.colorgan-job/`, which no input or output can be:
- `job.json`: what the job is (input file, model weights, options); a different job there is started over;
- `timeline.json`: every frame's timestamp, the damaged frames and the shots (the first, decoding pass);
- `seg-NNNNN.nut`: coloured video of at most `segment_frames` frames of one shot, each written under a
  temporary name and renamed when complete; a segment that continues a shot starts from the state its
  predecessor left in `seg-NNNNN.carry.npz` (written before the segment is renamed; a segment is done only when
  both are there), so a resumed job colours exactly as an uninterrupted one (batches start at segment starts,
  H.264 encoding is deterministic);
- the output, assembled there by stream copy with the input's audio, then renamed onto its final name.

Frames stream decoder -> model (in batches) -> encoder; memory does not grow with the video's length.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from colorgan.color import AB_SCALE, model_to_rgb_in_gamut, to_uint8, uint8_to_lightness, uint8_to_model
from colorgan.errors import UserError
from colorgan.hints import Hint
from colorgan.io import atomic_path, write_json_atomic
from colorgan.video import temporal, track
from colorgan.video.io import X264_PRESETS, Encoding, SegmentWriter, VideoInfo, assemble, check_output, encoding_for, output_name, probe, read_frames
from colorgan.video.mixed import is_colour_frame
from colorgan.video.shots import Timeline, scan

JOB_VERSION = 2


@dataclass(frozen=True)
class VideoOptions:
    """How a video is coloured: the model's render factor, temporal stabilisation ('flow' or 'none') and its
    memory, hints by frame index, frames in colour kept, H.264 quality (CRF, 0 lossless to 51) and preset, batch and segment size (frames).
    The preset is x264's `faster`: half `medium`'s encoding time at CRF 18 for 0.2 dB of PSNR on grainy 640x480 film
    (experiments/benchmarks/README.md). An unknown mode or preset, a memory outside [0, 1), a CRF outside 0-51 or a size below one is one line on construction."""

    render_factor: int | None = None
    temporal: str = "flow"
    memory: float = 0.9
    hints: dict[int, list[Hint]] = field(default_factory=dict)
    keep_colour: bool = False
    crf: int = 18
    preset: str = "faster"
    batch_size: int = 8
    segment_frames: int = 300

    def __post_init__(self):
        if self.temporal not in temporal.TEMPORAL_MODES:
            raise UserError(f"--temporal {self.temporal!r}: choose one of {', '.join(temporal.TEMPORAL_MODES)}")
        if self.preset not in X264_PRESETS:
            raise UserError(f"--preset {self.preset!r}: choose one of {', '.join(X264_PRESETS)}")
        if not 0 <= self.memory < 1:
            raise UserError(f"memory {self.memory}: give a number from 0 (no averaging) to below 1")
        if not 0 <= self.crf <= 51:
            raise UserError(f"--crf {self.crf}: give a quality from 0 (lossless) to 51 (smallest file)")
        for name in ("batch_size", "segment_frames"):
            if getattr(self, name) < 1:
                raise UserError(f"{name}={getattr(self, name)}: give at least 1 frame")


@dataclass
class Carry:
    """What a shot carries from one frame to the next: the previous lightness (render size, uint8), its
    stabilised ab (h, w, 2), how many frames each pixel's average spans (h, w) and the hints that follow the flow."""

    light: np.ndarray
    ab: np.ndarray
    count: np.ndarray
    hints: list[Hint]


def save_carry(carry: Carry | None, path: Path) -> None:
    """Write a segment's end state (None: its shot has no decoded frame yet) for the segment that continues the shot."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        if carry is None:
            np.savez(f)
        else:
            rows = np.array([[h.x, h.y, *h.color, h.size or 0.0] for h in carry.hints], dtype=np.float64).reshape(-1, 5)
            np.savez(f, light=carry.light, ab=carry.ab, count=carry.count, hints=rows)


def load_carry(path: Path) -> Carry | None:
    """The state `save_carry` wrote."""
    with np.load(path) as data:
        if "light" not in data:
            return None
        hints = [Hint(x, y, (a, b), size or None) for x, y, a, b, size in data["hints"].tolist()]
        return Carry(data["light"], data["ab"], data["count"], hints)


def job_folder(dst: Path) -> Path:
    """The hidden folder beside the output where its job keeps its parts."""
    return dst.parent / f".{dst.name}.colorgan-job"


def shots_path(dst: Path) -> Path:
    """The JSON of shots written beside the output."""
    return dst.with_name(f"{dst.name}.shots.json")


def with_ab_hints(hints: dict[int, list[Hint]]) -> dict[int, list[Hint]]:
    """Hints with their colours as natural (a, b), the form a carried hint has, so resumed and uninterrupted jobs agree."""
    return {frame: [Hint(h.x, h.y, tuple(v * AB_SCALE for v in h.ab()), h.size) for h in items] for frame, items in hints.items()}


def model_digest(model: torch.nn.Module) -> str:
    """A hash of the model's weights: a job resumes only with the same model."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def plan_segments(timeline: Timeline, segment_frames: int) -> list[tuple[int, int, bool]]:
    """(first, end, continues its shot) for each segment: shots cut into at most `segment_frames` frames, no
    segment that continues a shot starting on a damaged frame."""
    damaged = set(timeline.damaged)
    segments = []
    for first, end in timeline.shots():
        start, continues = first, False
        while start < end:
            stop = min(start + segment_frames, end)
            while stop < end and stop in damaged:
                stop += 1
            segments.append((start, stop, continues))
            start, continues = stop, True
    return segments


def _check_paths(src: Path, dst: Path) -> None:
    if not src.is_file():
        raise UserError(f"{src}: no such video file")
    if output_name(dst) != dst:
        raise UserError(f"{dst.name}: AVI cannot keep the frames' timestamps (FFmpeg reads H.264 in AVI a frame late): write {output_name(dst).name}")
    written = {dst.resolve(), job_folder(dst).resolve(), shots_path(dst).resolve()}
    if src.resolve() in written or job_folder(dst).resolve() in src.resolve().parents:
        raise UserError(f"writing {dst} would overwrite the input {src}: choose another output")


def _open_job(folder: Path, identity: dict) -> bool:
    """Make `folder` the job described by `identity`; True when it resumes an earlier run of the same job. Anything
    else there (another job's parts, or parts whose record is gone) is removed."""
    record = folder / "job.json"
    try:
        if json.loads(record.read_text()) == identity:
            return True
    except (OSError, ValueError):
        pass
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    write_json_atomic(record, identity)
    return False


def _timeline(folder: Path, src: Path, info: VideoInfo, progress: bool, known: Timeline | None) -> Timeline:
    path = folder / "timeline.json"
    if path.is_file():
        return Timeline(**json.loads(path.read_text()))
    timeline = known if known is not None else scan(src, info, progress=progress)
    if not timeline.pts or len(timeline.damaged) == len(timeline.pts):
        raise UserError(f"{src}: no frame of its video could be decoded (damaged or cut off?)")
    write_json_atomic(path, timeline.to_json())
    return timeline


def _frames(src: Path, info: VideoInfo, timeline: Timeline, first: int, end: int) -> Iterator[tuple[int, np.ndarray | None]]:
    """(index, upright RGB or None if damaged) for every frame index in [first, end)."""
    index = {pts: i for i, pts in enumerate(timeline.pts[first:end], first)}
    expected = first
    for pts, rgb in read_frames(src, timeline.pts[first], timeline.pts[end - 1], info.rotation):
        i = index.get(pts)
        if i is None or i < expected:
            continue
        for missing in range(expected, i):
            yield missing, None
        yield i, rgb
        expected = i + 1
    for missing in range(expected, end):
        yield missing, None


def _batches(frames: Iterator, size: int) -> Iterator[list]:
    batch = []
    for item in frames:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


@dataclass
class FrameProgress:
    """Frames written so far, shown on a tqdm bar (the command line) and told to `report(done, total)` (the web app)."""

    bar: tqdm
    done: int
    total: int
    report: Callable[[int, int], None] | None = None

    def update(self) -> None:
        self.done += 1
        self.bar.update()
        if self.report is not None:
            self.report(self.done, self.total)


def upright_shape(info: VideoInfo) -> tuple[int, int]:
    """(height, width) of a video's frames as displayed, its rotation applied."""
    return (info.width, info.height) if info.rotation % 180 else (info.height, info.width)


class SegmentColourer:
    """Colours the good frames of a shot in order, batch by batch, carrying its state (`carry`) from frame to frame;
    `placed` holds the hints each frame of the last batch got (given on it, or followed along the flow)."""

    def __init__(self, colorizer, frame_shape: tuple[int, int], options: VideoOptions, carry: Carry | None = None):
        self.colorizer, self.options, self.carry = colorizer, options, carry
        self.frame_shape = frame_shape  # upright (height, width)
        self.placed: list[list[Hint]] = []
        self.render = colorizer.render_shape(*self.frame_shape, options.render_factor)
        self.solver = temporal.dis_flow()

    def _small(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, size=self.render, mode="bilinear", antialias=True, align_corners=False)

    def colour(self, items: Sequence[tuple[int, np.ndarray]]) -> list[np.ndarray]:
        """Coloured upright RGB frames (uint8) for consecutive good frames (index, RGB) of the shot."""
        rgb = torch.from_numpy(np.stack([frame for _, frame in items])).permute(0, 3, 1, 2)
        L = uint8_to_lightness(rgb)
        in_colour = [self.options.keep_colour and is_colour_frame(frame) for _, frame in items]
        moves, self.placed, light = self._follow([index for index, _ in items], temporal.lightness_levels(self._small(L)))
        predicted = self.colorizer.predict_ab(list(L.split(1)), self.options.render_factor, self.options.batch_size, self.placed, at_render_size=True)
        stabilised, count = self._stabilise(moves, [p[0].permute(1, 2, 0).numpy() for p in predicted], rgb, in_colour)
        self.carry = Carry(light, stabilised[-1], count, self.placed[-1])
        full_ab = F.interpolate(torch.from_numpy(np.stack(stabilised)).permute(0, 3, 1, 2), size=L.shape[-2:], mode="bilinear", align_corners=False)
        coloured = to_uint8(model_to_rgb_in_gamut(L, full_ab)).permute(0, 2, 3, 1).numpy()
        return [frame if in_colour[j] else coloured[j] for j, (_, frame) in enumerate(items)]

    def _follow(self, indices: Sequence[int], lights: np.ndarray) -> tuple[list[temporal.Motion | None], list[list[Hint]], np.ndarray]:
        """Each frame's motion from the frame before (None at the shot's start, or where neither the average nor a
        hint needs it), its hints (given on it, or followed along the flow), and the last frame's lightness."""
        light, hints = (self.carry.light, self.carry.hints) if self.carry is not None else (None, [])
        moves, frame_hints = [], []
        for index, next_light in zip(indices, lights):
            needs_flow = self.options.temporal == "flow" or hints  # hints carried from the previous frame follow the flow
            move = temporal.motion(self.solver, light, next_light) if light is not None and needs_flow else None
            hints = track.place(track.follow(hints, move, self.frame_shape) if move is not None else [], self.options.hints.get(index, []))
            moves.append(move)
            frame_hints.append(hints)
            light = next_light
        return moves, frame_hints, light

    def _stabilise(
        self, moves: Sequence[temporal.Motion | None], predicted: Sequence[np.ndarray], rgb: torch.Tensor, in_colour: Sequence[bool]
    ) -> tuple[list[np.ndarray], np.ndarray]:
        """Each frame's ab (h, w, 2) at the render size (its own colours, the running average along the flow, or the
        prediction) and how many frames each pixel of the last one's average spans."""
        ab, count = (self.carry.ab, self.carry.count) if self.carry is not None else (None, None)
        stabilised = []
        for j, (move, prediction) in enumerate(zip(moves, predicted)):
            if in_colour[j]:  # a frame's own colours: as settled as an average can be
                ab = self._small(uint8_to_model(rgb[j : j + 1])[1])[0].permute(1, 2, 0).numpy()
                count = np.full(ab.shape[:2], temporal.settled_count(self.options.memory), np.float32)
            elif self.options.temporal == "flow" and move is not None:
                ab, count = temporal.stabilise(ab, count, move, prediction, self.options.memory)
            else:
                ab, count = prediction, np.ones(prediction.shape[:2], np.float32)
            stabilised.append(ab)
        return stabilised, count


def colour_segment(
    colorizer,
    src: Path,
    info: VideoInfo,
    timeline: Timeline,
    first: int,
    end: int,
    carry: Carry | None,
    options: VideoOptions,
    writer: SegmentWriter,
    bar: FrameProgress,
) -> Carry | None:
    """Colour and encode frames [first, end); damaged frames get the previous coloured frame (or, at a segment's
    start, the first coloured one). Returns the state at the segment's end."""
    colourer = SegmentColourer(colorizer, upright_shape(info), options, carry)
    previous, waiting = None, 0
    for batch in _batches(_frames(src, info, timeline, first, end), options.batch_size):
        good = [(i, frame) for i, frame in batch if frame is not None]
        coloured = iter(colourer.colour(good)) if good else iter(())
        for i, frame in batch:
            if frame is not None:
                previous = next(coloured)
                for j in range(i - waiting, i + 1):
                    writer.write(previous, timeline.pts[j])
                waiting = 0
            elif previous is not None:
                writer.write(previous, timeline.pts[i])
            else:
                waiting += 1
            bar.update()
    if waiting:  # a segment with no frame that decodes: black frames keep the count and the timing
        black = np.zeros((*colourer.frame_shape, 3), np.uint8)
        for i in range(end - waiting, end):
            writer.write(black, timeline.pts[i])
    return colourer.carry


def job_identity(src: Path, colorizer, options: VideoOptions) -> dict:
    """What makes a job the same job: the source file (path, size, time), the model's weights and the options."""
    stat = src.stat()
    return {
        "version": JOB_VERSION,
        "source": str(src.resolve()),
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "model": model_digest(colorizer.model),
        "options": json.loads(json.dumps(asdict(options), default=str)),
    }


def colour_segments(
    colorizer,
    src: Path,
    folder: Path,
    info: VideoInfo,
    timeline: Timeline,
    options: VideoOptions,
    encoding: Encoding,
    progress: bool | Callable[[int, int], None],
) -> list[Path]:
    """Colour every segment the job folder does not hold yet, each written complete or not at all, with the temporal
    state a continuing shot carries into the next segment; returns the segment files in order. `progress`: a tqdm
    bar (True), none (False), or a callable told (frames done, total) after each frame."""
    segments = plan_segments(timeline, options.segment_frames)
    paths = [folder / f"seg-{k:05d}.nut" for k in range(len(segments))]
    carries = [path.with_suffix(".carry.npz") if k + 1 < len(segments) and segments[k + 1][2] else None for k, path in enumerate(paths)]
    finished = [path.is_file() and (carry is None or carry.is_file()) for path, carry in zip(paths, carries)]
    done = sum(end - first for (first, end, _), ok in zip(segments, finished) if ok)
    report = progress if callable(progress) else None
    with tqdm(total=len(timeline.pts), initial=done, unit="frame", desc=f"colour {src.name}", disable=progress is not True) as tqdm_bar:
        bar = FrameProgress(tqdm_bar, done, len(timeline.pts), report)
        for k, ((first, end, continues), path) in enumerate(zip(segments, paths)):
            if finished[k]:
                continue
            carry = load_carry(carries[k - 1]) if continues else None
            with atomic_path(path) as tmp:
                with SegmentWriter(tmp, info, encoding) as writer:
                    carry = colour_segment(colorizer, src, info, timeline, first, end, carry, options, writer, bar)
                if carries[k] is not None:
                    save_carry(carry, carries[k])
    return paths


def colorize_video(
    colorizer,
    src: str | Path,
    dst: str | Path,
    options: VideoOptions = VideoOptions(),
    progress: bool | Callable[[int, int], None] = True,
    timeline: Timeline | None = None,
) -> dict:
    """Colour the video `src` into `dst` (container from its name) as a resumable job; returns a summary
    (frames, shots, damaged frame indices, whether it resumed). Writes the shots as JSON beside `dst`. `progress`:
    tqdm bars (True), none (False), or a callable told (frames coloured, total) after each frame. `timeline`: the
    video's, when a `scan` of it was already made (it is not scanned again)."""
    src, dst = Path(src), Path(dst)
    _check_paths(src, dst)
    colorizer.check_hints(options.hints)
    info = probe(src)
    options = VideoOptions(**{**asdict(options), "hints": with_ab_hints(options.hints)})
    folder = job_folder(dst)
    resumed = _open_job(folder, job_identity(src, colorizer, options))
    encoding = encoding_for(dst.suffix, options.crf, options.preset, info.width, info.height)
    check_output(src, folder / f"check{dst.suffix}", info, encoding)
    timeline = _timeline(folder, src, info, progress is True, timeline)
    try:
        options = replace(options, hints=track.fit_to_video(options.hints, upright_shape(info), timeline))
    except UserError:  # the hints are part of what the job is: with others it is another job
        shutil.rmtree(folder)
        raise
    paths = colour_segments(colorizer, src, folder, info, timeline, options, encoding, progress)
    assembled = folder / f"output{dst.suffix}"  # the output's own suffix: FFmpeg picks the container from it
    assemble(src, paths, assembled, info)
    shots = [{"first": first, "end": end, "start_s": float(timeline.pts[first] * info.time_base)} for first, end in timeline.shots()]
    summary = {
        "source": src.name,
        "frames": len(timeline.pts),
        "rate": str(info.rate),
        "shots": shots,
        "damaged": timeline.damaged,
        "cut_off": timeline.cut_off(info),
        "resumed": resumed,
    }
    write_json_atomic(shots_path(dst), {k: v for k, v in summary.items() if k != "resumed"})
    os.replace(assembled, dst)
    (folder / "job.json").unlink()  # first: parts a kill leaves during the removal are never taken for this job's
    shutil.rmtree(folder)
    return summary
