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


@dataclass
class Motion:
    """Flow between a previous frame and the current one, both ways, at the render size (pixels, (h, w, 2))."""

    backward: np.ndarray  # current -> previous: where each current pixel was
    forward: np.ndarray  # previous -> current: where each previous pixel went
    trusted: np.ndarray  # (h, w) bool: current pixels whose backward flow passes the forward-backward test


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
    forward_there = warp(forward, backward)
    disagreement = np.square(backward + forward_there).sum(-1)
    consistent = disagreement <= 0.01 * (np.square(backward).sum(-1) + np.square(forward_there).sum(-1)) + 0.5
    h, w = current.shape
    xs, ys = _grid(h, w)
    inside = (xs + backward[..., 0] >= 0) & (xs + backward[..., 0] <= w - 1) & (ys + backward[..., 1] >= 0) & (ys + backward[..., 1] <= h - 1)
    same_light = np.abs(warp(previous.astype(np.float32), backward) - current) <= max_dl * 255 / 100
    return Motion(backward, forward, consistent & inside & same_light)


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
