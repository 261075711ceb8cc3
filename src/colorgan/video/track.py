"""Hints on film: a hint placed on a frame follows its point along the flow to the end of its shot, or until
the point is lost (its flow fails the forward-backward test: occluded, or out of the frame).

Points are in the upright frame's pixels; flow is at the render size, so points are scaled to it and back.
A hint placed within `REPLACE_RADIUS` pixels (or its own size) of a carried one replaces it; others add.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from colorgan.errors import UserError
from colorgan.hints import Hint, hints_from_json
from colorgan.video.temporal import Motion

REPLACE_RADIUS = 8.0


def _sample(field: np.ndarray, x: float, y: float) -> np.ndarray:
    """Bilinear sample of a (h, w, c) field at a point (clamped to the image)."""
    h, w = field.shape[:2]
    x, y = min(max(x, 0.0), w - 1.0), min(max(y, 0.0), h - 1.0)
    x0, y0 = min(int(x), w - 2) if w > 1 else 0, min(int(y), h - 2) if h > 1 else 0
    fx, fy = x - x0, y - y0
    x1, y1 = min(x0 + 1, w - 1), min(y0 + 1, h - 1)
    top = field[y0, x0] * (1 - fx) + field[y0, x1] * fx
    bottom = field[y1, x0] * (1 - fx) + field[y1, x1] * fx
    return top * (1 - fy) + bottom * fy


def hints_by_frame(items: Sequence[dict]) -> dict[int, list[Hint]]:
    """[{"frame": N, "x": X, "y": Y, "color": "#RRGGBB"}, ...] (--hints FILE.json for a video; no frame: frame 0) -> hints by frame."""
    frames: dict[int, list[dict]] = {}
    for item in items:
        frame = item.get("frame", 0) if isinstance(item, dict) else None
        if not isinstance(frame, int) or frame < 0:
            raise UserError(f'a video hint needs a frame number from 0, as in {{"frame": 0, "x": 120, "y": 80, "color": "#3060C0"}}, not {item!r}')
        frames.setdefault(frame, []).append(item)
    return {frame: hints_from_json(group) for frame, group in frames.items()}


def follow(hints: Sequence[Hint], move: Motion, frame_shape: tuple[int, int]) -> list[Hint]:
    """The hints moved along the forward flow onto the current frame; those whose point is lost are dropped."""
    (H, W), (h, w) = frame_shape, move.forward.shape[:2]
    sx, sy = w / W, h / H
    kept = []
    for hint in hints:
        x, y = (hint.x + 0.5) * sx - 0.5, (hint.y + 0.5) * sy - 0.5
        nx, ny = np.array([x, y]) + _sample(move.forward, x, y)
        if not (0 <= nx <= w - 1 and 0 <= ny <= h - 1) or not move.trusted[int(round(ny)), int(round(nx))]:
            continue
        kept.append(replace(hint, x=float(min(max((nx + 0.5) / sx - 0.5, 0), W - 1)), y=float(min(max((ny + 0.5) / sy - 0.5, 0), H - 1))))
    return kept


def place(carried: Sequence[Hint], new: Sequence[Hint]) -> list[Hint]:
    """Carried hints plus new ones, each new hint replacing the carried ones near its point."""
    kept = [
        old for old in carried if all(np.hypot(old.x - hint.x, old.y - hint.y) > max(REPLACE_RADIUS, (hint.size or 0) / 2, (old.size or 0) / 2) for hint in new)
    ]
    return [*kept, *new]
