"""Mixed footage: tell frames already in colour (a colour insert in a black-and-white film) from grey or tinted
ones, by the same colour statistics that `colorgan-prep` uses to keep only photos that can teach colour."""

from __future__ import annotations

import numpy as np
from PIL import Image

from colorgan.data.prep import PrepOptions, colour_statistics

THUMBNAIL = 64


def is_colour_frame(rgb: np.ndarray, opts: PrepOptions = PrepOptions()) -> bool:
    """True for a frame (H, W, 3) uint8 in real colour; False for grey, sepia, one-ink tints and colour casts."""
    thumb = np.asarray(Image.fromarray(rgb).resize((THUMBNAIL, THUMBNAIL), Image.Resampling.BILINEAR), dtype=np.float32) / 255.0
    chroma, independent, cross = colour_statistics(thumb)
    return chroma >= opts.min_chroma and (independent >= opts.min_independent_chroma or cross >= opts.min_cross_spread)
