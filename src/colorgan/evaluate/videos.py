"""colorgan-eval data=video: colourisers scored on folders of colour videos. Every video is coloured as
colorgan-colorize colours it (the film pipeline, colorgan.video: shot by shot, each frame's own L, stabilised along the
flow or each frame on its own: `temporal`, a row per mode), and every frame is scored against the truth as photos are
(colorgan.evaluate.scoring's Row: PSNR, SSIM, LPIPS, CIEDE2000, colourfulness, |dCF|, FID over all frames); every video
gets the temporal measures CDC and E_warp(DIS) (colorgan.video.metrics), for each row, the grey baseline and the true
video itself. A washed-out result scores well on both temporal measures, so colourfulness and CIEDE2000 stand beside
them in the same table.

With hint counts above 0, each shot gets that many hints on its first frame (each the 5x5 mean true colour at a
random point, seeded), which the film pipeline carries along the flow to the end of the shot; the baseline row is
inverse-distance weighting of the same hints at the positions the pipeline tracked them to, in every frame.

Frames stream: each video is decoded once for its cuts and once for its frames, `batch_size` frames at a time; only
the current batch, the previous frame and the frames' histograms are kept.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from colorgan.color import model_to_rgb, model_to_rgb_in_gamut, rgb_to_model, to_uint8
from colorgan.errors import UserError
from colorgan.evaluate.metric_weights import fid_info, fid_record, lpips_info
from colorgan.evaluate.scoring import COLUMNS, GREY, Row, row_name
from colorgan.evaluate.sheet import contact_sheet, square_tile
from colorgan.hints import Hint, HintSampler, rasterize
from colorgan.inference import Colorizer
from colorgan.models.base import ColorizationModule
from colorgan.propagation import propagate
from colorgan.video.data import VideoFolder
from colorgan.video.io import probe
from colorgan.video.job import SegmentColourer, VideoOptions
from colorgan.video.metrics import CDC_GAPS, InputFlow, VideoConsistency
from colorgan.video.shots import scan
from colorgan.video.temporal import TEMPORAL_MODES

VIDEO_COLUMNS = (*COLUMNS, "cdc", "ewarp_dis")
TRUTH = "truth (the colour video)"
MODE_NAMES = {"none": "per frame", "flow": "flow"}
SHOT_HINTS = HintSampler(patch_sizes=(5,))  # 5x5 patches, at points normal around the frame's centre
TEMPORAL_NOTES = [
    "CDC: TCVC's colour distribution consistency (JS divergence of per-channel 256-bin histograms between frames t and t+1, t+2, t+4, weighted 1/3 each), mean over videos; lower is steadier.",
    "E_warp(DIS): Lai et al.'s warp error (frame t warped onto t-1, squared RGB error in [0, 1] over non-occluded pixels) with OpenCV DIS flow (preset medium) on the grey input, not FlowNet2: not comparable with published E_warp tables.",
    "Frame metrics are means over all frames of all videos; a washed-out colouring scores well on CDC and E_warp, so read them beside CF and CIEDE2000.",
    "Videos are coloured shot by shot as colorgan-colorize colours them: 'flow' stabilised along the flow, 'per frame' each frame on its own.",
]


@dataclass
class Entrant:
    """One row's colouring of the videos: a model under one temporal mode, given one number of hints per shot."""

    row: str
    colorizer: Colorizer
    temporal: str
    hints: int
    colourer: SegmentColourer | None = None


def entrants(colorizers: dict[str, Colorizer], modes: Sequence[str], counts: list[int]) -> list[Entrant]:
    """Every (model, temporal mode, hint count) row; hint counts above 0 only for models that take hints."""
    rows = []
    for name, colorizer in colorizers.items():
        for mode in modes:
            base = name if len(modes) == 1 else f"{name}, {MODE_NAMES[mode]}"
            rows += [Entrant(row_name(base, n, counts), colorizer, mode, n) for n in counts if n == 0 or colorizer.model.contract.hints]
    return rows


