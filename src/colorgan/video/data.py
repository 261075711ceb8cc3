"""A folder of colour videos as an evaluation set (colorgan-eval data=video): the files, and their frames decoded
one at a time with PyAV (decode only; its wheels ship FFmpeg)."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from itertools import islice
from pathlib import Path

import av
import torch

from colorgan.errors import UserError
from colorgan.video.io import VIDEO_SUFFIXES, open_input, probe, upright_rgb


def upright_frames(path: str | Path, max_frames: int | None = None) -> Iterator[torch.Tensor]:
    """The frames of a video's first video stream in presentation order, upright (as colorgan-colorize turns them), as
    uint8 RGB (3, H, W); at most `max_frames`. An unreadable or damaged file is a one-line UserError."""
    rotation = probe(path).rotation
    try:
        with open_input(path) as container:
            for frame in islice(container.decode(container.streams.video[0]), max_frames):
                yield torch.from_numpy(upright_rgb(frame, rotation)).permute(2, 0, 1)
    except av.FFmpegError as exc:
        raise UserError(f"{path}: not a readable video ({exc})") from None


class VideoFolder:
    """Every video under `root` (folders recurse; suffixes in VIDEO_SUFFIXES), or the one video `root` names, in name
    order; `frames(path)` decodes one of them, its first `max_frames` frames (null: all)."""

    def __init__(self, root: str, max_frames: int | None = None):
        self.root = root
        self.max_frames = max_frames

    @functools.cached_property
    def videos(self) -> list[Path]:
        """The video files, in name order; a one-line UserError when there are none."""
        path = Path(self.root)
        if self.max_frames is not None and self.max_frames < 1:
            raise UserError(f"data.max_frames={self.max_frames}: give a positive number of frames, or null for all")
        if path.is_file():
            return [path]
        if not path.is_dir():
            raise UserError(f"data.root={self.root}: no such file or folder; give a folder of colour videos")
        videos = sorted(p for p in path.rglob("*") if p.suffix.lower() in VIDEO_SUFFIXES and p.is_file())
        if not videos:
            raise UserError(f"no videos found in {self.root}: supported files end in {', '.join(sorted(VIDEO_SUFFIXES))}")
        return videos

    def name(self, video: Path) -> str:
        """A video's name in the results: its path relative to the folder."""
        root = Path(self.root)
        return video.relative_to(root).as_posix() if root.is_dir() else video.name

    def frames(self, video: Path) -> Iterator[torch.Tensor]:
        return upright_frames(video, self.max_frames)
