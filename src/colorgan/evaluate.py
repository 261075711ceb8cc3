"""Compare colourisers on one data set: the field's metrics per model plus the grey baseline, and a contact sheet;
with hints, rows per hint count beside no-learning propagation baselines. The library side of colorgan-eval.

Metrics: PSNR, SSIM, mean CIEDE2000, colourfulness (`cf`, DDColor's absolute-opponent variant that papers
tabulate, and `cf_signed`, Hasler and Suesstrunk's signed one) and |dCF| on `cf` (colorgan.metrics), LPIPS
(AlexNet, torchmetrics) and FID as the published tables compute it (below). LPIPS and FID need pretrained
weights: a given file, else torch hub's cache, downloaded there on first use unless offline (colorgan.weights);
when they cannot be had the metric is reported unavailable with the one-line reason.

FID: Inception-v3 pool features (2048-d, torch-fidelity's network and weights, as pytorch-fid), every image
resized to 299x299 with torch-fidelity's TF-1.x bilinear resize (no antialiasing: torchmetrics' default
antialiases) from uint8 pixels rounded from [0, 1] (torchmetrics' normalize=True truncates with .byte(), which
darkens by half a level on average); refused (None, with the reason) under MIN_FID_IMAGES images.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import torch
from torchmetrics import Metric
from torchvision.utils import make_grid

from colorgan.callbacks import mark_hints
from colorgan.color import model_to_rgb, model_to_rgb_in_gamut, rgb_to_model, to_uint8
from colorgan.errors import UserError
from colorgan.hints import HintSampler, rasterize
from colorgan.images import to_pil
from colorgan.inference import Colorizer
from colorgan.metrics import ColorMetrics
from colorgan.models.base import ColorizationModule
from colorgan.propagation import METHODS, propagate
from colorgan.weights import hub_file, hub_path, torch_hub_file

COLUMNS = ("psnr", "ssim", "lpips", "de2000", "cf", "dcf", "cf_signed", "fid")
MIN_FID_IMAGES = 100
FID_PROTOCOL = {
    "features": 2048,
    "resize": "299x299, bilinear as TF 1.x (torch-fidelity), no antialiasing",
    "pixels": "uint8, round(255 x)",
    "min_images": MIN_FID_IMAGES,
}


def find_weights(url: str, given: str | None, what: str, option: str, check_hash: bool = False) -> dict[str, Any]:
    """A metric's weights file, fetched if need be: {"weights": path, "available": True}, or unavailable with the reason."""
    try:
        return {"weights": str(hub_file(url, given, what, option, check_hash)), "available": True}
    except UserError as exc:
        return {"weights": str(given or hub_path(url)), "available": False, "reason": str(exc)}


def lpips_info(given: str | None) -> dict[str, Any]:
    """LPIPS's network and torchvision's AlexNet weights file (given, or the torch hub cache)."""
    from torchvision.models import AlexNet_Weights

    return {"net": "alex"} | find_weights(AlexNet_Weights.IMAGENET1K_V1.url, given, "AlexNet weights for LPIPS", "lpips_weights", check_hash=True)


def fid_info(given: str | None) -> dict[str, Any]:
    """FID's protocol and torch-fidelity's Inception-v3 weights file (given, or the torch hub cache)."""
    from torch_fidelity.feature_extractor_inceptionv3 import URL_INCEPTION_V3

    return FID_PROTOCOL | find_weights(URL_INCEPTION_V3, given, "Inception-v3 weights for FID", "fid_weights")


def lpips_metric(info: dict[str, Any]) -> Metric | None:
    """LPIPS (AlexNet) on images in [0, 1], torchvision loading the weights from the hub cache; None when unavailable."""
    if not info["available"]:
        return None
    from torchmetrics.image.lpip import LearnedPerceptualImagePatchSimilarity
    from torchvision.models import AlexNet_Weights

    with torch_hub_file(Path(info["weights"]), AlexNet_Weights.IMAGENET1K_V1.url):
        return LearnedPerceptualImagePatchSimilarity(net_type="alex", normalize=True)


def fid_metric(info: dict[str, Any]) -> Metric | None:
    """FID on uint8 images with the published tables' resize (FID_PROTOCOL); None when unavailable."""
    if not info["available"]:
        return None
    from torchmetrics.image.fid import FrechetInceptionDistance

    return FrechetInceptionDistance(feature=2048, antialias=False, feature_extractor_weights_path=info["weights"])


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
        self.colour.update(pred, true)
        if self.lpips is not None:
            self.lpips.update(pred.clamp(0, 1), true.clamp(0, 1))
        if self.fid is not None:
            self.fid.update(to_uint8(true), real=True)
            self.fid.update(to_uint8(pred), real=False)

    def compute(self) -> dict[str, float | None]:
        values: dict[str, float | None] = {k: float(v) for k, v in self.colour.compute().items()}
        values["lpips"] = float(self.lpips.compute()) if self.lpips is not None else None
        values["fid"] = float(self.fid.compute()) if self.fid is not None and int(self.colour.count) >= MIN_FID_IMAGES else None
        return {"model": self.name, **{k: values[k] for k in COLUMNS}}


