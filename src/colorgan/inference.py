"""Colourise photos of any size and format with a trained checkpoint of any colorgan model.

The model runs at a render size (DeOldify's render factor: the long side is 16 x render_factor,
aspect ratio kept, padded to what the network needs); its ab is upsampled onto the photo's own
full-resolution L, so the output has the input's size and lightness.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Iterable

import numpy as np
import torch
import torch.nn.functional as F
from hydra.utils import get_class
from PIL import Image

from colorgan.color import CONTRACT_VERSION, ImageSource, fit_to_gamut, load_rgb, model_to_rgb, rgb_to_model
from colorgan.errors import UserError
from colorgan.models.base import ColorizationModule


def pick_device(device: str = "auto") -> torch.device:
    """'auto' -> CUDA when available, else CPU; anything else is passed to torch.device."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def load_model(path: str | Path, device: str = "auto") -> ColorizationModule:
    """Rebuild a model from a colorgan checkpoint alone (its class and config are stored in it)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"checkpoint {path} does not exist: pass a .ckpt written by colorgan-train")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the same user mistake
        raise UserError(f"cannot read {path} as a checkpoint ({exc.__class__.__name__}): pass a .ckpt written by colorgan-train") from exc
    meta = checkpoint.get("colorgan") if isinstance(checkpoint, dict) else None
    if not meta:
        raise UserError(f"{path} is not a colorgan checkpoint: pass a .ckpt written by colorgan-train")
    if meta["contract_version"] != CONTRACT_VERSION:
        raise UserError(f"{path} uses colour contract v{meta['contract_version']}, this colorgan v{CONTRACT_VERSION}: install the colorgan that trained it")
    hparams = dict(checkpoint["hyper_parameters"])
    if hparams.get("pretrained") or hparams.get("pretrained_file"):  # the checkpoint holds the trained encoder
        hparams |= {"pretrained": False, "pretrained_file": None}
    model = get_class(meta["target"])(**hparams)
    model.load_state_dict(checkpoint["state_dict"])
    return model.eval().to(pick_device(device))


class Colorizer:
    """`Colorizer.from_checkpoint(path).colorize(image)` -> a colour PIL image of the input's size."""

    def __init__(self, model: ColorizationModule, default_render_factor: int | None = None):
        self.model = model.eval()
        self.device = next(model.parameters()).device
        generator = model.generator
        self.size_multiple = getattr(generator, "size_multiple", 16)
        trained = getattr(model.hparams, "generator", {}).get("image_size", 256)
        self.default_render_factor = default_render_factor or max(1, round(trained / 16))

    @classmethod
    def from_checkpoint(cls, path: str | Path, device: str = "auto", default_render_factor: int | None = None) -> "Colorizer":
        """Load any colorgan checkpoint; `device` is 'auto', 'cpu', 'cuda', 'cuda:1', ..."""
        return cls(load_model(path, device), default_render_factor)

    def render_shape(self, height: int, width: int, render_factor: int | None) -> tuple[int, int]:
        """(h, w) the model sees: long side 16 x render_factor, aspect ratio kept."""
        factor = render_factor or self.default_render_factor
        if factor < 1:
            raise UserError(f"render factor must be at least 1, not {factor}")
        scale = 16 * factor / max(height, width)
        return max(1, round(height * scale)), max(1, round(width * scale))

    def _model_input(self, L: torch.Tensor, render_factor: int | None) -> tuple[torch.Tensor, tuple[int, int]]:
        """L (1, 1, H, W) resized to the render shape and padded to the network's size multiple."""
        h, w = self.render_shape(*L.shape[-2:], render_factor)
        small = F.interpolate(L, size=(h, w), mode="bilinear", antialias=True, align_corners=False)
        m = self.size_multiple
        pad_h, pad_w = math.ceil(h / m) * m - h, math.ceil(w / m) * m - w
        mode = "reflect" if pad_h < h and pad_w < w else "replicate"
        return F.pad(small, (0, pad_w, 0, pad_h), mode=mode), (h, w)

    @torch.no_grad()
    def predict_ab(self, Ls: list[torch.Tensor], render_factor: int | None = None, batch_size: int = 8) -> list[torch.Tensor]:
        """Normalised ab (1, 2, H, W) for each full-resolution normalised L (1, 1, H, W).

        Images whose padded render shapes agree go through the network together, `batch_size` at a time.
        """
        inputs = [self._model_input(L, render_factor) for L in Ls]
        by_shape: dict[tuple[int, ...], list[int]] = {}
        for i, (x, _) in enumerate(inputs):
            by_shape.setdefault(tuple(x.shape), []).append(i)
        out: list[torch.Tensor] = [None] * len(Ls)  # type: ignore[list-item]
        for indices in by_shape.values():
            for start in range(0, len(indices), batch_size):
                chunk = indices[start : start + batch_size]
                ab = self.model(torch.cat([inputs[i][0] for i in chunk]).to(self.device)).float().cpu()
                for row, i in enumerate(chunk):
                    h, w = inputs[i][1]
                    out[i] = F.interpolate(ab[row : row + 1, :, :h, :w], size=Ls[i].shape[-2:], mode="bilinear", align_corners=False)
        return out

    def colorize_batch(self, images: Iterable[ImageSource], render_factor: int | None = None, batch_size: int = 8) -> list[Image.Image]:
        """Colourise several images (any sizes); each output has its input's size and lightness."""
        Ls = [rgb_to_model(load_rgb(image)[None])[0] for image in images]
        results = []
        for L, ab in zip(Ls, self.predict_ab(Ls, render_factor, batch_size)):
            rgb = model_to_rgb(L, fit_to_gamut(L, ab))[0]
            results.append(Image.fromarray(np.round(rgb.permute(1, 2, 0).numpy() * 255).astype(np.uint8)))
        return results

    def colorize(self, image: ImageSource, render_factor: int | None = None) -> Image.Image:
        """Colourise one image (any format the colour contract reads); returns an RGB PIL image."""
        return self.colorize_batch([image], render_factor)[0]
