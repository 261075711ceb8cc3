"""Hints on held-out photos, through `colorgan-colorize --hints` as a user gives them, against no-learning baselines.

The grey input is each photo's own CIE lightness (ab = 0), so that every method keeps the true L. For each
photo and each hint count, the hints are the first N of a fixed list of random points (seeded per
photo), each with the mean sRGB colour of the 5x5 patch around it (as hex, what a user picks) and a size of
5 photo pixels. The model colours the photo's grey version through the command line; the baselines (nearest
hint, inverse-distance weighting, Levin et al. 2004) get the same hints as 5x5 patches at the photo's full
resolution, and their colours are fitted into the sRGB gamut as the Colorizer's are. Reported: mean CIEDE2000
against the true colours over the photos.

    python experiments/hints/heldout_hints.py CKPT PHOTOS_DIR --out experiments/hints/results.json
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from colorgan.color import fit_to_gamut, model_to_rgb, rgb_to_lab, rgb_to_model
from colorgan.hints import Hint, rasterize
from colorgan.images import load_rgb
from colorgan.io import write_json_atomic
from colorgan.metrics import ciede2000
from colorgan.propagation import METHODS, propagate

PATCH = 5


def hint_list(rgb: np.ndarray, count: int, seed: int) -> list[dict]:
    """`count` hints at random points, each the mean colour of the 5x5 patch around it."""
    rng = np.random.default_rng(seed)
    h, w, _ = rgb.shape
    hints = []
    for _ in range(count):
        y, x = int(rng.integers(PATCH // 2, h - PATCH // 2)), int(rng.integers(PATCH // 2, w - PATCH // 2))
        mean = rgb[y - PATCH // 2 : y + PATCH // 2 + 1, x - PATCH // 2 : x + PATCH // 2 + 1].reshape(-1, 3).mean(0)
        hints.append({"x": x, "y": y, "color": "#" + "".join(f"{round(float(c)):02x}" for c in mean), "size": PATCH})
    return hints


def de2000(L: torch.Tensor, ab: torch.Tensor, true_lab: torch.Tensor) -> float:
    return float(ciede2000(rgb_to_lab(model_to_rgb(L, fit_to_gamut(L, ab))), true_lab).mean())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("checkpoint")
    p.add_argument("photos")
    p.add_argument("--counts", type=int, nargs="+", default=[0, 1, 5, 10, 20])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True)
    args = p.parse_args()
    photos = sorted(Path(args.photos).glob("*.png"))
    work = Path(tempfile.mkdtemp())
    (work / "grey").mkdir()
    truths, hints = {}, {}
    for i, path in enumerate(photos):
        rgb = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32)
        truths[path.name] = rgb
        L, _ = rgb_to_model(torch.from_numpy(rgb / 255).permute(2, 0, 1)[None].float())
        grey = model_to_rgb(L, torch.zeros(1, 2, *L.shape[-2:]))[0, 0]  # the photo's own CIE lightness, as a grey image
        Image.fromarray((grey * 255).round().byte().numpy()).save(work / "grey" / path.name)
        hints[path.name] = hint_list(rgb, max(args.counts), args.seed * 1000 + i)
    rows = {name: {} for name in ["model", "grey", *METHODS]}
    colorize = Path(sys.executable).parent / "colorgan-colorize"
    for count in args.counts:
        table = {name: h[:count] for name, h in hints.items()}
        (work / f"hints_{count}.json").write_text(json.dumps(table))
        out = work / f"out_{count}"
        cmd = [str(colorize), args.checkpoint, str(work / "grey"), "-o", str(out)] + (["--hints", str(work / f"hints_{count}.json")] if count else [])
        subprocess.run(cmd, check=True, capture_output=True)
        scores = {name: [] for name in rows}
        for name, rgb in truths.items():
            true = torch.from_numpy(rgb / 255).permute(2, 0, 1)[None].float()
            L, _ = rgb_to_model(true)
            true_lab = rgb_to_lab(true)
            coloured = load_rgb(out / name)[None]
            scores["model"].append(float(ciede2000(rgb_to_lab(coloured), true_lab).mean()))
            scores["grey"].append(de2000(L, torch.zeros(1, 2, *L.shape[-2:]), true_lab))
            hint_map = rasterize([Hint(**h) for h in table[name]], tuple(L.shape[-2:]), tuple(L.shape[-2:]))
            for method in METHODS:
                scores[method].append(de2000(L, propagate(method, L, hint_map), true_lab))
        for name, values in scores.items():
            rows[name][count] = round(float(np.mean(values)), 3)
        print(count, {k: v[count] for k, v in rows.items()}, flush=True)
    record = {"checkpoint": args.checkpoint, "photos": [p.name for p in photos], "patch": PATCH, "seed": args.seed, "mean_ciede2000": rows}
    write_json_atomic(Path(args.out), record)


if __name__ == "__main__":
    main()
