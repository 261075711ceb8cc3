"""Does removing the fixed pattern change the colours' quality? CIEDE2000 and CF (colorgan.metrics) against the truth on
the bundled validation photos (skimage's chelsea and coffee, matplotlib's grace_hopper, whole photos), coloured as
colorgan-colorize colours them at render factors 4 (the demo's training size), 8 and 16, with the render-size ab
smoothed by: nothing (before), the 5-tap [1, 2, 2, 2, 1] / 8 (nulls periods 4 and 2 only) and the library's 9-tap
colorgan.inference.suppress_fixed_pattern (nulls every period dividing 8; after).

    python experiments/fixed_pattern/quality.py CKPT
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable

import matplotlib.cbook
import numpy as np
import skimage.data
import torch
import torch.nn.functional as F

import colorgan.inference
from colorgan.color import model_to_rgb_in_gamut, rgb_to_lab, rgb_to_model
from colorgan.images import load_rgb
from colorgan.inference import Colorizer, suppress_fixed_pattern
from colorgan.metrics import ciede2000, colourfulness


def five_tap(ab: torch.Tensor) -> torch.Tensor:
    """The narrower alternative: separable [1, 2, 2, 2, 1] / 8, edges replicated."""
    kernel = ab.new_tensor([1.0, 2.0, 2.0, 2.0, 1.0]) / 8
    c = ab.shape[1]
    ab = F.conv2d(F.pad(ab, (2, 2, 0, 0), mode="replicate"), kernel.view(1, 1, 1, 5).expand(c, 1, 1, 5), groups=c)
    return F.conv2d(F.pad(ab, (0, 0, 2, 2), mode="replicate"), kernel.view(1, 1, 5, 1).expand(c, 1, 5, 1), groups=c)


SMOOTHING: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {"none": lambda ab: ab, "5-tap": five_tap, "9-tap (library)": suppress_fixed_pattern}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("checkpoint")
    args = parser.parse_args()
    colorizer = Colorizer.from_checkpoint(args.checkpoint, device="cpu")
    photos = [torch.from_numpy(getattr(skimage.data, name)()).permute(2, 0, 1).float() / 255 for name in ("chelsea", "coffee")]
    photos.append(load_rgb(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)))
    results = {}
    for name, smoothing in SMOOTHING.items():
        colorgan.inference.suppress_fixed_pattern = smoothing  # what Colorizer.predict_ab applies
        for factor in (4, 8, 16):
            de, cf = [], []
            for rgb in photos:
                L = rgb_to_model(rgb[None])[0]
                pred = model_to_rgb_in_gamut(L, colorizer.predict_ab([L], factor)[0])
                de.append(float(ciede2000(rgb_to_lab(pred), rgb_to_lab(rgb[None])).mean()))
                cf.append(float(colourfulness(pred)[0]))
            results[f"{name} rf{factor}"] = {"de2000": round(float(np.mean(de)), 3), "cf": round(float(np.mean(cf)), 2)}
            print(name, factor, results[f"{name} rf{factor}"], flush=True)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
