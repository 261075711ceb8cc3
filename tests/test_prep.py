import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from colorgan.data.prep import PrepOptions, prepare
from colorgan.errors import UserError
from conftest import write_scenes


@pytest.fixture(scope="module")
def messy_folder(tmp_path_factory):
    """40 good photos plus one broken, grey, sepia, tiny and duplicate file each."""
    root = tmp_path_factory.mktemp("photos")
    good = write_scenes(root / "good", 40)
    Image.open(good[0]).convert("L").convert("RGB").save(root / "grey.jpg")
    grey = np.asarray(Image.open(good[1]).convert("L"), dtype=np.float32) / 255
    sepia = np.stack([grey, grey * 0.85, grey * 0.65], -1)
    Image.fromarray(np.round(sepia * 255).astype(np.uint8)).save(root / "sepia.jpg", quality=92)
    Image.open(good[2]).resize((60, 50)).save(root / "tiny.png")
    (root / "broken.jpg").write_bytes(b"\xff\xd8 this is not really a jpeg")
    shutil.copy(good[3], root / "good" / "copy_of_3.jpg")
    return root


def test_manifest_counts_and_reasons(messy_folder, tmp_path):
    manifest = prepare([str(messy_folder)], tmp_path, PrepOptions(size=128, maxcount=16), workers=2, progress=False)
    assert manifest["inputs"] == 45
    assert manifest["rejected"] == {"duplicate": 1, "near_grey": 1, "one_hue": 1, "too_small": 1, "undecodable": 1}
    reasons = {r["source"]: r["reason"] for r in manifest["rejects"]}
    assert reasons["grey.jpg"] == "near_grey" and reasons["sepia.jpg"] == "one_hue"
    assert reasons["tiny.png"] == "too_small" and reasons["broken.jpg"] == "undecodable"
    assert manifest["kept"] == 40 == sum(manifest["splits"].values())
    on_disk = json.loads((tmp_path / "manifest.json").read_text())
    assert on_disk == manifest
    for shard in manifest["shards"]:
        assert (tmp_path / shard["name"]).stat().st_size == shard["bytes"]


def test_second_run_gives_identical_shards(messy_folder, tmp_path):
    opts = PrepOptions(size=128, maxcount=16)
    first = prepare([str(messy_folder)], tmp_path / "a", opts, workers=2, progress=False)
    second = prepare([str(messy_folder)], tmp_path / "b", opts, workers=1, progress=False)
    assert [s["sha256"] for s in first["shards"]] == [s["sha256"] for s in second["shards"]]
    for shard in first["shards"]:
        assert (tmp_path / "a" / shard["name"]).read_bytes() == (tmp_path / "b" / shard["name"]).read_bytes()


def test_interrupted_run_is_finished_by_rerunning(messy_folder, tmp_path):
    (tmp_path / "train-000000.tar.partial").write_bytes(b"half a shard")
    manifest = prepare([str(messy_folder / "good")], tmp_path, PrepOptions(size=128), workers=1, progress=False)
    assert not list(tmp_path.glob("*.partial"))
    assert {p.name for p in tmp_path.glob("*.tar")} == {s["name"] for s in manifest["shards"]}


def test_bad_sources_are_one_line_errors(tmp_path):
    with pytest.raises(UserError, match="no such file"):
        prepare([str(tmp_path / "missing")], tmp_path / "out", progress=False)
    (tmp_path / "empty").mkdir()
    result = subprocess.run([sys.executable, "-m", "colorgan.cli.prep", str(tmp_path / "empty"), "--out", str(tmp_path / "o")], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "no images found" in result.stderr


def smooth_field(rng: np.random.Generator, sigma: float, lo: float, hi: float, size: int = 256) -> np.ndarray:
    """A smooth random field spanning [lo, hi]."""
    from scipy.ndimage import gaussian_filter

    f = gaussian_filter(rng.standard_normal((size, size)), sigma)
    return lo + (f - f.min()) / (f.max() - f.min()) * (hi - lo)


def lab_photo(L: np.ndarray, hue_degrees: np.ndarray, chroma: np.ndarray) -> np.ndarray:
    from skimage.color import lab2rgb

    h = np.deg2rad(hue_degrees)
    return lab2rgb(np.stack([L, chroma * np.cos(h), chroma * np.sin(h)], -1))


def tinted_and_one_hue_photos(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Labelled RGB examples: tinted prints (rejected) and real colour photos that are mostly one hue (kept)."""
    grey = np.clip(smooth_field(rng, 3, 0.15, 0.9) + 0.08 * rng.standard_normal((256, 256)), 0, 1)[..., None]
    ink = lambda dark, light: (1 - grey) * np.array(dark) + grey * np.array(light)  # noqa: E731
    elevation = np.linspace(1, 0, 256)[:, None] * np.ones((1, 256))
    cloud = smooth_field(rng, 6, 0, 1) ** 3
    return {
        "tinted_sepia": ink((0.1, 0.06, 0.02), (1.0, 0.92, 0.78)),
        "tinted_cyanotype": ink((0.02, 0.15, 0.4), (0.92, 0.96, 1.0)),
        "tinted_duotone": ink((0.25, 0.05, 0.35), (1.0, 0.85, 0.3)),
        "tinted_cast_scan": np.clip(grey.repeat(3, -1) + np.array([0.06, 0.02, -0.06]), 0, 1),
        "real_leaf": lab_photo(
            smooth_field(rng, 2, 30, 70) + 5 * rng.standard_normal((256, 256)), smooth_field(rng, 8, 105, 135), smooth_field(rng, 8, 25, 60)
        ),
        "real_sea": lab_photo(smooth_field(rng, 3, 35, 65), smooth_field(rng, 10, 195, 235), smooth_field(rng, 10, 20, 40)),
        "real_sky": lab_photo((55 + 25 * (1 - elevation)) * (1 - cloud) + 95 * cloud, smooth_field(rng, 20, 245, 265), (12 + 20 * elevation) * (1 - cloud)),
    }


def test_tints_are_rejected_and_one_hue_photos_kept(tmp_path):
    for name, rgb in tinted_and_one_hue_photos(np.random.default_rng(0)).items():
        Image.fromarray(np.round(np.clip(rgb, 0, 1) * 255).astype(np.uint8)).save(tmp_path / f"{name}.jpg", quality=90)
    manifest = prepare([str(tmp_path)], tmp_path / "out", PrepOptions(size=128), workers=1, progress=False)
    rejected = {r["source"]: r["reason"] for r in manifest["rejects"]}
    assert rejected == {f"tinted_{kind}.jpg": "one_hue" for kind in ("sepia", "cyanotype", "duotone", "cast_scan")}
    assert manifest["kept"] == 3
