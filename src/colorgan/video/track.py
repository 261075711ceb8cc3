"""Hints on film: a hint placed on a frame follows its point along the flow to the end of its shot, or until
the point is lost (Motion.carry: out of the frame, occluded, or where the flow cannot be trusted).

Points are in the upright frame's pixels; flow is at the render size, so points are scaled to it and back.
A hint placed within `REPLACE_RADIUS` pixels (or its own size) of a carried one replaces it; others add.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from colorgan.errors import UserError
from colorgan.hints import Hint, hints_from_json
from colorgan.video.shots import Timeline
from colorgan.video.temporal import Motion

REPLACE_RADIUS = 8.0


def hints_by_frame(items: Sequence[dict]) -> dict[int, list[Hint]]:
    """[{"frame": N, "x": X, "y": Y, "color": "#RRGGBB"}, ...] (--hints FILE.json for a video; no frame: frame 0) -> hints by frame."""
    frames: dict[int, list[dict]] = {}
    for item in items:
        frame = item.get("frame", 0) if isinstance(item, dict) else None
        if not isinstance(frame, int) or frame < 0:
            raise UserError(f'a video hint needs a frame number from 0, as in {{"frame": 0, "x": 120, "y": 80, "color": "#3060C0"}}, not {item!r}')
        frames.setdefault(frame, []).append(item)
    return {frame: hints_from_json(group) for frame, group in frames.items()}


def fit_to_video(hints: dict[int, list[Hint]], frame_shape: tuple[int, int], timeline: Timeline) -> dict[int, list[Hint]]:
    """Hints by frame checked against the video before any frame is coloured: one line for a frame past its end or a
    point outside its (upright) frames. A hint on a frame that does not decode applies from the next frame of its
    shot that does (none: it has no frame to go on)."""
    (H, W), frames, damaged = frame_shape, len(timeline.pts), set(timeline.damaged)
    fitted: dict[int, list[Hint]] = {}
    for frame, items in sorted(hints.items()):
        if frame >= frames:
            raise UserError(f"a hint is on frame {frame}, and the video has {frames} frames (numbered from 0): put it on an earlier one")
        for hint in items:
            if not (0 <= hint.x < W and 0 <= hint.y < H):
                raise UserError(
                    f"a hint on frame {frame} at ({hint.x:g}, {hint.y:g}) is outside the video's {W}x{H} frames: x, y are pixels from the top-left corner"
                )
        end = next(end for first, end in timeline.shots() if first <= frame < end)
        decoded = next((i for i in range(frame, end) if i not in damaged), None)
        if decoded is not None:
            fitted.setdefault(decoded, []).extend(items)
    return fitted


def follow(hints: Sequence[Hint], move: Motion, frame_shape: tuple[int, int]) -> list[Hint]:
    """The hints moved along the forward flow onto the current frame; those whose point is lost are dropped."""
    (H, W), (h, w) = frame_shape, move.forward.shape[:2]
    sx, sy = w / W, h / H
    kept = []
    for hint in hints:
        carried = move.carry((hint.x + 0.5) * sx - 0.5, (hint.y + 0.5) * sy - 0.5)
        if carried is None:
            continue
        nx, ny = carried
        kept.append(replace(hint, x=float(min(max((nx + 0.5) / sx - 0.5, 0), W - 1)), y=float(min(max((ny + 0.5) / sy - 0.5, 0), H - 1))))
    return kept


def place(carried: Sequence[Hint], new: Sequence[Hint]) -> list[Hint]:
    """Carried hints plus new ones, each new hint replacing the carried ones near its point."""
    kept = [
        old for old in carried if all(np.hypot(old.x - hint.x, old.y - hint.y) > max(REPLACE_RADIUS, (hint.size or 0) / 2, (old.size or 0) / 2) for hint in new)
    ]
    return [*kept, *new]
