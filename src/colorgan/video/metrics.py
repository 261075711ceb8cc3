"""Temporal consistency of a coloured video, computed as the authors' code of the two published measures computes it.

CDC, colour distribution consistency (TCVC, Liu et al. 2021, codes/compute_hist.py): per B, G, R channel a 256-bin
histogram of each 8-bit frame over [0, 256) divided by H x W; the Jensen-Shannon divergence between the histograms of
frames t and t + d, JS(p, q) = KL(p || m) / 2 + KL(q || m) / 2 with m = (p + q) / 2 in natural log (scipy.stats.entropy,
which renormalises each histogram and counts empty bins of p as 0); for each gap d in (1, 2, 4) the mean over the
T - d pairs, weighted 1/3; the mean over the three channels, then over videos. Lower is steadier; needs no truth.

Warp error (Lai et al. 2018, fast_blind_video_consistency evaluate_WarpError.py and utils.detect_occlusion): frame t
of the output warped onto frame t - 1 along the forward flow F (t - 1 -> t) computed on the *input* frames, bilinear
sampling at x + F(x) with coordinates clamped to the border (their Resample2d); the error of the pair is
sum(noc * (warp(O_t) - O_{t-1})^2) / N on RGB in [0, 1], N the non-occluded elements over the 3 channels (all
elements when none is); the mean over the T - 1 pairs, then over videos. Occluded on frame t - 1's grid where the
backward flow B (t -> t - 1) sampled at x + F(x) does not cancel F, |F + B(x+F)|^2 > 0.01 (|F|^2 + |B(x+F)|^2) + 0.5,
or on a motion boundary of F, |dF|^2 > 0.01 |F|^2 + 0.002 with forward differences (0 in the last row and column).
They compute flow with FlowNet2; here it is OpenCV's DIS (preset medium, no weights) on the 8-bit grey input, so the
value is named E_warp(DIS) and is not comparable with published E_warp tables.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

import cv2
import numpy as np

from colorgan.errors import UserError

CDC_GAPS = (1, 2, 4)
CDC_WEIGHTS = (1 / 3, 1 / 3, 1 / 3)
DIS_PRESET = cv2.DISOPTICAL_FLOW_PRESET_MEDIUM


def channel_histograms(frame: np.ndarray) -> np.ndarray:
    """An 8-bit frame (H, W, 3) -> its per-channel 256-bin histograms (3, 256), each divided by H x W."""
    h, w, c = frame.shape
    offsets = np.arange(c, dtype=np.int64) * 256
    counts = np.bincount((frame.reshape(-1, c).astype(np.int64) + offsets).ravel(), minlength=256 * c)
    return counts.reshape(c, 256) / (h * w)


def js_divergence(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Jensen-Shannon divergence (natural log) between histograms along the last axis, each renormalised to sum 1;
    empty bins of p contribute nothing to KL(p || m), as in scipy.stats.entropy."""
    p = p / p.sum(-1, keepdims=True)
    q = q / q.sum(-1, keepdims=True)
    m = (p + q) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        kl_p, kl_q = (np.where(x > 0, x * np.log(x / m), 0.0).sum(-1) for x in (p, q))
    return kl_p / 2 + kl_q / 2


class CDC:
    """CDC of one video, frame by frame: `update(frame)` with each 8-bit frame (H, W, 3) in order, `compute()` at the
    end. Keeps only the last few frames' histograms and each gap's running sum, so memory does not grow with length."""

    def __init__(self) -> None:
        self.recent: deque[np.ndarray] = deque(maxlen=max(CDC_GAPS))
        self.sums = {d: np.zeros(3) for d in CDC_GAPS}
        self.frames = 0

    def update(self, frame: np.ndarray) -> None:
        histograms = channel_histograms(frame)
        for d in CDC_GAPS:
            if len(self.recent) >= d:
                self.sums[d] += js_divergence(self.recent[-d], histograms)
        self.recent.append(histograms)
        self.frames += 1

    def compute(self) -> float:
        """The mean over channels of the gaps' mean divergences, weighted; needs 1 + max gap frames."""
        if self.frames <= max(CDC_GAPS):
            raise UserError(f"CDC needs at least {max(CDC_GAPS) + 1} frames (its largest gap is {max(CDC_GAPS)}); this video has {self.frames}")
        per_channel = sum(w * self.sums[d] / (self.frames - d) for d, w in zip(CDC_GAPS, CDC_WEIGHTS))
        return float(np.mean(per_channel))


def cdc(frames: Iterable[np.ndarray]) -> float:
    """CDC of one video's 8-bit frames (H, W, 3), in order."""
    measure = CDC()
    for frame in frames:
        measure.update(frame)
    return measure.compute()


