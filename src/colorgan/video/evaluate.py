"""colorgan-eval data=video: colourisers scored on folders of colour videos. Every frame is coloured from its own L and
scored against the truth as photos are (colorgan.evaluate's Row: PSNR, SSIM, LPIPS, CIEDE2000, colourfulness, |dCF|,
FID over all frames), and every video gets the temporal measures CDC and E_warp(DIS) (colorgan.video.metrics), for each
model, for the grey baseline and for the true video itself. A washed-out result scores well on both temporal
measures, so colourfulness and CIEDE2000 stand beside them in the same table.

Frames stream: each video is decoded once, every model colours it `batch_size` frames at a time, and only the current
frame, the previous one and the frames' histograms are kept.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import islice, tee
from typing import Any

import numpy as np
import torch
from torchvision.utils import make_grid

from colorgan.color import model_to_rgb, model_to_rgb_in_gamut, rgb_to_model, to_uint8
from colorgan.errors import UserError
from colorgan.evaluate import COLUMNS, Row, _square, fid_info, fid_record, lpips_info
from colorgan.inference import Colorizer
from colorgan.models.base import ColorizationModule
from colorgan.video.data import VideoFolder
from colorgan.video.metrics import InputFlow, VideoConsistency

VIDEO_COLUMNS = (*COLUMNS, "cdc", "ewarp_dis")
GREY, TRUTH = "grey (ab = 0)", "truth (the colour video)"
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

    Returns what colorgan.evaluate.evaluate returns (rows, images = frames scored, fid, lpips, sheet: the first frame of
    the first `sheet_size` videos as grey | each model | truth) plus "columns", "videos" (per video: frames, and each
    row's cdc and ewarp_dis) and "notes" (what the temporal measures are).
    """
    if list(hints) != [0] or protocol != "photo":
        raise UserError("data=video scores automatic colour as colorgan-colorize gives it: leave hints=[0] and protocol=photo")
    colorizers = {name: Colorizer(model) for name, model in models.items()}
    fid, lpips = fid_info(fid_weights), lpips_info(lpips_weights)
    rows = {name: Row(name, device, fid, lpips) for name in (GREY, *models)}
    videos: dict[str, dict[str, Any]] = {}
    tiles: list[torch.Tensor] = []
    for video in folder.videos:
        name = folder.name(video)
        streams = tee(_truth_and_luminance(folder.frames(video)), 1 + len(models))
        outputs = [colour_frames(colorizers[m], (L for _, L in stream), batch_size) for m, stream in zip(models, streams[1:])]
        flows = InputFlow()
        consistency = {row: VideoConsistency() for row in (GREY, *models, TRUTH)}
        frames = 0
        for (true, L), *preds in zip(streams[0], *outputs):
            grey = model_to_rgb(L, L.new_zeros(1, 2, *L.shape[-2:]))
            flow = flows.update(_pixels(grey)[..., 0])  # on the input, as Lai et al.: the grey frame
            consistency[TRUTH].update(_pixels(true), flow)
            for row, pred in zip((GREY, *models), (grey, *preds)):
                rows[row].update(pred.to(device), true.to(device))
                consistency[row].update(_pixels(pred), flow)
            if frames == 0 and len(tiles) < sheet_size * (len(models) + 2):
                tiles += [_square(image[0], 128) for image in (grey, *preds, true)]
            frames += 1
        try:
            videos[name] = {"frames": frames} | {row: c.compute() for row, c in consistency.items()}
        except UserError as exc:
            raise UserError(f"{video}: {exc}") from None
    images = int(rows[GREY].colour.count)
    table = []
    for row in (GREY, *models):
        temporal = {key: float(np.mean([v[row][key] for v in videos.values()])) for key in ("cdc", "ewarp_dis")}
        table.append(rows[row].compute() | temporal)
    colour = rows[GREY].colour
    truth = {key: None for key in COLUMNS} | {"cf": float(colour.cf_true / colour.count)}
    table.append({"model": TRUTH} | truth | {key: float(np.mean([v[TRUTH][key] for v in videos.values()])) for key in ("cdc", "ewarp_dis")})
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
        "sheet": make_grid(tiles, nrow=len(models) + 2, padding=2, pad_value=1.0) if tiles else None,
    }
