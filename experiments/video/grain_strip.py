"""Film grain on a still shot: per-frame vs --temporal flow with a checkpoint, a strip and the numbers.

    python experiments/video/grain_strip.py CKPT experiments/video/grain [--frames 40 --width 320 --height 240]

Writes OUT.png (rows grey | per frame | stabilised | truth, frames of the shot across) and OUT.json: the
flicker (temporal standard deviation of ab along the known pan, mean over pixels) and CIEDE2000 against the
truth, for each mode, and the flicker's floor: the truth's own, still ab on the grainy L as 8-bit RGB (what the
lossless outputs store; the grain moves the ab read back from 8-bit RGB, however still the colours are).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import av
import numpy as np
import torch
from PIL import Image
from skimage.color import deltaE_ciede2000, rgb2lab

from colorgan.bench.video import grainy_pan, write_frames
from colorgan.color import model_to_rgb, rgb_to_model, to_uint8
from colorgan.inference import Colorizer


def decoded(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def flicker(frames: list[np.ndarray]) -> float:
    """Temporal std of ab along the motion (the scene moves 1 px left a frame), mean over the pixels seen throughout."""
    count, width = len(frames), frames[0].shape[1]
    return float(np.stack([rgb2lab(f / 255)[:, count - 1 - t : width - t, 1:] for t, f in enumerate(frames)]).std(axis=0).mean())


def _lab_parts(grey: np.ndarray, truth: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """The grey frame's L and the truth's ab, as the colour contract normalises them."""
    L, _ = rgb_to_model(torch.from_numpy(grey).permute(2, 0, 1)[None].float() / 255)
    _, ab = rgb_to_model(torch.from_numpy(truth).permute(2, 0, 1)[None].float() / 255)
    return L, ab


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("checkpoint")
    p.add_argument("out", help="output path without extension")
    p.add_argument("--frames", type=int, default=40)
    p.add_argument("--width", type=int, default=320)
    p.add_argument("--height", type=int, default=240)
    p.add_argument("--render-factor", type=int, default=None)
    p.add_argument("--columns", type=int, default=6)
    p.add_argument("--crf", type=int, default=0, help="the outputs' H.264 quality (0: lossless RGB, so the codec adds nothing to the flicker)")
    args = p.parse_args()
    grey, truth = grainy_pan(args.frames, (args.height, args.width))
    colorizer = Colorizer.from_checkpoint(args.checkpoint, device="cpu")
    rows, numbers = {"grey": grey}, {}
    with tempfile.TemporaryDirectory() as tmp:
        src = write_frames(Path(tmp) / "grain.mkv", grey, crf=0)
        for mode in ("none", "flow"):
            dst = Path(tmp) / mode / "grain.mkv"
            colorizer.colorize_video(src, dst, temporal=mode, render_factor=args.render_factor, crf=args.crf, progress=False)
            frames = decoded(dst)
            rows[mode] = frames
            de = [float(deltaE_ciede2000(rgb2lab(f / 255), rgb2lab(t / 255)).mean()) for f, t in zip(frames, truth)]
            numbers[mode] = {"flicker_ab": round(flicker(frames), 4), "ciede2000": round(float(np.mean(de)), 3)}
        # the floor: the truth's own ab on each grainy frame's L, as 8-bit RGB (what a lossless output stores)
        ideal = [to_uint8(model_to_rgb(*_lab_parts(g, t)))[0].permute(1, 2, 0).numpy() for g, t in zip(grey, truth)]
        numbers["floor_truth_ab_on_grainy_L"] = {"flicker_ab": round(flicker(ideal), 4)}
    rows["truth"] = truth
    numbers["flicker_ratio_flow_over_none"] = round(numbers["flow"]["flicker_ab"] / numbers["none"]["flicker_ab"], 3)
    numbers |= {"frames": args.frames, "size": [args.width, args.height], "grain_sigma_L": 3.0, "checkpoint": args.checkpoint}
    picks = np.linspace(0, args.frames - 1, args.columns).round().astype(int)
    strip = np.concatenate([np.concatenate([rows[name][i] for i in picks], axis=1) for name in ("grey", "none", "flow", "truth")], axis=0)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(strip).save(out.with_suffix(".png"))
    out.with_suffix(".json").write_text(json.dumps(numbers, indent=2) + "\n")
    print(json.dumps(numbers, indent=2))


if __name__ == "__main__":
    main()