def dis_flow(first: np.ndarray, second: np.ndarray, dis: cv2.DISOpticalFlow | None = None) -> np.ndarray:
    """Optical flow (H, W, 2) from 8-bit grey frame `first` to `second` (first(x) ~ second(x + flow(x))), by OpenCV DIS."""
    dis = dis or cv2.DISOpticalFlow_create(DIS_PRESET)
    return dis.calc(first, second, None)


def warp(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """image (H, W, C) sampled at x + flow(x): bilinear, each neighbour's coordinate clamped to the image, with the
    fractional weights of the unclamped position (their Resample2d kernel)."""
    h, w = image.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w]
    x, y = xs + flow[..., 0].astype(np.float64), ys + flow[..., 1].astype(np.float64)
    x0, y0 = np.floor(x), np.floor(y)
    ax, ay = (x - x0)[..., None], (y - y0)[..., None]
    left, right = np.clip(x0, 0, w - 1).astype(np.int64), np.clip(x0 + 1, 0, w - 1).astype(np.int64)
    top, bottom = np.clip(y0, 0, h - 1).astype(np.int64), np.clip(y0 + 1, 0, h - 1).astype(np.int64)
    return (1 - ax) * (1 - ay) * image[top, left] + ax * (1 - ay) * image[top, right] + (1 - ax) * ay * image[bottom, left] + ax * ay * image[bottom, right]


def _squared_norm(flow: np.ndarray) -> np.ndarray:
    return (flow**2).sum(-1)


def occlusion(forward: np.ndarray, backward: np.ndarray) -> np.ndarray:
    """Occluded pixels (H, W) bool on the first frame's grid, from the flow first -> second (`forward`) and second ->
    first (`backward`): the forward-backward check and the motion-boundary test of Lai et al.'s detect_occlusion."""
    forward, backward = forward.astype(np.float64), backward.astype(np.float64)
    back_along = warp(backward, forward)
    inconsistent = _squared_norm(back_along + forward) > 0.01 * (_squared_norm(back_along) + _squared_norm(forward)) + 0.5
    du = np.zeros_like(forward)
    dv = np.zeros_like(forward)
    du[:, :-1] = forward[:, :-1] - forward[:, 1:]
    dv[:-1, :] = forward[:-1, :] - forward[1:, :]
    boundary = (du**2 + dv**2).sum(-1) > 0.01 * _squared_norm(forward) + 0.002
    return inconsistent | boundary


def pair_warp_error(previous: np.ndarray, current: np.ndarray, forward: np.ndarray, occluded: np.ndarray) -> float:
    """Warp error of one pair of 8-bit output frames (H, W, 3): `current` warped onto `previous` along `forward`
    (previous -> current), squared error in [0, 1] over the non-occluded elements."""
    valid = ~occluded
    diff = (warp(current.astype(np.float64) / 255, forward) - previous.astype(np.float64) / 255) * valid[..., None]
    elements = valid.sum() * current.shape[-1] or diff.size
    return float((diff**2).sum() / elements)


class InputFlow:
    """The flow of Lai et al.'s warp error for consecutive frames of an input video: `update(grey)` with each 8-bit grey
    input frame (H, W) returns (forward flow from the previous frame, its occluded pixels), or None for the first frame."""

    def __init__(self) -> None:
        self.dis = cv2.DISOpticalFlow_create(DIS_PRESET)
        self.previous: np.ndarray | None = None

    def update(self, grey: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        previous, self.previous = self.previous, np.ascontiguousarray(grey)
        if previous is None:
            return None
        forward = dis_flow(previous, self.previous, self.dis)
        backward = dis_flow(self.previous, previous, self.dis)
        return forward, occlusion(forward, backward)


class VideoConsistency:
    """CDC and E_warp(DIS) of one output video, frame by frame: `update(frame, flow)` with each 8-bit output frame
    (H, W, 3) and what InputFlow.update gave for the same input frame; `compute()` -> {"cdc", "ewarp_dis"}."""

    def __init__(self) -> None:
        self.cdc = CDC()
        self.warp_error_sum, self.pairs = 0.0, 0
        self.previous: np.ndarray | None = None

    def update(self, frame: np.ndarray, flow: tuple[np.ndarray, np.ndarray] | None) -> None:
        self.cdc.update(frame)
        if flow is not None:
            self.warp_error_sum += pair_warp_error(self.previous, frame, *flow)
            self.pairs += 1
        self.previous = frame

    def compute(self) -> dict[str, float]:
        return {"cdc": self.cdc.compute(), "ewarp_dis": self.warp_error_sum / self.pairs}
