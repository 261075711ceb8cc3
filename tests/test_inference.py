import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from colorgan.color import rgb_to_lab
from colorgan.errors import UserError
from colorgan.inference import Colorizer

BIN = Path(sys.executable).parent


def lightness(image: Image.Image) -> torch.Tensor:
    rgb = torch.from_numpy(np.asarray(image.convert("RGB"), dtype=np.float32) / 255).permute(2, 0, 1)[None]
    return rgb_to_lab(rgb)[0, 0]


def photo(width: int, height: int) -> Image.Image:
    rng = np.random.default_rng(width * height)
    base = np.linspace(0, 255, width)[None, :, None] * np.ones((height, 1, 3))
    return Image.fromarray(np.clip(base + rng.normal(0, 20, (height, width, 3)), 0, 255).astype(np.uint8))


@pytest.mark.parametrize("size", [(37, 101), (300, 17), (64, 64), (513, 255)])
def test_output_keeps_size_and_lightness(tiny_checkpoint, size):
    colorizer = Colorizer.from_checkpoint(tiny_checkpoint, device="cpu")
    grey = photo(*size).convert("L")
    out = colorizer.colorize(grey, render_factor=4)
    assert out.size == grey.size and out.mode == "RGB"
    levels = (lightness(out) - lightness(grey)).abs().max() * 255 / 100
    assert levels <= 1.0


def _encoded(image: Image.Image, fmt: str, **kwargs) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format=fmt, **kwargs)
    return buf.getvalue()


def test_every_input_kind_is_coloured(tiny_checkpoint):
    colorizer = Colorizer.from_checkpoint(tiny_checkpoint, device="cpu")
    grey = photo(48, 30).convert("L")
    exif = Image.Exif()
    exif[0x0112] = 6
    inputs = {
        "grey": _encoded(grey, "PNG"),
        "rgba": _encoded(grey.convert("RGBA"), "PNG"),
        "16-bit": _encoded(Image.fromarray(np.asarray(grey, dtype=np.uint16) * 257), "PNG"),
        "palette": _encoded(grey.convert("RGB").convert("P"), "PNG"),
        "cmyk": _encoded(grey.convert("RGB").convert("CMYK"), "JPEG", quality=95),
        "exif": _encoded(grey.convert("RGB"), "JPEG", quality=95, exif=exif),
    }
    for kind, data in inputs.items():
        out = colorizer.colorize(data)
        expected = (30, 48) if kind == "exif" else (48, 30)
        assert out.size == expected, kind
    batch = colorizer.colorize_batch([inputs["grey"], inputs["rgba"]])
    assert [b.size for b in batch] == [(48, 30), (48, 30)]


def test_not_a_checkpoint_is_a_user_error(tmp_path):
    bogus = tmp_path / "model.ckpt"
    bogus.write_bytes(b"nonsense")
    with pytest.raises(UserError, match="checkpoint"):
        Colorizer.from_checkpoint(bogus)


def test_colorize_cli_mirrors_folders_and_skips_bad_files(tiny_checkpoint, tmp_path):
    src = tmp_path / "scans"
    (src / "1950s").mkdir(parents=True)
    photo(41, 29).convert("L").save(src / "a.png")
    photo(60, 45).convert("L").save(src / "1950s" / "b.jpg")
    (src / "broken.jpg").write_bytes(b"not a photo")
    out = tmp_path / "out"
    result = subprocess.run([str(BIN / "colorgan-colorize"), tiny_checkpoint, str(src), "-o", str(out), "--compare"], capture_output=True, text=True)
    assert result.returncode == 1  # one input failed
    assert "skipped" in result.stderr and "broken.jpg" in result.stderr
    assert Image.open(out / "a.png").size == (82, 29)  # grey | colour
    assert Image.open(out / "1950s" / "b.jpg").size == (120, 45)
    assert not list(out.rglob("*partial*"))
    again = subprocess.run([str(BIN / "colorgan-colorize"), tiny_checkpoint, str(src / "a.png"), "-o", str(src)], capture_output=True, text=True)
    assert again.returncode == 1 and "overwrite" in again.stderr
    assert Image.open(src / "a.png").mode == "L"  # the input is untouched


def test_batched_form_matches_one_by_one(tiny_checkpoint):
    colorizer = Colorizer.from_checkpoint(tiny_checkpoint, device="cpu")
    images = [photo(64, 48).convert("L"), photo(80, 60).convert("L"), photo(33, 90).convert("L")]
    batched = colorizer.colorize_batch(images, render_factor=4, batch_size=2)
    for image, out in zip(images, batched):
        single = colorizer.colorize(image, render_factor=4)
        assert out.size == image.size
        assert np.abs(np.asarray(out, dtype=int) - np.asarray(single, dtype=int)).max() <= 1
