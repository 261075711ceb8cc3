"""The colour contract: every model sees normalised L and predicts normalised ab (CIE LAB, D65).

This is the only module that knows the value ranges: L/50 - 1 in [-1, 1] and ab/110.
Conversions are batched kornia ops, always in float32 (also under autocast).
"""

from __future__ import annotations

import functools

import kornia.color
import torch

L_SCALE = 50.0
AB_SCALE = 110.0
CONTRACT_VERSION = 1


def rgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """sRGB in [0, 1], shape (B, 3, H, W) -> CIE LAB in natural units, float32."""
    with torch.autocast(device_type=rgb.device.type, enabled=False):
        return kornia.color.rgb_to_lab(rgb.float().clamp(0, 1))


def lab_to_rgb(lab: torch.Tensor, clip: bool = True) -> torch.Tensor:
    """CIE LAB in natural units, shape (B, 3, H, W) -> sRGB, float32; clipped to [0, 1] unless `clip` is False
    (out-of-gamut values then keep their gradient, e.g. for a loss on RGB)."""
    with torch.autocast(device_type=lab.device.type, enabled=False):
        return kornia.color.lab_to_rgb(lab.float(), clip=clip)


def rgb_to_model(rgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """sRGB batch in [0, 1] -> (L in [-1, 1] of shape (B, 1, H, W), ab/110 of shape (B, 2, H, W))."""
    lab = rgb_to_lab(rgb)
    return lab[:, :1] / L_SCALE - 1.0, lab[:, 1:] / AB_SCALE


def uint8_to_model(batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 sRGB batch (B, 3, H, W), as data loaders deliver it -> (L, ab) in the contract's ranges."""
    return rgb_to_model(batch.float() / 255.0)


@functools.lru_cache(maxsize=1)
def _linear_table() -> torch.Tensor:
    """Linear sRGB of each 8-bit level, computed exactly as kornia's rgb_to_lab computes it."""
    levels = (torch.arange(256, dtype=torch.float32) / 255.0).view(1, 1, 256).expand(3, 1, 256)
    return kornia.color.rgb_to_linear_rgb(levels)[0, 0]


def uint8_to_lightness(batch: torch.Tensor) -> torch.Tensor:
    """uint8 sRGB (B, 3, H, W) -> normalised L (B, 1, H, W), `uint8_to_model`'s L (to float rounding) without
    computing ab: each channel is linearised by a table lookup, and only Y goes on (what a video needs for every frame)."""
    table = _linear_table()
    lin = [table[batch[:, c : c + 1].long()] for c in range(3)]
    y = 0.212671 * lin[0] + 0.715160 * lin[1] + 0.072169 * lin[2]  # the Y row of kornia's rgb_to_xyz; the D65 white has Y = 1
    fy = torch.where(y > 0.008856, y.clamp(min=0.008856).pow(1 / 3.0), 7.787 * y + 4.0 / 29.0)
    return (116.0 * fy - 16.0) / L_SCALE - 1.0


def model_to_rgb(L: torch.Tensor, ab: torch.Tensor, clip: bool = True) -> torch.Tensor:
    """Normalised L and ab -> sRGB in [0, 1] (unclipped where `clip` is False); the image keeps exactly the given L."""
    lab = torch.cat([(L.float() + 1.0) * L_SCALE, ab.float() * AB_SCALE], dim=1)
    return lab_to_rgb(lab, clip)


# linear sRGB from CIE XYZ and the D65 white point (the values kornia's lab_to_rgb uses)
XYZ_TO_LINEAR_RGB = ((3.2404542, -1.5371385, -0.4985314), (-0.9692660, 1.8760108, 0.0415560), (0.0556434, -0.2040259, 1.0572252))
WHITE_D65 = (0.95047, 1.0, 1.08883)


def _f_inverse(f: torch.Tensor) -> torch.Tensor:
    """CIE LAB's inverse companding: f^3 above 6/29, linear below."""
    return torch.where(f > 6 / 29, f * f * f, (3 * (6 / 29) ** 2) * (f - 4 / 29))


def _xyz_to_linear_rgb(x: torch.Tensor, y: torch.Tensor, z: torch.Tensor) -> list[torch.Tensor]:
    return [row[0] * x + row[1] * y + row[2] * z for row in XYZ_TO_LINEAR_RGB]


def _linear_rgb(L: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> list[torch.Tensor]:
    """CIE LAB (natural units, any shape) -> linear sRGB channels R, G, B, unclipped."""
    fy = (L + 16) / 116
    wx, wy, wz = WHITE_D65
    return _xyz_to_linear_rgb(wx * _f_inverse(fy + a / 500), wy * _f_inverse(fy), wz * _f_inverse(fy - b / 200))


def _outside(channels: list[torch.Tensor], tolerance: float = 1e-4) -> torch.Tensor:
    outside = (channels[0] - 0.5).abs_() > 0.5 + tolerance
    for channel in channels[1:]:
        outside |= (channel - 0.5).abs_() > 0.5 + tolerance
    return outside


def _chroma_factor(L: torch.Tensor, a: torch.Tensor, b: torch.Tensor, steps: int) -> torch.Tensor:
    """Per pixel (1-d LAB values outside sRGB), the largest factor in [0, 1] of (a, b) that fits, to 1/2^steps.
    Lightness fixes Y, so only X and Z are recomputed at each bisection step."""
    fy = (L + 16) / 116
    wx, wy, wz = WHITE_D65
    y = wy * _f_inverse(fy)
    lo, hi = torch.zeros_like(a), torch.ones_like(a)
    for _ in range(steps):
        mid = (lo + hi) / 2
        fits = ~_outside(_xyz_to_linear_rgb(wx * _f_inverse(fy + a * mid / 500), y, wz * _f_inverse(fy - b * mid / 200)))
        lo, hi = torch.where(fits, mid, lo), torch.where(fits, hi, mid)
    return lo


def _lab_planes(L: torch.Tensor, ab: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    return (L.float()[:, 0] + 1.0) * L_SCALE, ab.float()[:, 0] * AB_SCALE, ab.float()[:, 1] * AB_SCALE


def fit_to_gamut(L: torch.Tensor, ab: torch.Tensor, steps: int = 10) -> torch.Tensor:
    """Scale down the chroma of pixels whose (L, ab) lies outside sRGB until it fits.

    Clipping RGB instead would change lightness; this keeps L and hue exactly and reduces only
    chroma (bisection on a per-pixel factor, run only on the pixels that need it).
    """
    with torch.autocast(device_type=ab.device.type, enabled=False):
        lightness, a, b = _lab_planes(L, ab)
        outside = _outside(_linear_rgb(lightness, a, b))  # B, H, W
        if not outside.any():
            return ab
        factor = _chroma_factor(lightness[outside], a[outside], b[outside], steps)
        out = ab.float().permute(0, 2, 3, 1).clone()
        out[outside] = out[outside] * factor[:, None]
        return out.permute(0, 3, 1, 2).to(ab.dtype)


def model_to_rgb_in_gamut(L: torch.Tensor, ab: torch.Tensor, steps: int = 8) -> torch.Tensor:
    """Normalised L and ab -> sRGB in [0, 1] with out-of-gamut colours fitted as `fit_to_gamut` does,
    in one pass over the image (what colourising a large photo needs); to 1/256 of the chroma by default,
    finer than 8-bit output shows."""
    with torch.autocast(device_type=ab.device.type, enabled=False):
        lightness, a, b = _lab_planes(L, ab)
        rgb = _linear_rgb(lightness, a, b)
        outside = _outside(rgb)
        if outside.any():
            Lo, ao, bo = lightness[outside], a[outside], b[outside]
            factor = _chroma_factor(Lo, ao, bo, steps)
            for channel, fitted in zip(rgb, _linear_rgb(Lo, ao * factor, bo * factor)):
                channel[outside] = fitted
        linear = torch.stack(rgb, dim=1).clamp(0, 1)
        return torch.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear.pow(1 / 2.4) - 0.055)


def to_uint8(rgb: torch.Tensor) -> torch.Tensor:
    """sRGB in [0, 1] as the uint8 pixels a saved image has (clamped, rounded, not truncated)."""
    return rgb.clamp(0, 1).mul(255).round().to(torch.uint8)
