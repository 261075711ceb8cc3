"""Temporal measures (colorgan.video.metrics) against independent computations: CDC against TCVC's recipe written
with cv2.calcHist and scipy.stats.entropy, the warp error on a translation whose answer is known, and the occlusion
mask of a moving square drawn by hand."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import scipy.stats

from colorgan.errors import UserError
from colorgan.video.metrics import InputFlow, VideoConsistency, cdc, occlusion, pair_warp_error, warp


def tcvc_cdc(frames: list[np.ndarray]) -> float:
    """TCVC's CDC, the way its compute_hist.py goes about it: per channel cv2.calcHist / (H x W), JS through
    scipy.stats.entropy, a mean per gap over the pairs that fit, gaps 1, 2, 4 weighted 1/3, then the channel mean."""
    h, w, _ = frames[0].shape
    hists = [[cv2.calcHist([f], [c], None, [256], [0, 256]) / (h * w) for f in frames] for c in range(3)]
    per_channel = []
    for channel in hists:
        total = 0.0
        for gap in (1, 2, 4):
            js = []
            for i in range(len(channel) - gap):
                p, q = channel[i], channel[i + gap]
                m = (p + q) / 2
                js.append(0.5 * scipy.stats.entropy(p, m) + 0.5 * scipy.stats.entropy(q, m))
            total += np.mean(js) / 3
        per_channel.append(total)
    return float(np.mean(per_channel))


def random_video(rng: np.random.Generator, frames: int, h: int = 24, w: int = 32) -> list[np.ndarray]:
    """Frames whose value ranges drift, so that consecutive histograms differ and many bins are empty."""
    return [rng.integers(10 * t, 60 + 20 * t, size=(h, w, 3), dtype=np.uint8) for t in range(frames)]


def test_cdc_matches_tcvcs_recipe():
    rng = np.random.default_rng(0)
    for frames in (5, 9):
        video = random_video(rng, frames)
        ours = cdc(video)
        assert ours == pytest.approx(tcvc_cdc(video), rel=1e-5)  # theirs runs in float32
        assert ours > 0.05


def test_cdc_of_a_still_video_is_zero_and_short_videos_are_refused():
    frame = np.random.default_rng(1).integers(0, 256, size=(8, 8, 3), dtype=np.uint8)
    assert cdc([frame] * 5) == 0
    with pytest.raises(UserError, match="at least 5 frames"):
        cdc([frame] * 4)


def test_warp_samples_bilinearly_and_clamps_at_the_border():
    image = np.arange(20, dtype=np.float64).reshape(4, 5, 1)
    flow = np.zeros((4, 5, 2))
    flow[..., 0] = 1.5  # half-way between columns x + 1 and x + 2
    out = warp(image, flow)[..., 0]
    assert np.allclose(out[:, :3], (image[:, 1:4, 0] + image[:, 2:5, 0]) / 2)
    assert np.allclose(out[:, 3:], image[:, 4:5, 0])  # past the right edge: the edge column


def test_occlusion_of_a_moving_square_is_the_uncovered_strip_and_the_motion_boundary():
    h, w, top, left, side, step = 20, 24, 6, 5, 8, 4
    forward = np.zeros((h, w, 2))  # frame t-1 -> t: the square moves right by `step`
    forward[top : top + side, left : left + side, 0] = step
    backward = np.zeros((h, w, 2))  # frame t -> t-1
    backward[top : top + side, left + step : left + step + side, 0] = -step
    expected = np.zeros((h, w), bool)
    expected[top : top + side, left + side : left + side + step] = True  # background that the square covers at t
    expected[top : top + side, [left - 1, left + side - 1]] = True  # forward differences across the square's sides
    expected[[top - 1, top + side - 1], left : left + side] = True
    assert np.array_equal(occlusion(forward, backward), expected)


def textured_object(t: int, shift: tuple[int, int], colour: np.ndarray | None = None) -> np.ndarray:
    """Frame t of a smooth random texture on a flat grey background, moved by t x shift (x, y) pixels; coloured when
    `colour` (3,) is given, else grey."""
    rng = np.random.default_rng(7)
    texture = cv2.GaussianBlur(rng.random((40, 40)), (0, 0), 2.0)
    texture = (texture - texture.min()) / np.ptp(texture)
    frame = np.full((72, 96), 0.5)
    y, x = 16 + t * shift[1], 20 + t * shift[0]
    frame[y : y + 40, x : x + 40] = 0.2 + 0.6 * texture
    rgb = frame[..., None] * (np.ones(3) if colour is None else colour)
    return np.round(255 * rgb.clip(0, 1)).astype(np.uint8)


def test_warp_error_of_a_translation_is_the_flicker_it_was_given():
    """Content that moves with the flow and a colour that changes by delta between frames: the error is the mean
    squared delta over the channels, exactly with the true flow and within a few percent with DIS flow."""
    shift = (3, 1)
    tints = [np.array(t) for t in ([1.0, 1.0, 1.0], [1.0, 0.9, 1.1], [0.95, 1.0, 1.05], [0.95, 1.0, 1.05], [1.05, 0.95, 1.0])]
    greys = [textured_object(t, shift) for t in range(5)]
    outputs = [textured_object(t, shift, tint) for t, tint in enumerate(tints)]
    exact = np.zeros((72, 96, 2))
    exact[..., 0], exact[..., 1] = shift
    # independent: frame t - 1's content with frame t's tint is what warping frame t back gives
    truth = [np.mean(((textured_object(t - 1, shift, tints[t]).astype(float) - outputs[t - 1]) / 255) ** 2) for t in range(1, 5)]
    no_occlusion = np.zeros((72, 96), bool)
    for t in range(1, 5):
        assert pair_warp_error(outputs[t - 1], outputs[t], exact, no_occlusion) == pytest.approx(truth[t - 1], rel=1e-9)
    flows, video = InputFlow(), VideoConsistency()
    for grey, output in zip(greys, outputs):
        video.update(output, flows.update(grey[..., 0]))
    assert video.compute()["ewarp_dis"] == pytest.approx(np.mean(truth), rel=0.05)
    assert np.mean(truth) > 1e-3
