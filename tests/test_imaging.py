"""colorgan.data.imaging: centre squares keep the middle of a photo; encoding is deterministic in every format."""

import io

import numpy as np
import pytest
import torch
from PIL import Image

from colorgan.data.imaging import centre_square, encode
from colorgan.data.synthetic import synthetic_scene


def test_centre_square_keeps_the_middle_of_wide_and_tall_images():
    wide = torch.zeros(3, 40, 100, dtype=torch.uint8)
    wide[:, :, 30:70] = 200  # the middle 40 columns
    square = centre_square(wide, 20)
    assert square.shape == (3, 20, 20) and square.dtype == torch.uint8 and (square == 200).all()
    assert (centre_square(wide.transpose(1, 2), 20) == 200).all()


@pytest.mark.parametrize("image_format, pil_format", [("jpg", "JPEG"), ("png", "PNG"), ("webp", "WEBP")])
def test_encode_is_deterministic_and_decodes_to_the_image(image_format, pil_format):
    pixels = synthetic_scene(np.random.default_rng(0), 64)
    data = encode(Image.fromarray(pixels), image_format, 90)
    assert data == encode(Image.fromarray(pixels), image_format, 90)
    decoded = Image.open(io.BytesIO(data))
    error = np.abs(np.asarray(decoded.convert("RGB"), dtype=np.float32) - pixels).mean()
    assert decoded.format == pil_format and error <= (0 if image_format == "png" else 8)  # lossy: a few levels on sharp synthetic edges