def baseline_rows(players: list[Entrant], counts: list[int]) -> dict[int, Entrant]:
    """Per hint count above 0, the entrant whose tracked hints the inverse-distance baseline uses (the first given them)."""
    return {n: next(e for e in players if e.hints == n) for n in counts if n and any(e.hints == n for e in players)}


def idw_name(count: int, counts: list[int]) -> str:
    return row_name("idw (tracked hints)", count, counts)


def shot_batches(frames: Iterator[torch.Tensor], cuts: set[int], batch_size: int) -> Iterator[tuple[bool, list[tuple[int, torch.Tensor]]]]:
    """(starts a shot, [(index, frame), ...]): consecutive frames in batches that never cross a cut."""
    batch: list[tuple[int, torch.Tensor]] = []
    starts = True
    for index, frame in enumerate(frames):
        if batch and (index in cuts or len(batch) == batch_size):
            yield starts, batch
            starts, batch = index in cuts, []
        batch.append((index, frame))
    if batch:
        yield starts, batch


def _pixels(rgb: torch.Tensor) -> np.ndarray:
    """sRGB (1, 3, H, W) in [0, 1] -> the uint8 (H, W, 3) a saved frame has."""
    return to_uint8(rgb[0]).permute(1, 2, 0).cpu().numpy()


def start_shot(
    players: list[Entrant], hints: dict[int, dict[int, list[Hint]]], index: int, ab: torch.Tensor, shape: tuple[int, int], seed: int, batch_size: int
) -> None:
    """A new shot begins at frame `index` (true ab (1, 2, H, W)): its hints, and a fresh colourer for every entrant."""
    for count, given in hints.items():
        given[index] = SHOT_HINTS.points(ab, count, torch.Generator().manual_seed(seed * 1_000_003 + index))
    for player in players:
        options = VideoOptions(temporal=player.temporal, hints=hints.get(player.hints, {}), batch_size=batch_size)
        player.colourer = SegmentColourer(player.colorizer, shape, options)


def colour_batch(
    players: list[Entrant], baselines: dict[int, Entrant], counts: list[int], batch: list[tuple[int, torch.Tensor]], L: torch.Tensor
) -> dict[str, torch.Tensor]:
    """Every row's sRGB (B, 3, H, W) in [0, 1] for a batch of frames of one shot."""
    items = [(index, frame.permute(1, 2, 0).numpy()) for index, frame in batch]
    preds = {GREY: model_to_rgb(L, torch.zeros(L.shape[0], 2, *L.shape[-2:]))}
    for player in players:
        preds[player.row] = torch.from_numpy(np.stack(player.colourer.colour(items))).permute(0, 3, 1, 2).float() / 255
    shape = tuple(L.shape[-2:])
    for count, player in baselines.items():
        maps = [propagate("idw", L[j : j + 1], rasterize(placed, shape, shape)) for j, placed in enumerate(player.colourer.placed)]
        preds[idw_name(count, counts)] = model_to_rgb_in_gamut(L, torch.cat(maps))
    return preds


def score_video(
    folder: VideoFolder, video: Path, players: list[Entrant], rows: dict[str, Row], counts: list[int], device: torch.device, seed: int, batch_size: int
) -> tuple[dict, list]:
    """Score one video of `folder`: every row's frame metrics (updated in `rows`) and its temporal measures, with the
    true video's; returns ({"frames": n, row: {"cdc", "ewarp_dis"}, ...}, the first frame of every row and the truth)."""
    timeline = scan(video, probe(video), progress=False)
    length = min(len(timeline.pts), folder.max_frames or len(timeline.pts))
    if length <= max(CDC_GAPS):  # before any frame is coloured
        raise UserError(f"{video}: CDC needs at least {max(CDC_GAPS) + 1} frames, and {length} are scored: give longer videos (or a larger data.max_frames)")
    cuts = set(timeline.cuts)
    hints: dict[int, dict[int, list[Hint]]] = {n: {} for n in counts if n}  # per count: frame index -> the hints given there
    baselines = baseline_rows(players, counts)
    flows, consistency = InputFlow(), {row: VideoConsistency() for row in (*rows, TRUTH)}
    frames, first = 0, []
    for starts, batch in shot_batches(folder.frames(video), cuts, batch_size):
        true = torch.stack([frame for _, frame in batch]).float() / 255
        L, ab = rgb_to_model(true)
        if starts:
            start_shot(players, hints, batch[0][0], ab[:1], tuple(L.shape[-2:]), seed, batch_size)
        preds = colour_batch(players, baselines, counts, batch, L)
        for j in range(len(batch)):
            flow = flows.update(_pixels(preds[GREY][j : j + 1])[..., 0])  # on the input, as Lai et al.: the grey frame
            consistency[TRUTH].update(_pixels(true[j : j + 1]), flow)
            for row, pred in preds.items():
                consistency[row].update(_pixels(pred[j : j + 1]), flow)
        for row, pred in preds.items():
            rows[row].update(pred.to(device), true.to(device))
        first = first or [*(preds[row][:1] for row in rows), true[:1]]
        frames += len(batch)
    return {"frames": frames} | {row: c.compute() for row, c in consistency.items()}, first


