"""Procedural scenes whose colours follow from structure, so that a colouriser can learn them in minutes.

Smooth sky at the top is blue, textured ground below the horizon is green; discs are red, squares
yellow and triangles purple. Lightness varies within each class, so the model must use shape and
texture, not brightness alone.
"""

from __future__ import annotations

import warnings

import numpy as np
from skimage.color import lab2rgb

# (a, b) of each class and its lightness range.
SKY, GROUND = (-8.0, -38.0), (-42.0, 38.0)
SHAPES = {"disc": ((58.0, 42.0), (40, 62)), "square": ((2.0, 72.0), (72, 90)), "triangle": ((48.0, -42.0), (32, 52))}


def _shape_mask(kind: str, yy: np.ndarray, xx: np.ndarray, cy: float, cx: float, r: float) -> np.ndarray:
    if kind == "disc":
        return (yy - cy) ** 2 + (xx - cx) ** 2 <= r**2
    if kind == "square":
        return (np.abs(yy - cy) <= r * 0.85) & (np.abs(xx - cx) <= r * 0.85)
    top = cy - r
    return (yy >= top) & (yy <= cy + r) & (np.abs(xx - cx) <= (yy - top) / 2)


def synthetic_scene(rng: np.random.Generator, size: int = 64) -> np.ndarray:
    """One RGB uint8 scene of shape (size, size, 3)."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    lab = np.zeros((size, size, 3), np.float32)
    horizon = rng.uniform(0.3, 0.65) * size
    sky = yy < horizon
    lab[..., 0] = np.where(sky, 55 + 30 * yy / horizon, rng.uniform(35, 50) + rng.normal(0, 7, (size, size)))
    lab[..., 1] = np.where(sky, SKY[0], GROUND[0])
    lab[..., 2] = np.where(sky, SKY[1], GROUND[1])
    for _ in range(rng.integers(1, 4)):
        kind = rng.choice(list(SHAPES))
        (a, b), (lo, hi) = SHAPES[kind]
        mask = _shape_mask(kind, yy, xx, rng.uniform(0, size), rng.uniform(0, size), rng.uniform(0.08, 0.22) * size)
        lab[mask] = (rng.uniform(lo, hi), a, b)
    lab[..., 0] = np.clip(lab[..., 0], 0, 100)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # a few out-of-gamut pixels are clipped, as intended
        return np.round(lab2rgb(lab) * 255).astype(np.uint8)
