"""What the film-grain flicker is made of: the model's ab along a slow pan, at the render size, with and without grain,
per frame and stabilised along the flow (DIS, or the exact 1 px a frame), before any display or encoding.

    python experiments/video/grain_anatomy.py CKPT [--width 256 --height 192 --render-factor 16 --frames 40]

At render factor 16 a 256-wide frame is rendered at its own size, so the pan moves the scene exactly 1 render pixel a
frame. Prints, for each case, the temporal standard deviation of ab along the pan (the flicker measure of
grain_strip.py) and the root-mean-square change of ab from one frame to the next, both in natural ab units.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch

from colorgan.bench.video import grainy_pan
from colorgan.color import AB_SCALE, uint8_to_lightness
from colorgan.inference import Colorizer
from colorgan.video import temporal


def along_the_pan(frames: list[np.ndarray]) -> np.ndarray:
    count, width = len(frames), frames[0].shape[1]
    return np.stack([f[:, count - 1 - t : width - t] for t, f in enumerate(frames)])


def measures(frames: list[np.ndarray]) -> dict:
    aligned = along_the_pan([f * AB_SCALE for f in frames])
    return {"flicker": round(float(aligned.std(0).mean()), 3), "frame_to_frame": round(float(np.sqrt(np.square(np.diff(aligned, axis=0)).mean())), 3)}


def exact_pan(previous: np.ndarray, current: np.ndarray) -> temporal.Motion:
    """The pan's own motion: each pixel was 1 px to its right in the previous frame (the new right column is not trusted)."""
    backward = np.zeros((*current.shape, 2), np.float32)
    backward[..., 0] = 1
    trusted = np.ones(current.shape, bool)
    trusted[:, -1] = False
    return temporal.Motion(backward, -backward, trusted, previous, current, max_levels=12 * 2.55)


def running(predicted: list[np.ndarray], moves: list[temporal.Motion], memory: float) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The running average of temporal.stabilise through a shot (moves: from each frame to the next), and each frame's count."""
    out, counts = [predicted[0]], [np.ones(predicted[0].shape[:2], np.float32)]
    for move, ab in zip(moves, predicted[1:]):
        stable, count = temporal.stabilise(out[-1], counts[-1], move, ab, memory)
        out.append(stable)
        counts.append(count)
    return out, counts


def stabilised(predicted: list[np.ndarray], lights: list[np.ndarray], flow: str) -> list[np.ndarray]:
    solver = temporal.dis_flow()
    pairs = zip(lights, lights[1:])
    moves = [temporal.motion(solver, a, b) if flow == "dis" else exact_pan(a, b) for a, b in pairs]
    return running(predicted, moves, memory=0.9)[0]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("checkpoint")
    p.add_argument("--width", type=int, default=256)
    p.add_argument("--height", type=int, default=192)
    p.add_argument("--render-factor", type=int, default=16)
    p.add_argument("--frames", type=int, default=40)
    args = p.parse_args()
    colorizer = Colorizer.from_checkpoint(args.checkpoint, device="cpu")
    report = {}
    for sigma in (3.0, 0.0):
        grey, _ = grainy_pan(args.frames, (args.height, args.width), sigma=sigma)
        Ls = [uint8_to_lightness(torch.from_numpy(g).permute(2, 0, 1)[None]) for g in grey]
        predicted = [ab[0].permute(1, 2, 0).numpy() for ab in colorizer.predict_ab(Ls, args.render_factor, at_render_size=True)]
        if predicted[0].shape[:2] != (args.height, args.width):
            raise SystemExit("choose --width and --render-factor so that the render is the frame (16 x render factor = width)")
        lights = list(temporal.lightness_levels(torch.cat(Ls)))
        report[f"grain sigma {sigma:g}"] = {
            "per frame": measures(predicted),
            "flow (DIS)": measures(stabilised(predicted, lights, "dis")),
            "flow (the exact pan)": measures(stabilised(predicted, lights, "exact")),
        }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
