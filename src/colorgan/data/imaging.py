"""Image geometry and encoding shared by prep, the datamodule and the bundled sets: antialiased crops and
resizes of (C, H, W) tensors, and deterministic image-file bytes."""

from __future__ import annotations

import io

import torch
import torch.nn.functional as F
from PIL import Image


def crop_resize(image: torch.Tensor, top: int, left: int, height: int, width: int, size: int) -> torch.Tensor:
    """Cut a box out of a (C, H, W) image (uint8 or float) and resize it to (C, size, size) with antialiased bicubic
    interpolation (the filter of PIL's BICUBIC). uint8 channels-last tensors take PyTorch's vectorised fast path."""
    box = image[None, :, top : top + height, left : left + width].contiguous(memory_format=torch.channels_last)
    return F.interpolate(box, size=(size, size), mode="bicubic", antialias=True)[0]


def centre_square(image: torch.Tensor, size: int) -> torch.Tensor:
    """The centre square of a (C, H, W) image resized to (C, size, size): what prep stores and evaluation sees."""
    height, width = image.shape[-2:]
    side = min(height, width)
    return crop_resize(image, (height - side) // 2, (width - side) // 2, side, side, size)


def encode(image: Image.Image, image_format: str, quality: int) -> bytes:
    """Encode an RGB image as jpg, png or webp bytes, deterministically."""
    buf = io.BytesIO()
    pil_format = {"jpg": "JPEG", "png": "PNG", "webp": "WEBP"}[image_format]
    image.save(buf, format=pil_format, quality=quality, **({"lossless": False} if pil_format == "WEBP" else {}))
    return buf.getvalue()