def fid_record(info: dict[str, Any], images: int) -> dict[str, Any]:
    """FID's protocol as run: the image count, and why there is no value when there is none."""
    if info["available"] and images < MIN_FID_IMAGES:
        bias = "on few images FID is mostly its small-sample bias; published values use 5,000+"
        info = info | {"reason": f"FID refused: {images} images, under the {MIN_FID_IMAGES} needed ({bias}): evaluate on at least {MIN_FID_IMAGES}"}
    return info | {"images": images}


def notes(result: dict[str, Any]) -> list[str]:
    """What the table's numbers are, and why any are missing: lines for results.md."""
    fid, lpips = result["fid"], result["lpips"]
    protocol = f"FID: {fid['features']}-d Inception-v3 pool features, weights {fid['weights']}, resize {fid['resize']}, pixels {fid['pixels']}, {fid['images']} images."
    cf = "CF: colourfulness with absolute opponents |R-G|, |(R+G)/2-B| (DDColor's, as papers tabulate), |dCF| on it; CF signed: Hasler and Suesstrunk's R-G, (R+G)/2-B."
    return [cf, fid.get("reason", protocol), *([lpips["reason"]] if "reason" in lpips else [])]


def _square(image: torch.Tensor, size: int) -> torch.Tensor:
    """A sheet tile: the centre square of an image (3, H, W), resized to `size`."""
    h, w = image.shape[-2:]
    side = min(h, w)
    crop = image[:, (h - side) // 2 : (h - side) // 2 + side, (w - side) // 2 : (w - side) // 2 + side]
    return torch.nn.functional.interpolate(crop[None].float(), size=(size, size), mode="bilinear", antialias=True, align_corners=False)[0]


def row_name(name: str, hints: int, counts: Sequence[int]) -> str:
    """A table row's name: the colouriser, and with several hint counts, how many hints it was given."""
    return name if counts == [0] else f"{name}, {hints} hint{'s' if hints != 1 else ''}"


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
    if protocol not in ("photo", "fixed"):
        raise UserError(
            f"protocol={protocol} is not an evaluation protocol: use photo (what colorgan-colorize gives) or fixed (the network at the data's size)"
        )
    counts = sorted(set(hints))
    colorizers = {name: Colorizer(model) for name, model in models.items()}
    rows: dict[tuple[str, int], Row] = {}

    fid, lpips = fid_info(fid_weights), lpips_info(lpips_weights)

    def row(name: str, count: int) -> Row:
        if (name, count) not in rows:
            rows[name, count] = Row(row_name(name, count, counts), device, fid, lpips)
        return rows[name, count]

    row("grey (ab = 0)", 0)
    sampler, tiles = HintSampler(), []
    for index, image in enumerate(images):
        true = image[None].to(device).float() / 255
        L, ab = rgb_to_model(true)
        shape = tuple(L.shape[-2:])
        shown: dict[str, torch.Tensor] = {"grey": model_to_rgb(L, torch.zeros_like(ab))}
        for count in counts:
            points = sampler.points(ab, count, torch.Generator().manual_seed(seed * 1_000_003 + index))
            hint_map = rasterize(points, shape, shape).to(device)
            if count == 0:
                row("grey (ab = 0)", 0).update(shown["grey"], true)
            for method in METHODS if count else ():
                row(method, count).update(model_to_rgb_in_gamut(L, propagate(method, L, hint_map)), true)
            for name, model in models.items():
                if count and not model.contract.hints:
                    continue
                if protocol == "photo":
                    pred = model_to_rgb_in_gamut(L, colorizers[name].predict_ab([L], hints=[points] if model.contract.hints else None)[0].to(device))
                else:
                    pred = model.colorize(L, hint_map if model.contract.hints else None).float()
                row(name, count).update(pred, true)
                if count == counts[-1] or not model.contract.hints:
                    shown[name] = pred
            if count == counts[-1] and count:
                shown["grey"] = mark_hints(shown["grey"][0].cpu(), hint_map[0].cpu())[None]
        if len(tiles) < sheet_size * (len(models) + 2):
            tiles += [_square(shown[name][0].cpu(), 128) for name in ("grey", *models)] + [_square(true[0].cpu(), 128)]
    images = int(rows["grey (ab = 0)", 0].colour.count)
    return {
        "rows": [r.compute() for r in rows.values()],
        "images": images,
        "protocol": protocol,
        "hints": counts,
        "fid": fid_record(fid, images),
        "lpips": lpips,
        "sheet": make_grid(tiles, nrow=len(models) + 2, padding=2, pad_value=1.0) if tiles else None,
    }


def markdown_table(rows: list[dict[str, Any]], columns: Sequence[str] = COLUMNS) -> str:
    """The rows as a Markdown table; unavailable metrics show as 'n/a'."""
    arrows = {
        "psnr": "PSNR ↑",
        "ssim": "SSIM ↑",
        "lpips": "LPIPS ↓",
        "de2000": "CIEDE2000 ↓",
        "cf": "CF",
        "dcf": "|dCF| ↓",
        "cf_signed": "CF signed",
        "fid": "FID ↓",
        "cdc": "CDC ↓",
        "ewarp_dis": "E_warp(DIS) ↓",
    }
    digits = {"ssim": 4, "lpips": 4, "cdc": 6, "ewarp_dis": 6}
    lines = ["| model | " + " | ".join(arrows[c] for c in columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for row in rows:
        cells = ["n/a" if row[c] is None else f"{row[c]:.{digits.get(c, 2)}f}" for c in columns]
        lines.append(f"| {row['model']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def images_of(datamodule: Any, split: str) -> Iterator[torch.Tensor]:
    """The uint8 RGB images (3, H, W) of a datamodule's split, one at a time."""
    datamodule.prepare_data()
    datamodule.setup("test")
    loader = datamodule.test_dataloader() if split == "test" else datamodule.val_dataloader()
    for batch in loader:
        yield from batch


def row_names(paths: list[str], models: list, given: list[str] | None) -> list[str]:
    """Given names, else '<model class> (<run folder>)', numbered where they would clash."""
    if given is not None:
        if len(given) != len(paths):
            raise UserError(f"{len(given)} names for {len(paths)} checkpoints: give one name per checkpoint")
        return list(given)
    runs = [p.removeprefix("hf://") if p.startswith("hf://") else Path(p).resolve().parent.parent.name for p in paths]  # hub repository, or run folder
    names = [f"{type(m).__name__.lower()} ({run})" for run, m in zip(runs, models, strict=True)]
    return [f"{n} #{i + 1}" if names.count(n) > 1 else n for i, n in enumerate(names)]


def run(cfg: Any) -> dict[str, Any]:
    """colorgan-eval: evaluate the configured checkpoints (or export folders) on the configured data, then write
    results.json, results.md and contact_sheet.png into the run folder (and the table and sheet to the loggers)."""
    from hydra.utils import instantiate
    from omegaconf import ListConfig

    from colorgan.checkpoint import load_model
    from colorgan.inference import pick_device
    from colorgan.io import atomic_path, write_atomic, write_json_atomic
    from colorgan.train import make_loggers
    from colorgan.video.data import VideoFolder
    from colorgan.video.evaluate import evaluate_videos

    paths = [str(p) for p in cfg.ckpt] if isinstance(cfg.ckpt, ListConfig) else [str(cfg.ckpt)]
    device = pick_device(cfg.device)
    models = [load_model(p, device) for p in paths]
    names = row_names(paths, models, list(cfg.names) if cfg.names else None)
    datamodule = instantiate(cfg.data)
    hints = list(cfg.hints) if isinstance(cfg.hints, ListConfig) else [int(cfg.hints)]
    if isinstance(datamodule, VideoFolder):  # data=video: frame metrics plus the temporal measures
        result = evaluate_videos(
            dict(zip(names, models, strict=True)), datamodule, device, hints, cfg.protocol, cfg.fid_weights, cfg.lpips_weights, cfg.sheet_size
        )
    else:
        result = evaluate(
            dict(zip(names, models, strict=True)),
            images_of(datamodule, cfg.split),
            device,
            hints,
            cfg.protocol,
            cfg.fid_weights,
            cfg.lpips_weights,
            cfg.sheet_size,
            cfg.seed,
        )
    out = Path(cfg.paths.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    columns = result.get("columns", COLUMNS)
    table = markdown_table(result["rows"], columns)
    record = {k: v for k, v in result.items() if k != "sheet"} | {
        "checkpoints": dict(zip(names, paths, strict=True)),
        "data": str(getattr(datamodule, "root", None)),
    }
    record["notes"] = notes(result) + result.get("notes", [])
    write_json_atomic(out / "results.json", record)
    write_atomic(out / "results.md", "\n\n".join([table, "\n".join(record["notes"])]).encode() + b"\n")
    if result["sheet"] is not None:
        with atomic_path(out / "contact_sheet.png") as tmp:
            to_pil(result["sheet"]).save(tmp)
    for logger in make_loggers(cfg):
        if hasattr(logger, "log_table"):
            rows = [[r["model"], *(r[c] for c in columns)] for r in result["rows"]]
            logger.log_table("eval/metrics", columns=["model", *columns], data=rows)
            if result["sheet"] is not None:
                logger.log_image("eval/contact_sheet", [to_pil(result["sheet"])])
    return record | {"table": table, "output_dir": str(out)}
