"""colorgan-eval data=video: colourisers scored on folders of colour videos. Every frame is coloured from its own L and
scored against the truth as photos are (colorgan.evaluate.scoring's Row: PSNR, SSIM, LPIPS, CIEDE2000, colourfulness, |dCF|,
FID over all frames), and every video gets the temporal measures CDC and E_warp(DIS) (colorgan.video.metrics), for each
model, for the grey baseline and for the true video itself. A washed-out result scores well on both temporal
measures, so colourfulness and CIEDE2000 stand beside them in the same table.

Frames stream: each video is decoded once, every model colours it `batch_size` frames at a time, and only the current
frame, the previous one and the frames' histograms are kept.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import islice, tee
from pathlib import Path
from typing import Any

import numpy as np
import torch

from colorgan.color import model_to_rgb, model_to_rgb_in_gamut, rgb_to_model, to_uint8
from colorgan.errors import UserError
from colorgan.evaluate.metric_weights import fid_info, fid_record, lpips_info
from colorgan.evaluate.scoring import COLUMNS, GREY, Row
from colorgan.evaluate.sheet import contact_sheet, square_tile
from colorgan.inference import Colorizer
from colorgan.models.base import ColorizationModule
from colorgan.video.data import VideoFolder
from colorgan.video.metrics import InputFlow, VideoConsistency

VIDEO_COLUMNS = (*COLUMNS, "cdc", "ewarp_dis")
TRUTH = "truth (the colour video)"
TEMPORAL_NOTES = [
    "CDC: TCVC's colour distribution consistency (JS divergence of per-channel 256-bin histograms between frames t and t+1, t+2, t+4, weighted 1/3 each), mean over videos; lower is steadier.",
    "E_warp(DIS): Lai et al.'s warp error (frame t warped onto t-1, squared RGB error in [0, 1] over non-occluded pixels) with OpenCV DIS flow (preset medium) on the grey input, not FlowNet2: not comparable with published E_warp tables.",
    "Frame metrics are means over all frames of all videos; a washed-out colouring scores well on CDC and E_warp, so read them beside CF and CIEDE2000.",
]


def colour_frames(colorizer: Colorizer, Ls: Iterable[torch.Tensor], batch_size: int = 8) -> Iterator[torch.Tensor]:
    """Colour a stream of frames: normalised L (1, 1, H, W) each -> sRGB (1, 3, H, W) in [0, 1], each frame on its own as
    colorgan-colorize colours a photo (render at the model's size, ab upsampled onto the frame's L, gamut fit),
    `batch_size` frames per model call. Per-frame colouring; the film pipeline's temporal mode replaces this."""
    frames = iter(Ls)
    while batch := list(islice(frames, batch_size)):
        for L, ab in zip(batch, colorizer.predict_ab(batch, batch_size=batch_size)):
            yield model_to_rgb_in_gamut(L, ab)


def _truth_and_luminance(frames: Iterable[torch.Tensor]) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    for frame in frames:
        true = frame[None].float() / 255
        yield true, rgb_to_model(true)[0]


def _pixels(rgb: torch.Tensor) -> np.ndarray:
    """sRGB (1, 3, H, W) in [0, 1] -> the uint8 (H, W, 3) a saved frame has."""
    return to_uint8(rgb[0]).permute(1, 2, 0).cpu().numpy()


def score_video(
    folder: VideoFolder, video: Path, colorizers: dict[str, Colorizer], rows: dict[str, Row], device: torch.device, batch_size: int
) -> tuple[dict, list]:
    """Score one video of `folder`: every row's frame metrics (updated in `rows`) and its temporal measures, with the
    true video's; returns ({"frames": n, row: {"cdc", "ewarp_dis"}, ...}, the first frame's images: grey, each model, truth)."""
    streams = tee(_truth_and_luminance(folder.frames(video)), 1 + len(colorizers))
    outputs = [colour_frames(colorizer, (L for _, L in stream), batch_size) for colorizer, stream in zip(colorizers.values(), streams[1:])]
    flows = InputFlow()
    consistency = {row: VideoConsistency() for row in (*rows, TRUTH)}
    count, first = 0, []
    for (true, L), *preds in zip(streams[0], *outputs):
        grey = model_to_rgb(L, L.new_zeros(1, 2, *L.shape[-2:]))
        flow = flows.update(_pixels(grey)[..., 0])  # on the input, as Lai et al.: the grey frame
        consistency[TRUTH].update(_pixels(true), flow)
        for row, pred in zip(rows, (grey, *preds)):
            rows[row].update(pred.to(device), true.to(device))
            consistency[row].update(_pixels(pred), flow)
        first = first or [grey, *preds, true]
        count += 1
    try:
        return {"frames": count} | {row: c.compute() for row, c in consistency.items()}, first
    except UserError as exc:  # too short for CDC
        raise UserError(f"{video}: {exc}") from None


def temporal_means(videos: dict[str, dict[str, Any]], row: str) -> dict[str, float]:
    """A row's CDC and E_warp(DIS), means over the videos."""
    return {key: float(np.mean([v[row][key] for v in videos.values()])) for key in ("cdc", "ewarp_dis")}


@torch.no_grad()
def evaluate_videos(
    models: dict[str, ColorizationModule],
    folder: VideoFolder,
    device: torch.device,
    hints: Sequence[int] = (0,),
    protocol: str = "photo",
    fid_weights: str | None = None,
    lpips_weights: str | None = None,
    sheet_size: int = 6,
    batch_size: int = 8,
) -> dict[str, Any]:
    """Score every model on every video of `folder`, beside the grey baseline and the true video's own temporal measures.

    Returns what colorgan.evaluate.scoring.evaluate returns (rows, images = frames scored, fid, lpips, sheet: the first
    frame of the first `sheet_size` videos as grey | each model | truth) plus "columns", "videos" (per video: frames, and
    each row's cdc and ewarp_dis) and "notes" (what the temporal measures are).
    """
    if list(hints) != [0] or protocol != "photo":
        raise UserError("data=video scores automatic colour as colorgan-colorize gives it: leave hints=[0] and protocol=photo")
    colorizers = {name: Colorizer(model) for name, model in models.items()}
    fid, lpips = fid_info(fid_weights), lpips_info(lpips_weights)
    rows = {name: Row(name, device, fid, lpips) for name in (GREY, *models)}
    videos: dict[str, dict[str, Any]] = {}
    tiles: list[torch.Tensor] = []
    for video in folder.videos:
        videos[folder.name(video)], first = score_video(folder, video, colorizers, rows, device, batch_size)
        if first and len(tiles) < sheet_size * (len(models) + 2):
            tiles += [square_tile(image[0]) for image in first]
    images = int(rows[GREY].colour.count)
    colour = rows[GREY].colour
    truth = {key: None for key in COLUMNS} | {"cf": float(colour.cf_true / colour.count)}
    table = [rows[row].compute() | temporal_means(videos, row) for row in rows] + [{"model": TRUTH} | truth | temporal_means(videos, TRUTH)]
    return {
        "rows": table,
        "columns": VIDEO_COLUMNS,
        "images": images,
        "videos": videos,
        "protocol": protocol,
        "hints": [0],
        "fid": fid_record(fid, images),
        "lpips": lpips,
        "notes": TEMPORAL_NOTES,
        "sheet": contact_sheet(tiles, len(models) + 2),
    }
