"""Temporal stability: each frame's ab made consistent with the earlier frames of its shot along optical flow.

Flow is OpenCV's DIS (Kroeger et al. 2016: no learned weights) on the lightness of consecutive frames at the
model's render size, both ways. A pixel is trusted where the two flows agree (the forward-backward test of Lai
et al. 2018: |F + F^|^2 <= 0.01 (|F|^2 + |F^|^2) + 0.5) and the previous frame's lightness, carried along the
flow, matches its own (within `max_dl` levels of L). Where trusted, the frame's ab is a running average along
the motion of the model's predictions: the mean of the n frames the pixel has been followed through while n is
below 1 / (1 - `memory`), then an exponential average with that memory; elsewhere (occlusions, new content,
anything the flow cannot explain) the model's prediction stands and n starts again at 1. Once settled it leaves
sqrt((1 - m) / (1 + m)) of frame-to-frame noise (0.23 at m = 0.9); the mean before that settles a shot's first
frames in 1 / (1 - m) frames instead of the exponential average's slow start from one frame's prediction.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch

from colorgan.color import L_SCALE

TEMPORAL_MODES = ("flow", "none")


def sample(field: np.ndarray, x: float, y: float) -> np.ndarray:
    """Bilinear sample of a (h, w) or (h, w, c) field at one point (clamped to the image)."""
    h, w = field.shape[:2]
    x, y = min(max(x, 0.0), w - 1.0), min(max(y, 0.0), h - 1.0)
    x0, y0 = min(int(x), max(w - 2, 0)), min(int(y), max(h - 2, 0))
    x1, y1 = min(x0 + 1, w - 1), min(y0 + 1, h - 1)
    fx, fy = x - x0, y - y0
    top = field[y0, x0] * (1 - fx) + field[y0, x1] * fx
    bottom = field[y1, x0] * (1 - fx) + field[y1, x1] * fx
    return top * (1 - fy) + bottom * fy


def round_trip_agrees(out: np.ndarray, back: np.ndarray) -> np.ndarray:
    """Where a flow `out` (..., 2) and the opposite flow `back` sampled where it lands cancel: the forward-backward test
    |out + back|^2 <= 0.01 (|out|^2 + |back|^2) + 0.5."""
    return np.square(out + back).sum(-1) <= 0.01 * (np.square(out).sum(-1) + np.square(back).sum(-1)) + 0.5


@dataclass
class Motion:
    """Flow between a previous frame and the current one, both ways, at the render size (pixels, (h, w, 2)), and the
    two frames' lightness (uint8 levels, (h, w))."""

    backward: np.ndarray  # current -> previous: where each current pixel was
    forward: np.ndarray  # previous -> current: where each previous pixel went
    trusted: np.ndarray  # (h, w) bool: current pixels whose backward flow passes the forward-backward test
    previous: np.ndarray
    current: np.ndarray
    max_levels: float  # how far a point's lightness may change from frame to frame (uint8 levels)

    def carry(self, x: float, y: float) -> tuple[float, float] | None:
        """Where the previous frame's point (x, y) is in the current frame, or None when it is lost: out of the frame,
        landing where the flow is not trusted, the flows from it and back not cancelling, or its lightness changed
        (covered by something else)."""
        h, w = self.current.shape
        out = sample(self.forward, x, y)
        nx, ny = x + float(out[0]), y + float(out[1])
        if not (0 <= nx <= w - 1 and 0 <= ny <= h - 1) or not self.trusted[int(round(ny)), int(round(nx))]:
            return None
        if not round_trip_agrees(out, sample(self.backward, nx, ny)):
            return None
        if abs(float(sample(self.current, nx, ny)) - float(sample(self.previous, x, y))) > self.max_levels:  # uint8 levels, sampled as floats
            return None
        return nx, ny


def dis_flow(preset: int = cv2.DISOPTICAL_FLOW_PRESET_FAST) -> cv2.DISOpticalFlow:
    """A DIS optical flow solver (deterministic; no weights)."""
    return cv2.DISOpticalFlow_create(preset)


def lightness_levels(L: torch.Tensor) -> np.ndarray:
    """Normalised L (N, 1, h, w) as the uint8 images (N, h, w) the flow is computed on: 2.55 levels per unit of L."""
    return ((L[:, 0] + 1) * L_SCALE * 2.55).round().clamp(0, 255).to(torch.uint8).numpy()


def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    return xs, ys


def warp(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Sample `image` (h, w) or (h, w, c) float32 at each pixel + flow (bilinear, edges replicated)."""
    xs, ys = _grid(*flow.shape[:2])
    return cv2.remap(image, xs + flow[..., 0], ys + flow[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def motion(solver: cv2.DISOpticalFlow, previous: np.ndarray, current: np.ndarray, max_dl: float = 12.0) -> Motion:
    """Flow both ways between two uint8 lightness images (h, w) and where the backward flow can be trusted."""
    backward = solver.calc(current, previous, None)
    forward = solver.calc(previous, current, None)
    consistent = round_trip_agrees(backward, warp(forward, backward))
    h, w = current.shape
    xs, ys = _grid(h, w)
    inside = (xs + backward[..., 0] >= 0) & (xs + backward[..., 0] <= w - 1) & (ys + backward[..., 1] >= 0) & (ys + backward[..., 1] <= h - 1)
    max_levels = max_dl * 255 / 100
    same_light = np.abs(warp(previous.astype(np.float32), backward) - current) <= max_levels
    return Motion(backward, forward, consistent & inside & same_light, previous, current, max_levels)


def settled_count(memory: float) -> float:
    """How many frames the running mean spans when it turns into the exponential average with `memory`: 1 / (1 - memory)."""
    return 1 / (1 - memory)


def stabilise(previous_ab: np.ndarray, previous_count: np.ndarray, move: Motion, predicted_ab: np.ndarray, memory: float) -> tuple[np.ndarray, np.ndarray]:
    """This frame's ab (h, w, 2) and how many frames each pixel's average spans (h, w): the running average along the
    motion where it is trusted (the previous frame's average and count carried along the flow), the model's prediction
    (count 1) elsewhere."""
    count = np.where(move.trusted, np.minimum(warp(previous_count, move.backward) + 1, settled_count(memory)), 1).astype(np.float32)
    weight = (1 / count)[..., None]
    return ((1 - weight) * warp(previous_ab, move.backward) + weight * predicted_ab).astype(np.float32), count
