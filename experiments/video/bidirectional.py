"""What a bidirectional pass would bring: the running average along the flow (forward, as colorgan-colorize does) against
a two-sided one (forward and backward passes through the shot, combined as one mean), and against still colours.

    python experiments/video/bidirectional.py CKPT [--clips experiments/video/clips --names vtest,tree,box,cup]

On the film-grain pan of grain_strip.py (320x240, 40 frames, the default render factor), each way's ab before display
and its displayed flicker, over all pixels, over those with L >= 10 and over the near-black rest (where the largest
chroma sRGB can show changes with each frame's grainy L, so the gamut fit moves even a still ab), beside two references
shown the same way: "still colours", every frame showing the same ab in the scene's coordinates (the mean of the model's
predictions along the exact pan: what holding these predictions perfectly still would show), and the truth's ab on the
grainy L. With --clips, the same ways on real clips (the development set: get_clips.sh; each colour clip greyed by the
colour contract, as colorgan-eval data=video does), scored with CDC, E_warp(DIS), CIEDE2000 and colourfulness.

Two-sided: each pass keeps the running average of temporal.stabilise (memory m: the mean of the n frames followed, n at
most 1 / (1 - m)); frame t shows (n_f a_f + n_b a_b - p) / (n_f + n_b - 1), the mean over both passes' frames counting
the frame's own prediction p once. m -> 1 gives the mean over the whole tracked life of each point.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from grain_anatomy import along_the_pan, running
from skimage.color import deltaE_ciede2000, rgb2lab

from colorgan.bench.video import grainy_pan
from colorgan.color import AB_SCALE, L_SCALE, model_to_rgb_in_gamut, rgb_to_model, to_uint8, uint8_to_lightness
from colorgan.inference import Colorizer
from colorgan.metrics import colourfulness
from colorgan.video import temporal
from colorgan.video.data import upright_frames
from colorgan.video.metrics import InputFlow, VideoConsistency

WAYS = {"forward 0.9": ("forward", 0.9), "forward 0.999": ("forward", 0.999), "two-sided 0.9": ("two-sided", 0.9), "two-sided 0.999": ("two-sided", 0.999)}


def two_sided(predicted: list[np.ndarray], moves: list[temporal.Motion], reverse_moves: list[temporal.Motion], memory: float) -> list[np.ndarray]:
    """The forward and the backward running averages combined, each frame's own prediction counted once."""
    forward, forward_counts = running(predicted, moves, memory)
    backward, backward_counts = (x[::-1] for x in running(predicted[::-1], reverse_moves[::-1], memory))
    return [
        (a_f * n_f[..., None] + a_b * n_b[..., None] - p) / (n_f + n_b - 1)[..., None]
        for a_f, n_f, a_b, n_b, p in zip(forward, forward_counts, backward, backward_counts, predicted)
    ]


class Shot:
    """A shot's grey frames, the model's ab at the render size and the flow both ways between its render-size lightness."""

    def __init__(self, colorizer: Colorizer, grey: list[np.ndarray]):
        self.Ls = [uint8_to_lightness(torch.from_numpy(g).permute(2, 0, 1)[None]) for g in grey]
        self.predicted = [ab[0].permute(1, 2, 0).numpy() for ab in colorizer.predict_ab(self.Ls, None, at_render_size=True)]
        size = self.predicted[0].shape[:2]
        lights = list(temporal.lightness_levels(F.interpolate(torch.cat(self.Ls), size=size, mode="bilinear", antialias=True)))
        solver = temporal.dis_flow()
        self.moves = [temporal.motion(solver, a, b) for a, b in zip(lights, lights[1:])]
        self.reverse_moves = [temporal.motion(solver, b, a) for a, b in zip(lights, lights[1:])]  # later -> earlier, with its own trust

    def way(self, name: str) -> list[np.ndarray]:
        kind, memory = WAYS[name]
        return running(self.predicted, self.moves, memory)[0] if kind == "forward" else two_sided(self.predicted, self.moves, self.reverse_moves, memory)

    def full_size(self, abs_: list[np.ndarray]) -> torch.Tensor:
        return F.interpolate(torch.from_numpy(np.stack(abs_)).permute(0, 3, 1, 2).float(), size=self.Ls[0].shape[-2:], mode="bilinear")

    def display(self, abs_: list[np.ndarray] | torch.Tensor) -> torch.Tensor:
        """Frames (T, 3, H, W) uint8 as colorgan-colorize shows them: ab upsampled, fitted to sRGB on each frame's L."""
        full = abs_ if torch.is_tensor(abs_) else self.full_size(abs_)
        return to_uint8(model_to_rgb_in_gamut(torch.cat(self.Ls), full))


