"""Data sets that ship with the install, built into cached shards on first use.

- `samples`: every real colour photograph that scikit-image and matplotlib ship, cut into 256x256 tiles; the split
  is by photo (chelsea, coffee and grace_hopper are validation), never by tile, and the two motorcycle photos (one
  scene, two viewpoints) are on the same side. Left out: their drawings and synthetic images (color.png, a colour
  wheel; Minduka_Present_Blue_Pack.png, clip art), grey photos and microscopy stacks.
- `synthetic`: procedural scenes (colorgan.data.synthetic) at 64x64.

A built set lives in a folder whose manifest records the set's version; a folder of an older version is rebuilt.
"""

from __future__ import annotations

import io
import itertools
import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from colorgan.data.imaging import encode
from colorgan.data.shards import MANIFEST, ShardWriter
from colorgan.data.synthetic import synthetic_scene
from colorgan.io import write_json_atomic

VERSIONS = {"samples": 3, "synthetic": 2}  # bump a set's version when its content changes
SAMPLE_PHOTOS = {  # (package, file) -> split
    ("skimage", "astronaut.png"): "train",
    ("skimage", "rocket.jpg"): "train",
    ("skimage", "motorcycle_left.png"): "train",
    ("skimage", "motorcycle_right.png"): "train",
    ("skimage", "ihc.png"): "train",
    ("skimage", "retina.jpg"): "train",
    ("skimage", "hubble_deep_field.jpg"): "train",
    ("skimage", "chelsea.png"): "val",
    ("skimage", "coffee.png"): "val",
    ("matplotlib", "grace_hopper.jpg"): "val",
}
SYNTHETIC_COUNTS = {"train": 2000, "val": 200}


def _png(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


def _tiles(image: Image.Image, tile: int = 256, short_side: int = 384) -> list[Image.Image]:
    """Overlapping tiles at half-tile stride over the photo resized to `short_side`."""
    w, h = image.size
    scale = short_side / min(w, h)
    image = image.resize((round(w * scale), round(h * scale)), Image.Resampling.LANCZOS)
    w, h = image.size

    def starts(n: int) -> list[int]:
        return sorted({*range(0, n - tile + 1, tile // 2), n - tile})

    return [image.crop((x, y, x + tile, y + tile)) for y in starts(h) for x in starts(w)]


def photo_path(package: str, name: str) -> Path:
    if package == "skimage":
        import skimage.data

        return Path(skimage.data.__file__).parent / name
    import matplotlib

    return Path(matplotlib.get_data_path()) / "sample_data" / name


def _write_samples(out: Path) -> list[dict]:
    records = []
    for split in ("train", "val"):
        photos = [photo for photo, photo_split in SAMPLE_PHOTOS.items() if photo_split == split]
        tiles = [_tiles(Image.open(photo_path(*photo)).convert("RGB")) for photo in photos]
        writer = ShardWriter(out, split, maxcount=8)  # >= 2 shards per split for DDP
        for i, row in enumerate(itertools.zip_longest(*tiles)):  # photos take turns: a split's first samples are varied
            for (package, name), tile in zip(photos, row):
                if tile is not None:
                    meta = {"source": f"{package}:{name}", "split": split, "tile": i}
                    writer.write(f"{Path(name).stem}_{i:03d}", {"jpg": encode(tile, "jpg", 95), "json": json.dumps(meta).encode()})
        records += writer.close()
    return records


def _write_synthetic(out: Path) -> list[dict]:
    records = []
    for seed, (split, count) in enumerate(SYNTHETIC_COUNTS.items()):
        rng = np.random.default_rng(seed)
        writer = ShardWriter(out, split, maxcount=100)
        for i in range(count):
            meta = {"source": "synthetic", "split": split}
            writer.write(f"scene_{split}_{i:06d}", {"png": _png(synthetic_scene(rng)), "json": json.dumps(meta).encode()})
        records += writer.close()
    return records


BUILDERS = {"samples": _write_samples, "synthetic": _write_synthetic}


def ensure_bundled(name: str, root: str | Path) -> Path:
    """Build the bundled set `name` into `root` unless it is already there; returns `root`.

    The set is built in a temporary folder beside `root` and moved into place whole, so concurrent
    or interrupted builds never leave a half-built set behind.
    """
    from colorgan.errors import UserError

    if name not in BUILDERS:
        raise UserError(f"unknown bundled data set {name!r}: choose one of {', '.join(BUILDERS)}")
    root, version = Path(root), VERSIONS[name]
    if _built_version(root) == version:
        return root
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}-", dir=root.parent))
    stale = tmp.with_name(tmp.name + "-stale")
    try:
        shards = BUILDERS[name](tmp)
        splits = {s: sum(r["count"] for r in shards if r["split"] == s) for s in ("train", "val", "test")}
        write_json_atomic(tmp / MANIFEST, {"format": 1, "bundled": name, "version": version, "splits": splits, "shards": shards})
        if root.exists() and _built_version(root) != version:
            root.rename(stale)
        try:
            tmp.rename(root)
        except OSError:  # another process finished first
            if _built_version(root) != version:
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(stale, ignore_errors=True)
    return root


def _built_version(root: Path) -> int | None:
    """The version of the bundled set built in `root`, or None when none is (completely) there."""
    try:
        return json.loads((root / MANIFEST).read_text()).get("version")
    except (OSError, ValueError):
        return None
