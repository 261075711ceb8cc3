"""User hints (Zhang et al. 2017, "Real-Time User-Guided Image Colorization with Learned Deep Priors").

A hint map is a (B, 3, H, W) tensor at the model's input size: channels 0-1 the hinted ab (normalised as
in the colour contract, 0 where there is no hint) and channel 2 the mask (1 on hinted pixels). Generators
that take hints see L, the hinted ab and the mask minus 1/2 (the reference code centres the mask): see
`generator_input`, `input_channels` and `hints_in_input`, the one place that lays their input out.

Training simulates hints as the reference does: per image a geometric number of square patches
(stop with probability `p` before each, so 1/8 of images get none and colour on their own), each of a
side drawn uniformly from `patch_sizes`, at a location drawn from a normal around the centre (sd a
quarter of the free range, clipped), and each hint is the mean true ab of its patch.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from colorgan.color import AB_SCALE, rgb_to_lab
from colorgan.errors import UserError

HEX = re.compile(r"^#?([0-9a-fA-F]{6})$")


@dataclass(frozen=True)
class Hint:
    """A colour at a point of the photo: x, y in the photo's own pixels (origin top-left), a colour as sRGB
    hex ('#RRGGBB') or natural-unit (a, b), and an optional side in photo pixels (default: one model pixel)."""

    x: float
    y: float
    color: str | tuple[float, float]
    size: float | None = None

    def ab(self) -> tuple[float, float]:
        """The hint's colour as normalised ab (the colour contract's ab / 110)."""
        if isinstance(self.color, str):
            match = HEX.match(self.color.strip())
            if not match:
                raise UserError(f"hint colour {self.color!r} is not a colour: use sRGB hex such as #3060C0")
            rgb = torch.tensor([int(match.group(1)[i : i + 2], 16) / 255 for i in (0, 2, 4)]).view(1, 3, 1, 1)
            a, b = rgb_to_lab(rgb)[0, 1:, 0, 0].tolist()
        else:
            a, b = self.color
        return a / AB_SCALE, b / AB_SCALE


def parse_hint(text: str) -> Hint:
    """'X,Y,#RRGGBB[,SIZE]' (the command line's --hint) -> Hint; one-line error otherwise."""
    parts = [p.strip() for p in text.split(",")]
    try:
        if len(parts) not in (3, 4):
            raise ValueError
        return Hint(float(parts[0]), float(parts[1]), parts[2], float(parts[3]) if len(parts) == 4 else None)
    except ValueError:
        raise UserError(f"--hint {text!r} is not X,Y,#RRGGBB[,SIZE]: e.g. --hint 120,80,#3060C0") from None


def hints_from_json(items: Sequence[dict]) -> list[Hint]:
    """[{x, y, color[, size]}, ...] (the web API's and --hints FILE's form) -> Hints; one-line error otherwise."""
    try:
        return [Hint(float(h["x"]), float(h["y"]), h["color"] if isinstance(h["color"], str) else tuple(h["color"]), h.get("size")) for h in items]
    except (KeyError, TypeError, ValueError):
        raise UserError('hints must be a JSON list of {"x": X, "y": Y, "color": "#RRGGBB"} objects') from None


def empty_hints(batch: int, height: int, width: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """A hint map with no hints."""
    return torch.zeros(batch, 3, height, width, device=device)


def rasterize(hints: Sequence[Hint], photo_shape: tuple[int, int], render_shape: tuple[int, int]) -> torch.Tensor:
    """Hints given in a photo's pixels -> a (1, 3, h, w) hint map at the render size (aspect ratio kept).

    A hint covers the square of its size (default one render pixel) centred on its point; later hints
    overwrite earlier ones where they overlap.
    """
    (H, W), (h, w) = photo_shape, render_shape
    out = empty_hints(1, h, w)
    sy, sx = h / H, w / W
    for hint in hints:
        if not (0 <= hint.x < W and 0 <= hint.y < H):
            raise UserError(f"hint at ({hint.x:g}, {hint.y:g}) is outside the {W}x{H} photo: x, y are pixels from the top-left corner")
        side = min(max(1, round((hint.size or 0) * min(sx, sy))), h, w)
        cy, cx = (hint.y + 0.5) * sy - 0.5, (hint.x + 0.5) * sx - 0.5
        top, left = min(max(0, round(cy - (side - 1) / 2)), h - side), min(max(0, round(cx - (side - 1) / 2)), w - side)
        a, b = hint.ab()
        out[0, 0, top : top + side, left : left + side] = a
        out[0, 1, top : top + side, left : left + side] = b
        out[0, 2, top : top + side, left : left + side] = 1
    return out


@dataclass(frozen=True)
class HintSampler:
    """Zhang et al.'s training hints: see the module docstring. Deterministic for a given torch.Generator."""

    p: float = 0.125
    patch_sizes: Sequence[int] = tuple(range(1, 10))
    max_hints: int = 64

    def patches(self, height: int, width: int, generator: torch.Generator | None = None, count: int | None = None) -> list[tuple[int, int, int]]:
        """(top, left, side) of each hint patch of one image: a geometric number of them, or exactly `count`."""
        out = []
        for _ in range(self.max_hints if count is None else count):
            if count is None and torch.rand((), generator=generator).item() < self.p:
                break
            side = min(int(self.patch_sizes[int(torch.randint(len(self.patch_sizes), (), generator=generator))]), height, width)
            out.append((self._centred(height - side, generator), self._centred(width - side, generator), side))
        return out

    def sample(self, ab: torch.Tensor, generator: torch.Generator | None = None, count: int | None = None) -> torch.Tensor:
        """A hint map for a batch of true ab (B, 2, H, W): patches whose ab is the patch's mean true ab.

        `count` gives every image exactly that many hints instead of a geometric number (evaluation).
        """
        B, _, H, W = ab.shape
        out = empty_hints(B, H, W, ab.device)
        for i in range(B):
            for top, left, side in self.patches(H, W, generator, count):
                patch = ab[i, :, top : top + side, left : left + side]
                out[i, :2, top : top + side, left : left + side] = patch.float().mean(dim=(1, 2), keepdim=True)
                out[i, 2, top : top + side, left : left + side] = 1
        return out

    def points(self, ab: torch.Tensor, count: int, generator: torch.Generator | None = None) -> list[Hint]:
        """`count` hints for one image's true ab (1, 2, H, W) as a user gives them: points in its pixels, each
        with the mean true (a, b) of its patch and the patch's side as its size."""
        hints = []
        for top, left, side in self.patches(*ab.shape[-2:], generator, count):
            a, b = (ab[0, :, top : top + side, left : left + side].float().mean(dim=(1, 2)) * AB_SCALE).tolist()
            hints.append(Hint(left + (side - 1) / 2, top + (side - 1) / 2, (a, b), side))
        return hints

    @staticmethod
    def _centred(free: int, generator: torch.Generator | None) -> int:
        """A start in [0, free], normal around the middle with sd a quarter of the range (the reference's 'normal')."""
        centre = (free + 1) / 2
        value = centre + torch.randn((), generator=generator).item() * (free + 1) / 4
        return int(min(max(value, 0), free))


MASK_CENTRE = 0.5  # subtracted from the mask in a generator's input


def input_channels(hints: bool) -> int:
    """Channels of a generator's input: L (1), and with hints the hinted ab (2) and the mask (1)."""
    return 4 if hints else 1


def generator_input(L: torch.Tensor, hints: torch.Tensor | None) -> torch.Tensor:
    """What a hint-taking generator sees: L, hinted ab and the mask minus 1/2 (no hints: an empty map)."""
    if hints is None:
        hints = empty_hints(L.shape[0], *L.shape[-2:], L.device)
    return torch.cat([L, hints[:, :2].to(L.dtype), hints[:, 2:].to(L.dtype) - MASK_CENTRE], dim=1)


def hints_in_input(x: torch.Tensor) -> torch.Tensor:
    """The hint map a hint-taking generator's input holds (`generator_input`'s inverse for the hints)."""
    return torch.cat([x[:, 1:3], x[:, 3:4] + MASK_CENTRE], dim=1)
