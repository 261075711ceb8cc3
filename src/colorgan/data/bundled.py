"""Data sets that ship with the install, built into cached shards on first use.

- `samples`: real colour photos bundled with scikit-image, cut into 256x256 tiles; the split is by
  photo (chelsea and coffee are validation), never by tile.
- `synthetic`: procedural scenes (colorgan.data.synthetic) at 64x64.
"""

from __future__ import annotations

import io
import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from colorgan.data.prep import encode
from colorgan.data.shards import MANIFEST, ShardWriter
from colorgan.data.synthetic import synthetic_scene
from colorgan.io import write_json_atomic

VERSION = 2  # bump when the sets change: the cache folder name carries it
SAMPLE_PHOTOS = {
    "astronaut.png": "train",
    "rocket.jpg": "train",
    "motorcycle_left.png": "train",
    "ihc.png": "train",
    "color.png": "train",
    "chelsea.png": "val",
    "coffee.png": "val",
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


def _write_samples(out: Path) -> list[dict]:
    import skimage.data

    photo_dir = Path(skimage.data.__file__).parent
    writers = {split: ShardWriter(out, split, maxcount=8) for split in ("train", "val")}  # >= 2 shards per split for DDP
    for name, split in SAMPLE_PHOTOS.items():
        photo = Image.open(photo_dir / name).convert("RGB")
        for i, tile in enumerate(_tiles(photo)):
            key = f"{Path(name).stem}_{i:03d}"
            meta = {"source": f"skimage:{name}", "split": split, "tile": i}
            writers[split].write(key, {"jpg": encode(tile, "jpg", 95), "json": json.dumps(meta).encode()})
    return [r for w in writers.values() for r in w.close()]


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
    root = Path(root)
    if (root / MANIFEST).is_file():
        return root
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}-", dir=root.parent))
    try:
        shards = BUILDERS[name](tmp)
        splits = {s: sum(r["count"] for r in shards if r["split"] == s) for s in ("train", "val", "test")}
        write_json_atomic(tmp / MANIFEST, {"format": 1, "bundled": name, "version": VERSION, "splits": splits, "shards": shards})
        try:
            tmp.rename(root)
        except OSError:  # another process finished first
            if not (root / MANIFEST).is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return root
