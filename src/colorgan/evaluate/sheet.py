"""The contact sheet of an evaluation: a row per photo (or video), grey input | each colouriser | truth."""

from __future__ import annotations

import torch
from torchvision.utils import make_grid

TILE = 128  # pixels per side of a sheet tile


def square_tile(image: torch.Tensor, size: int = TILE) -> torch.Tensor:
    """A sheet tile: the centre square of an image (3, H, W), resized to `size`."""
    h, w = image.shape[-2:]
    side = min(h, w)
    crop = image[:, (h - side) // 2 : (h - side) // 2 + side, (w - side) // 2 : (w - side) // 2 + side]
    return torch.nn.functional.interpolate(crop[None].float(), size=(size, size), mode="bilinear", antialias=True, align_corners=False)[0]


def contact_sheet(tiles: list[torch.Tensor], columns: int) -> torch.Tensor | None:
    """The tiles, `columns` to a row, on white; None without tiles."""
    return make_grid(tiles, nrow=columns, padding=2, pad_value=1.0) if tiles else None
