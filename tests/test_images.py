"""colorgan.images: every file mode loads as the same upright sRGB and L; unreadable files are one-line errors."""

import io

import numpy as np
import pytest
import torch
from PIL import Image

from colorgan.color import rgb_to_lab
from colorgan.errors import UserError
from colorgan.images import load_luminance, load_rgb, to_pil


def _save(image: Image.Image, fmt: str, **kwargs) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format=fmt, **kwargs)
    return buf.getvalue()


@pytest.fixture
def grey_ramp():
    return np.tile(np.linspace(0, 255, 40, dtype=np.uint8), (30, 1))  # 30 x 40


def _expected_L(grey_uint8: np.ndarray) -> torch.Tensor:
    rgb = torch.from_numpy(np.repeat(grey_uint8[..., None], 3, 2)).permute(2, 0, 1)[None].float() / 255
    return rgb_to_lab(rgb)[0, 0] / 50 - 1


def test_every_grey_input_mode_gives_the_same_luminance(grey_ramp):
    expected = _expected_L(grey_ramp)
    grey = Image.fromarray(grey_ramp)
    rgba = grey.convert("RGBA")
    sixteen = Image.fromarray(grey_ramp.astype(np.uint16) * 257)
    inputs = {
        "L": _save(grey, "PNG"),
        "RGB": _save(grey.convert("RGB"), "PNG"),
        "RGBA": _save(rgba, "PNG"),
        "P": _save(grey.convert("RGB").convert("P", palette=Image.Palette.ADAPTIVE, colors=256), "PNG"),
        "I;16": _save(sixteen, "PNG"),
        "CMYK": _save(grey.convert("RGB").convert("CMYK"), "JPEG", quality=100),
    }
    for mode, data in inputs.items():
        L = load_luminance(data)[0, 0]
        assert L.shape == expected.shape, mode
        tolerance = 0.03 if mode == "CMYK" else 1e-3
        assert (L - expected).abs().max() < tolerance, mode


def test_sixteen_bit_keeps_precision():
    values = np.array([[0, 1000, 1001, 65535]], dtype=np.uint16)
    L = load_luminance(_save(Image.fromarray(values), "PNG"))[0, 0, 0]
    assert L[1] != L[2] and L[0] == -1 and abs(float(L[3]) - 1) < 1e-4


def test_exif_rotation_is_applied():
    image = Image.new("RGB", (40, 20), (255, 0, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    rgb = load_rgb(_save(image, "JPEG", exif=exif))
    assert rgb.shape == (3, 40, 20)


def test_alpha_is_composited_over_white():
    transparent = Image.new("RGBA", (4, 4), (0, 0, 0, 0))
    assert torch.allclose(load_rgb(_save(transparent, "PNG")), torch.ones(3, 4, 4))


def test_unreadable_input_is_a_user_error(tmp_path):
    bad = tmp_path / "notes.jpg"
    bad.write_text("not an image")
    with pytest.raises(UserError, match="cannot read"):
        load_rgb(str(bad))


def test_to_pil_rounds_and_clamps_to_8_bit():
    rgb = torch.tensor([-0.5, 0.3 / 255, 0.7 / 255, 254.6 / 255, 1.5]).view(1, 1, 5).expand(3, 1, 5)
    image = to_pil(rgb)
    assert image.mode == "RGB" and image.size == (5, 1)
    assert np.asarray(image)[0, :, 0].tolist() == [0, 0, 1, 255, 255]