def temporal_means(videos: dict[str, dict[str, Any]], row: str) -> dict[str, float]:
    """A row's CDC and E_warp(DIS), means over the videos."""
    return {key: float(np.mean([v[row][key] for v in videos.values()])) for key in ("cdc", "ewarp_dis")}


def check_options(protocol: str, temporal: Sequence[str]) -> None:
    """One line for what data=video cannot score: another protocol, or an unknown temporal mode."""
    if protocol != "photo":
        raise UserError("data=video colours videos as colorgan-colorize does: leave protocol=photo")
    if not temporal or set(temporal) - set(TEMPORAL_MODES):
        raise UserError(f"temporal={list(temporal)}: give a list of modes from {', '.join(TEMPORAL_MODES)}, e.g. temporal=[none,flow]")


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
    temporal: Sequence[str] = ("flow",),
    seed: int = 0,
    batch_size: int = 8,
) -> dict[str, Any]:
    """Score every model on every video of `folder` under each temporal mode and hint count, beside the grey baseline
    (with hints, inverse-distance weighting of the tracked hints) and the true video's own temporal measures.

    Returns what colorgan.evaluate.scoring.evaluate returns (rows, images = frames scored, fid, lpips, sheet: the first
    frame of the first `sheet_size` videos, a column per row, truth last) plus "columns", "videos" (per video: frames,
    and each row's cdc and ewarp_dis) and "notes" (what the temporal measures are).
    """
    check_options(protocol, temporal)
    counts = sorted(set(hints))
    players = entrants({name: Colorizer(model) for name, model in models.items()}, list(dict.fromkeys(temporal)), counts)
    fid, lpips = fid_info(fid_weights), lpips_info(lpips_weights)
    names = [GREY, *(p.row for p in players), *(idw_name(n, counts) for n in baseline_rows(players, counts))]
    rows = {name: Row(name, device, fid, lpips) for name in names}
    videos: dict[str, dict[str, Any]] = {}
    tiles: list[torch.Tensor] = []
    for video in folder.videos:
        videos[folder.name(video)], first = score_video(folder, video, players, rows, counts, device, seed, batch_size)
        if first and len(tiles) < sheet_size * (len(rows) + 1):
            tiles += [square_tile(image[0]) for image in first]
    colour = rows[GREY].colour
    truth = {key: None for key in COLUMNS} | {"cf": float(colour.cf_true / colour.count)}
    table = [rows[row].compute() | temporal_means(videos, row) for row in rows] + [{"model": TRUTH} | truth | temporal_means(videos, TRUTH)]
    images = int(colour.count)
    return {
        "rows": table,
        "columns": VIDEO_COLUMNS,
        "images": images,
        "videos": videos,
        "protocol": protocol,
        "hints": counts,
        "temporal": list(temporal),
        "fid": fid_record(fid, images),
        "lpips": lpips,
        "notes": TEMPORAL_NOTES,
        "sheet": contact_sheet(tiles, len(rows) + 1),
    }
