"""Score colourisers on photos beside the grey baseline; with hints, rows per hint count beside no-learning
propagation baselines.

Metrics: PSNR, SSIM, mean CIEDE2000, colourfulness (`cf`, DDColor's absolute-opponent variant that papers
tabulate, and `cf_signed`, Hasler and Suesstrunk's signed one) and |dCF| on `cf` (colorgan.metrics), LPIPS and
FID as the published tables compute them (colorgan.evaluate.metric_weights).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import torch

from colorgan.callbacks import mark_hints
from colorgan.color import model_to_rgb, model_to_rgb_in_gamut, rgb_to_model, to_uint8
from colorgan.errors import UserError
from colorgan.evaluate.metric_weights import MIN_FID_IMAGES, fid_info, fid_metric, fid_record, lpips_info, lpips_metric
from colorgan.evaluate.sheet import contact_sheet, square_tile
from colorgan.hints import HintSampler, rasterize
from colorgan.inference import Colorizer
from colorgan.metrics import ColorMetrics
from colorgan.models.base import ColorizationModule
from colorgan.propagation import METHODS, propagate

COLUMNS = ("psnr", "ssim", "lpips", "de2000", "cf", "dcf", "cf_signed", "fid")
GREY = "grey (ab = 0)"
PROTOCOLS = ("photo", "fixed")


class Row:
    """Every metric for one colouriser (or the grey baseline) over the data set."""

    def __init__(self, name: str, device: torch.device, fid: dict[str, Any], lpips: dict[str, Any]):
        self.name = name
        self.colour = ColorMetrics().to(device)
        self.lpips, self.fid = lpips_metric(lpips), fid_metric(fid)
        for metric in (self.lpips, self.fid):
            if metric is not None:
                metric.to(device)

    def update(self, pred: torch.Tensor, true: torch.Tensor) -> None:
        """Add a batch of predictions and truths, sRGB (B, 3, H, W) in [0, 1]."""
        self.colour.update(pred, true)
        if self.lpips is not None:
            self.lpips.update(pred.clamp(0, 1), true.clamp(0, 1))
        if self.fid is not None:
            self.fid.update(to_uint8(true), real=True)
            self.fid.update(to_uint8(pred), real=False)

    def compute(self) -> dict[str, float | None]:
        """The row of the table: its name and every column (None where a metric has no value)."""
        values: dict[str, float | None] = {k: float(v) for k, v in self.colour.compute().items()}
        values["lpips"] = float(self.lpips.compute()) if self.lpips is not None else None
        values["fid"] = float(self.fid.compute()) if self.fid is not None and int(self.colour.count) >= MIN_FID_IMAGES else None
        return {"model": self.name, **{k: values[k] for k in COLUMNS}}


def row_name(name: str, hints: int, counts: Sequence[int]) -> str:
    """A table row's name: the colouriser, and with several hint counts, how many hints it was given."""
    return name if counts == [0] else f"{name}, {hints} hint{'s' if hints != 1 else ''}"


class Table:
    """The rows of an evaluation, one per (colouriser, hint count), made when first scored and kept in that order."""

    def __init__(self, device: torch.device, fid: dict[str, Any], lpips: dict[str, Any], counts: list[int]):
        self.device, self.fid, self.lpips, self.counts = device, fid, lpips, counts
        self.rows: dict[tuple[str, int], Row] = {}

    def __getitem__(self, key: tuple[str, int]) -> Row:
        if key not in self.rows:
            name, count = key
            self.rows[key] = Row(row_name(name, count, self.counts), self.device, self.fid, self.lpips)
        return self.rows[key]

    def compute(self) -> list[dict[str, float | None]]:
        return [row.compute() for row in self.rows.values()]


def colour_with(colorizer: Colorizer, L: torch.Tensor, points: torch.Tensor, hint_map: torch.Tensor, protocol: str) -> torch.Tensor:
    """A model's sRGB colouring of L (1, 1, H, W): 'photo' as colorgan-colorize gives it, 'fixed' the network at L's size;
    the hints go only to a model that takes them."""
    model = colorizer.model
    hinted = model.contract.hints
    if protocol == "photo":
        ab = colorizer.predict_ab([L], hints=[points] if hinted else None)[0].to(L.device)
        return model_to_rgb_in_gamut(L, ab)
    return model.colorize(L, hint_map if hinted else None).float()


