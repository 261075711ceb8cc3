"""Fixed pattern in the colours (issue 21, item 9): how strongly the predicted ab repeats every 4 (or 8) render pixels,
as the network gives it ("before") and after colorgan.inference.suppress_fixed_pattern ("after", what colorgan-colorize
now does).

    python experiments/fixed_pattern/measure.py CKPT --out experiments/fixed_pattern [--factors 4 8 16 24 32]

For skimage.data's coffee and chelsea, and a flat grey picture, at each render factor: the network's ab at the render
size (what colorgan-colorize feeds the network, padding cropped), its 2-D spectrum (mean removed, Hann window,
|a| + |b|), and peak_ratio = the strongest component at the grid frequencies of the period (multiples of 1/period
cycle per pixel in x and y, DC excluded) over the strongest component elsewhere at periods of 8 pixels or less (the
photo's own fine chroma). Above 1: a grid stands out of the picture. Writes results.json and, per photo,
ab_x6_<photo>.png: the ab at render factor 16 on a flat L = 60, amplified 6x, a 96 x 96 crop enlarged 3x, before | after.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import skimage.data
import torch
from PIL import Image

from colorgan.color import AB_SCALE, model_to_rgb, rgb_to_model
from colorgan.inference import Colorizer, suppress_fixed_pattern
from colorgan.io import atomic_path, write_json_atomic

PERIODS = (4, 8)


def spectrum(ab: torch.Tensor) -> np.ndarray:
    """|FFT| of ab (2, H, W) with the mean removed and a Hann window, summed over a and b, fftshifted."""
    a = ab.double() - ab.double().mean((1, 2), keepdim=True)
    h, w = a.shape[-2:]
    window = torch.outer(torch.hann_window(h, periodic=False, dtype=torch.double), torch.hann_window(w, periodic=False, dtype=torch.double))
    return np.fft.fftshift(torch.fft.fft2(a * window).abs().sum(0).numpy())


def _near_grid(f: np.ndarray, n: int, period: int) -> np.ndarray:
    """Frequencies within 1.5 bins (Hann leakage) of a multiple of 1/period."""
    return np.min([np.abs(f - k / period) for k in range(-period // 2, period // 2 + 1)], axis=0) <= 1.5 / n


def peak_ratio(ab: torch.Tensor, period: int) -> float:
    """Strongest grid component of the period over the strongest other component at periods <= 8 px (module docstring)."""
    magnitude = spectrum(ab)
    h, w = magnitude.shape
    fy = np.fft.fftshift(np.fft.fftfreq(h))[:, None]
    fx = np.fft.fftshift(np.fft.fftfreq(w))[None, :]
    grid = _near_grid(fy, h, period) & _near_grid(fx, w, period) & ~((np.abs(fy) <= 1.5 / h) & (np.abs(fx) <= 1.5 / w))
    fine = np.maximum(np.abs(fy), np.abs(fx)) >= 1 / 8
    return float(magnitude[grid].max() / magnitude[fine & ~grid].max())


def render_ab(colorizer: Colorizer, L: torch.Tensor, factor: int) -> torch.Tensor:
    """The network's ab (2, h, w) at the render size for this factor, before upsampling to the photo."""
    x, hints, (h, w) = colorizer._model_input(L, factor, None)
    with torch.no_grad():
        return colorizer.model(x.to(colorizer.device), hints)[0, :, :h, :w].float().cpu()


def amplified(ab: torch.Tensor, crop: int = 96, zoom: int = 3) -> Image.Image:
    """ab (2, h, w) x 6 on a flat L = 60, the centre crop enlarged with nearest neighbours."""
    h, w = ab.shape[-2:]
    y, x = (h - crop) // 2, (w - crop) // 2
    part = (ab[:, y : y + crop, x : x + crop] * 6).clamp(-1, 1)
    L = torch.full((1, 1, crop, crop), 60 / 50 - 1)
    rgb = model_to_rgb(L, part[None])[0]
    image = Image.fromarray((rgb.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8))
    return image.resize((crop * zoom, crop * zoom), Image.Resampling.NEAREST)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent)
    parser.add_argument("--factors", type=int, nargs="+", default=[4, 8, 16, 24, 32])
    parser.add_argument("--tag", default="")
    args = parser.parse_args()
    colorizer = Colorizer.from_checkpoint(args.checkpoint, device="cpu")
    results: dict = {"checkpoint": str(args.checkpoint), "peak_ratio": {}, "chroma": {}}
    pictures = {name: torch.from_numpy(getattr(skimage.data, name)()).permute(2, 0, 1).float() / 255 for name in ("coffee", "chelsea")}
    pictures["flat grey"] = torch.full((3, 300, 400), 0.5)
    for photo, rgb in pictures.items():
        L = rgb_to_model(rgb[None])[0]
        for factor in args.factors:
            before = render_ab(colorizer, L, factor)
            after = suppress_fixed_pattern(before[None])[0]
            for name, ab in (("before", before), ("after", after)):
                for period in PERIODS:
                    results["peak_ratio"].setdefault(f"period {period}, {name}", {})[f"{photo}@{factor}"] = round(peak_ratio(ab, period), 2)
                results["chroma"].setdefault(name, {})[f"{photo}@{factor}"] = round(float(ab.norm(dim=0).mean() * AB_SCALE), 2)
            if factor == 16 and photo != "flat grey":
                tiles = [amplified(before), amplified(after)]
                sheet = Image.new("RGB", (tiles[0].width * 2 + 8, tiles[0].height), "white")
                sheet.paste(tiles[0], (0, 0))
                sheet.paste(tiles[1], (tiles[0].width + 8, 0))
                args.out.mkdir(parents=True, exist_ok=True)
                with atomic_path(args.out / f"ab_x6_{photo}{args.tag}.png") as tmp:
                    sheet.save(tmp, format="PNG")
    write_json_atomic(args.out / f"results{args.tag}.json", results)
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