def grain(colorizer: Colorizer, count: int = 40, height: int = 240, width: int = 320) -> dict:
    grey, truth = grainy_pan(count, (height, width))
    shot = Shot(colorizer, grey)
    lightness = along_the_pan([(L[0, 0].numpy() + 1) * L_SCALE for L in shot.Ls]).mean(0)
    lit = lightness >= 10

    def flicker(rgb: torch.Tensor) -> dict:
        per_pixel = along_the_pan(list(rgb2lab(rgb.permute(0, 2, 3, 1).numpy() / 255)[..., 1:])).std(0).mean(-1)
        parts = {"all": per_pixel, "L>=10": per_pixel[lit], "L<10": per_pixel[~lit]}
        return {name: round(float(part.mean()), 4) for name, part in parts.items()}

    report = {}
    for name in ("per frame", *WAYS):
        abs_ = shot.predicted if name == "per frame" else shot.way(name)
        rgb = shot.display(abs_)
        ab_flicker = along_the_pan(list(shot.full_size(abs_).permute(0, 2, 3, 1).numpy() * AB_SCALE)).std(0).mean()
        de = np.mean([deltaE_ciede2000(rgb2lab(f / 255), rgb2lab(t / 255)).mean() for f, t in zip(rgb.permute(0, 2, 3, 1).numpy(), truth)])
        report[name] = {"ab before display": round(float(ab_flicker), 4), "displayed": flicker(rgb), "ciede2000": round(float(de), 3)}
    # still colours: the mean of the full-size predictions along the exact pan (frame t shows scene columns t..t+width)
    full = shot.full_size(shot.predicted).permute(0, 2, 3, 1).numpy()
    scene, seen = np.zeros((height, width + count, 2)), np.zeros((height, width + count, 1))
    for t, ab in enumerate(full):
        scene[:, t : t + width] += ab
        seen[:, t : t + width] += 1
    still = np.stack([(scene / np.maximum(seen, 1))[:, t : t + width] for t in range(count)])
    report["still colours"] = {"displayed": flicker(shot.display(torch.from_numpy(still).permute(0, 3, 1, 2).float()))}
    truth_ab = torch.cat([rgb_to_model(torch.from_numpy(t).permute(2, 0, 1)[None].float() / 255)[1] for t in truth])
    report["the truth's ab on the grainy L"] = {"displayed": flicker(shot.display(truth_ab))}
    dark = np.hypot(*np.moveaxis(along_the_pan(list(still)).mean(0)[~lit] * AB_SCALE, -1, 0))
    report["pixels with L < 10"] = {"share": round(float((~lit).mean()), 3), "still colours' chroma": round(float(dark.mean()), 2)}
    return report


def clips(colorizer: Colorizer, root: Path, names: list[str]) -> dict:
    scores: dict[str, list[dict]] = {}
    for name in names:
        truth = [frame.permute(1, 2, 0).numpy() for frame in upright_frames(root / "colour" / f"{name}.mkv")]
        shot = Shot(colorizer, truth)  # greyed by the colour contract: each frame's own L
        input_flow = InputFlow()
        grey = shot.display(torch.zeros(len(truth), 2, *truth[0].shape[:2]))[:, 0].numpy()  # the grey input, as the eval's
        flows = [input_flow.update(np.ascontiguousarray(g)) for g in grey]
        for way in ("per frame", *WAYS):
            rgb = shot.display(shot.predicted if way == "per frame" else shot.way(way))
            frames = list(rgb.permute(0, 2, 3, 1).numpy())
            consistency = VideoConsistency()
            for frame, flow in zip(frames, flows):
                consistency.update(frame, flow)
            de = np.mean([deltaE_ciede2000(rgb2lab(f / 255), rgb2lab(t / 255)).mean() for f, t in zip(frames, truth)])
            scores.setdefault(way, []).append({**consistency.compute(), "ciede2000": float(de), "cf": float(colourfulness(rgb.float() / 255).mean())})
    return {way: {k: round(float(np.mean([s[k] for s in rows])), 6) for k in rows[0]} for way, rows in scores.items()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint")
    p.add_argument("--clips", type=Path, help="what get_clips.sh wrote (its colour/ clips are used)")
    p.add_argument("--names", default="vtest,tree,box,cup", help="clips to score (default: the development set)")
    args = p.parse_args()
    colorizer = Colorizer.from_checkpoint(args.checkpoint, device="cpu")
    report = {"grain pan": grain(colorizer)}
    if args.clips:
        report["clips " + args.names] = clips(colorizer, args.clips, args.names.split(","))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
