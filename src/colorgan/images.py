"""Image files: any file, bytes or PIL image read as upright sRGB (whatever its mode), the model's L of an image,
and float images back as 8-bit PIL images."""

from __future__ import annotations

import io
from pathlib import Path
from typing import BinaryIO, Union

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from colorgan.color import rgb_to_model, to_uint8
from colorgan.errors import UserError

ImageSource = Union[str, Path, bytes, BinaryIO, Image.Image]


def open_image(source: ImageSource) -> Image.Image:
    """Open any image file as an upright PIL image (EXIF orientation applied); one-line error if unreadable."""
    if isinstance(source, Image.Image):
        return ImageOps.exif_transpose(source)
    if isinstance(source, bytes):
        source = io.BytesIO(source)
    try:
        image = Image.open(source)
        image.load()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        name = source if isinstance(source, (str, Path)) else "input"
        raise UserError(f"cannot read {name} as an image ({exc.__class__.__name__}): use a JPEG, PNG, TIFF, WebP or BMP file") from exc
    return ImageOps.exif_transpose(image)


def image_to_rgb_array(image: Image.Image) -> np.ndarray:
    """Any PIL mode (grey, RGB, RGBA, palette, 16-bit, CMYK) -> float32 RGB array (H, W, 3) in [0, 1].

    Alpha is composited over white; 16-bit and 32-bit grey keep their full precision.
    """
    if image.mode.startswith("I") or image.mode == "F":
        grey = np.asarray(image, dtype=np.float32)
        grey = grey / 65535.0 if image.mode != "F" else grey
        return np.repeat(np.clip(grey, 0, 1)[..., None], 3, axis=2)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba)
    return np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0


def load_rgb(source: ImageSource) -> torch.Tensor:
    """Load any image file as an sRGB tensor (3, H, W) in [0, 1]."""
    return torch.from_numpy(image_to_rgb_array(open_image(source))).permute(2, 0, 1).contiguous()


def load_luminance(source: ImageSource) -> torch.Tensor:
    """Load any image file (colour or not) as the model's input L for a batch of one, shape (1, 1, H, W) in [-1, 1]."""
    L, _ = rgb_to_model(load_rgb(source)[None])
    return L


def to_pil(rgb: torch.Tensor) -> Image.Image:
    """A float image (3, H, W) in [0, 1] as an 8-bit PIL image (what image files and wandb store)."""
    return Image.fromarray(to_uint8(rgb).permute(1, 2, 0).numpy())
