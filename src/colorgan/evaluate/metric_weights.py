"""The learned metrics and their pretrained weights: LPIPS (AlexNet, torchmetrics) and FID as the published tables
compute it. The weights are a given file, else torch hub's cache, downloaded there on first use unless offline
(colorgan.weights); when they cannot be had the metric is reported unavailable with the one-line reason.

FID: Inception-v3 pool features (2048-d, torch-fidelity's network and weights, as pytorch-fid), every image
resized to 299x299 with torch-fidelity's TF-1.x bilinear resize (no antialiasing: torchmetrics' default
antialiases) from uint8 pixels rounded from [0, 1] (torchmetrics' normalize=True truncates with .byte(), which
darkens by half a level on average); refused (None, with the reason) under MIN_FID_IMAGES images.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torchmetrics import Metric

from colorgan.errors import UserError
from colorgan.weights import hub_file, hub_path, torch_hub_file

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


def fid_record(info: dict[str, Any], images: int) -> dict[str, Any]:
    """FID's protocol as run: the image count, and why there is no value when there is none."""
    if info["available"] and images < MIN_FID_IMAGES:
        bias = "on few images FID is mostly its small-sample bias; published values use 5,000+"
        info = info | {"reason": f"FID refused: {images} images, under the {MIN_FID_IMAGES} needed ({bias}): evaluate on at least {MIN_FID_IMAGES}"}
    return info | {"images": images}
