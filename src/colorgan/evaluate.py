"""Compare colourisers on one data set: the field's metrics per model plus the grey baseline, and a contact sheet.

Metrics: PSNR, SSIM, mean CIEDE2000, colourfulness and |dCF| (colorgan.metrics), LPIPS (AlexNet,
torchmetrics) and FID (Inception-v3 pool features, 2048-d, torchmetrics with torch-fidelity's
weights). LPIPS and FID need pretrained weights; when they are not on the machine the metric is
reported as unavailable with the path it was looked for, never downloaded.
"""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path
from typing import Any, Iterator

import torch
from torchmetrics import Metric
from torchvision.utils import make_grid

from colorgan.color import model_to_rgb
from colorgan.metrics import ColorMetrics
from colorgan.models.base import ColorizationModule

COLUMNS = ("psnr", "ssim", "lpips", "de2000", "cf", "dcf", "fid")
FID_RESIZE = "bilinear with antialiasing to 299x299 (torchmetrics)"


@contextlib.contextmanager
def torch_hub_file(path: Path, url: str) -> Iterator[None]:
    """Make torch.hub find `path` as its cached download of `url` (for libraries that only load from the hub)."""
    expected = Path(torch.hub.get_dir()) / "checkpoints" / Path(url).name
    if path.resolve() == expected.resolve():
        yield
        return
    previous = torch.hub.get_dir()
    with tempfile.TemporaryDirectory() as hub:
        (Path(hub) / "checkpoints").mkdir()
        (Path(hub) / "checkpoints" / expected.name).symlink_to(path.resolve())
        torch.hub.set_dir(hub)
        try:
            yield
        finally:
            torch.hub.set_dir(previous)


def lpips_metric(weights: str | None) -> tuple[Metric | None, dict[str, Any]]:
    """LPIPS (AlexNet) from a torchvision AlexNet weights file, default the torch hub cache."""
    from torchvision.models import AlexNet_Weights

    url = AlexNet_Weights.IMAGENET1K_V1.url
    path = Path(weights) if weights else Path(torch.hub.get_dir()) / "checkpoints" / Path(url).name
    info = {"net": "alex", "weights": str(path)}
    if not path.is_file():
        return None, info | {"available": False}
    from torchmetrics.image.lpip import LearnedPerceptualImagePatchSimilarity

    with torch_hub_file(path, url):
        return LearnedPerceptualImagePatchSimilarity(net_type="alex", normalize=True), info | {"available": True}


def fid_metric(weights: str | None) -> tuple[Metric | None, dict[str, Any]]:
    """FID on 2048-d Inception-v3 features from torch-fidelity's weights file, default the torch hub cache."""
    from torch_fidelity.feature_extractor_inceptionv3 import URL_INCEPTION_V3

    path = Path(weights) if weights else Path(torch.hub.get_dir()) / "checkpoints" / Path(URL_INCEPTION_V3).name
    info = {"features": 2048, "weights": str(path), "resize": FID_RESIZE}
    if not path.is_file():
        return None, info | {"available": False}
    from torchmetrics.image.fid import FrechetInceptionDistance

    return FrechetInceptionDistance(feature=2048, normalize=True, feature_extractor_weights_path=str(path)), info | {"available": True}


class Row:
    """Every metric for one colouriser (or the grey baseline) over the data set."""

    def __init__(self, name: str, device: torch.device, fid_weights: str | None, lpips_weights: str | None):
        self.name = name
        self.colour = ColorMetrics().to(device)
        self.lpips, self.lpips_info = lpips_metric(lpips_weights)
        self.fid, self.fid_info = fid_metric(fid_weights)
        for metric in (self.lpips, self.fid):
            if metric is not None:
                metric.to(device)

    def update(self, pred: torch.Tensor, true: torch.Tensor) -> None:
        self.colour.update(pred, true)
        if self.lpips is not None:
            self.lpips.update(pred.clamp(0, 1), true.clamp(0, 1))
        if self.fid is not None:
            self.fid.update(true.clamp(0, 1), real=True)
            self.fid.update(pred.clamp(0, 1), real=False)

    def compute(self) -> dict[str, float | None]:
        values: dict[str, float | None] = {k: float(v) for k, v in self.colour.compute().items()}
        values["lpips"] = float(self.lpips.compute()) if self.lpips is not None else None
        values["fid"] = float(self.fid.compute()) if self.fid is not None and int(self.colour.count) >= 2 else None
        return {"model": self.name, **{k: values[k] for k in COLUMNS}}


@torch.no_grad()
def evaluate(
    models: dict[str, ColorizationModule],
    batches: Any,
    to_model: Any,
    device: torch.device,
    fid_weights: str | None = None,
    lpips_weights: str | None = None,
    sheet_size: int = 6,
) -> dict[str, Any]:
    """Run every model over `batches` (uint8 RGB), converted by `to_model` into (L, ab) on `device`.

    Returns {"rows": [grey, *models], "images": n, "fid": ..., "lpips": ..., "sheet": (3, H, W) tensor},
    the sheet showing the first `sheet_size` photos as grey | each model | truth.
    """
    rows = {"grey": Row("grey (ab = 0)", device, fid_weights, lpips_weights)}
    rows |= {name: Row(name, device, fid_weights, lpips_weights) for name in models}
    tiles: list[torch.Tensor] = []
    for batch in batches:
        L, ab = to_model(batch.to(device), 0)
        images = {"grey": model_to_rgb(L, torch.zeros_like(ab))}
        images |= {name: model.colorize(L).float() for name, model in models.items()}
        true = model_to_rgb(L, ab)
        for name, row in rows.items():
            row.update(images[name], true)
        for i in range(min(len(true), sheet_size - len(tiles) // (len(images) + 1))):
            tiles += [images[name][i].cpu() for name in images] + [true[i].cpu()]
    any_row = rows["grey"]
    return {
        "rows": [row.compute() for row in rows.values()],
        "images": int(any_row.colour.count),
        "fid": any_row.fid_info | {"images": int(any_row.colour.count)},
        "lpips": any_row.lpips_info,
        "sheet": make_grid(tiles, nrow=len(models) + 2, padding=2, pad_value=1.0) if tiles else None,
    }


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """The rows as a Markdown table; unavailable metrics show as 'n/a'."""
    arrows = {"psnr": "PSNR ↑", "ssim": "SSIM ↑", "lpips": "LPIPS ↓", "de2000": "CIEDE2000 ↓", "cf": "CF", "dcf": "|dCF| ↓", "fid": "FID ↓"}
    lines = ["| model | " + " | ".join(arrows[c] for c in COLUMNS) + " |", "|---" * (len(COLUMNS) + 1) + "|"]
    for row in rows:
        cells = ["n/a" if row[c] is None else f"{row[c]:.4f}" if c in ("ssim", "lpips") else f"{row[c]:.2f}" for c in COLUMNS]
        lines.append(f"| {row['model']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
