"""Issue 21.9: no fixed pattern in the colours. The U-Net's transposed convolutions leave a grid with periods of 2, 4
and 8 render pixels in the ab they predict, whatever the picture; colorgan-colorize's ab must not carry it."""

from __future__ import annotations

import torch

from colorgan.inference import Colorizer


def grid_magnitude(ab: torch.Tensor, period: int) -> float:
    """ab (2, H, W): the strongest component of its spectrum (mean removed, Hann window, |a| + |b|) at the multiples of
    1/period cycle per pixel in x and y, DC excluded."""
    h, w = ab.shape[-2:]
    window = torch.outer(torch.hann_window(h, periodic=False, dtype=torch.double), torch.hann_window(w, periodic=False, dtype=torch.double))
    magnitude = torch.fft.fft2((ab.double() - ab.double().mean((1, 2), keepdim=True)) * window).abs().sum(0)
    grid = magnitude[:: h // period, :: w // period].clone()
    grid[0, 0] = 0
    return float(grid.max())


def test_a_flat_grey_picture_gets_no_grid_at_any_render_factor(tiny_checkpoint):
    colorizer = Colorizer.from_checkpoint(tiny_checkpoint, device="cpu")
    for factor in (4, 8, 16):  # 2 to 8 times its training size (32 px)
        side = 16 * factor  # the render size: no resampling between the network and the output
        L = torch.zeros(1, 1, side, side)
        with torch.no_grad():
            raw = colorizer.model(colorizer._model_input(L, factor, None)[0], None)[0, :, :side, :side]
        ours = colorizer.predict_ab([L], factor)[0][0]
        for period in (4, 8):
            before, after = grid_magnitude(raw, period), grid_magnitude(ours, period)
            assert before > 0.005 * side, (factor, period)  # the network alone paints a grid on a flat picture (0.018-0.07 x side)
            assert after < 0.05 * before, (factor, period, after / before)  # measured: under 0.001 here, 0.002-0.015 with the demo
