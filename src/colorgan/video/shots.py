"""A video's timeline (every frame's timestamp, the damaged ones) and its shots, found in one decoding pass.

Cuts are found with PySceneDetect's ContentDetector (what video editors' tools use), fed frames scaled down
by FFmpeg and compared on lightness only (hue and saturation say nothing in a black-and-white film).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from scenedetect import ContentDetector, FrameTimecode
from tqdm import tqdm

from colorgan.video.io import VideoInfo, decode_stream, open_input

DETECT_WIDTH = 256  # frames are compared at this width: cuts do not need detail, and it keeps the pass fast


@dataclass
class Timeline:
    """Every frame's presentation timestamp in display order, the indices of frames that did not decode, the
    first frame of each shot after the first, and the length the container declares."""

    pts: list[int]
    damaged: list[int]
    cuts: list[int]
    declared_s: float | None = None  # the length the container's header gives, when it gives one

    def cut_off(self, info: VideoInfo) -> bool:
        """True when the frames end well before the length the header declares (a file cut off in the middle)."""
        if self.declared_s is None or not self.pts:
            return False
        frames_s = float((self.pts[-1] - self.pts[0]) * info.time_base + 1 / info.rate)
        return self.declared_s - frames_s > max(0.5, 0.02 * self.declared_s)

    def shots(self) -> list[tuple[int, int]]:
        """(first, end) frame indices of each shot, end exclusive."""
        starts = [0, *self.cuts]
        return list(zip(starts, [*self.cuts, len(self.pts)]))

    def to_json(self) -> dict:
        return asdict(self)


def scan(path: str | Path, info: VideoInfo, threshold: float = 27.0, min_shot_frames: int = 15, progress: bool = True) -> Timeline:
    """Decode the whole video once: its timeline, damaged frames and cuts (ContentDetector on lightness)."""
    detector = ContentDetector(threshold=threshold, min_scene_len=min_shot_frames, luma_only=True)
    height = max(2, round(info.height * DETECT_WIDTH / info.width / 2) * 2)
    frames: dict[int, bool] = {}
    cuts: list[int] = []
    with open_input(path) as container, tqdm(total=container.streams.video[0].frames or None, unit="frame", desc="shots", disable=not progress) as bar:
        for pts, frame in decode_stream(container):
            frames[pts] = frame is not None
            if frame is not None:
                small = frame.reformat(width=DETECT_WIDTH, height=height, format="bgr24").to_ndarray()
                cuts += [cut.frame_num for cut in detector.process_frame(FrameTimecode(len(frames) - 1, info.rate), small)]
            bar.update()
        if frames:
            cuts += [cut.frame_num for cut in detector.post_process(FrameTimecode(len(frames) - 1, info.rate))]
    pts = sorted(frames)
    return Timeline(pts, [i for i, p in enumerate(pts) if not frames[p]], sorted({c for c in cuts if 0 < c < len(pts)}), info.declared_s)