def score_photo(true: torch.Tensor, colorizers: dict[str, Colorizer], table: Table, protocol: str, seed: int) -> dict[str, torch.Tensor]:
    """Score one photo (1, 3, H, W) in [0, 1] at every hint count of the table (hints simulated from the truth with
    `seed`, the same for every model); returns what the sheet shows of it: grey (with the most hints ringed) and each model."""
    L, ab = rgb_to_model(true)
    shape = tuple(L.shape[-2:])
    grey = model_to_rgb(L, torch.zeros_like(ab))
    shown = {"grey": grey}
    for count in table.counts:
        points = HintSampler().points(ab, count, torch.Generator().manual_seed(seed))
        hint_map = rasterize(points, shape, shape).to(true.device)
        if count == 0:
            table[GREY, 0].update(grey, true)
        for method in METHODS if count else ():
            table[method, count].update(model_to_rgb_in_gamut(L, propagate(method, L, hint_map)), true)
        for name, colorizer in colorizers.items():
            hinted = colorizer.model.contract.hints
            if count and not hinted:
                continue
            pred = colour_with(colorizer, L, points, hint_map, protocol)
            table[name, count].update(pred, true)
            if count == table.counts[-1] or not hinted:
                shown[name] = pred
        if count and count == table.counts[-1]:
            shown["grey"] = mark_hints(grey[0].cpu(), hint_map[0].cpu())[None]
    return shown


@torch.no_grad()
def evaluate(
    models: dict[str, ColorizationModule],
    images: Iterable[torch.Tensor],
    device: torch.device,
    hints: Sequence[int] = (0,),
    protocol: str = "photo",
    fid_weights: str | None = None,
    lpips_weights: str | None = None,
    sheet_size: int = 6,
    seed: int = 0,
) -> dict[str, Any]:
    """Score every model on `images` (uint8 RGB, (3, H, W) each, any sizes), beside the grey baseline.

    protocol 'photo' colours each image as colorgan-colorize does (render at the model's size, ab upsampled
    onto the full-resolution L, gamut fit); 'fixed' feeds the images to the network at their own size, as
    papers do with 256x256 crops. With hint counts above 0, hints are simulated from the truth (fixed seed,
    the same for every model) and given to the models that take them, and rows for the no-learning baselines
    (nearest hint, inverse-distance weighting, Levin et al. 2004) get the same hints.
    Returns {"rows": [...], "images": n, "fid": ..., "lpips": ..., "sheet": (3, H, W) tensor}: "fid" and "lpips" say
    which weights were used and, where a metric has no value, why; the sheet shows the first `sheet_size` photos as
    grey (with the most hints ringed) | each model | truth.
    """
    if protocol not in PROTOCOLS:
        raise UserError(
            f"protocol={protocol} is not an evaluation protocol: use photo (what colorgan-colorize gives) or fixed (the network at the data's size)"
        )
    colorizers = {name: Colorizer(model) for name, model in models.items()}
    fid, lpips = fid_info(fid_weights), lpips_info(lpips_weights)
    table = Table(device, fid, lpips, sorted(set(hints)))
    table[GREY, 0]  # the baseline is the first row
    tiles: list[torch.Tensor] = []
    for index, image in enumerate(images):
        true = image[None].to(device).float() / 255
        shown = score_photo(true, colorizers, table, protocol, seed * 1_000_003 + index)
        if len(tiles) < sheet_size * (len(models) + 2):
            tiles += [square_tile(shown[name][0].cpu()) for name in ("grey", *models)] + [square_tile(true[0].cpu())]
    scored = int(table[GREY, 0].colour.count)
    return {
        "rows": table.compute(),
        "images": scored,
        "protocol": protocol,
        "hints": table.counts,
        "fid": fid_record(fid, scored),
        "lpips": lpips,
        "sheet": contact_sheet(tiles, len(models) + 2),
    }
