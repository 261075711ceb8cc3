"""Turn folders, globs or list files of photos into train/val/test WebDataset shards plus a manifest.

Each source is decoded robustly, rejected with a reason if it cannot teach colour (undecodable,
too small, near-grey, one hue such as sepia or duotone, exact duplicate), resized and centre-cropped,
and assigned to a split by a hash of its content. Same input, same bytes.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from skimage.color import rgb2lab
from skimage.morphology import opening
from tqdm import tqdm

from colorgan.data.imaging import centre_square, encode
from colorgan.data.shards import MANIFEST, ShardWriter
from colorgan.data.sources import Source, gather_sources
from colorgan.errors import UserError
from colorgan.images import image_to_rgb_array, open_image
from colorgan.io import PARTIAL, write_json_atomic

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class PrepOptions:
    """How photos are filtered and stored."""

    size: int = 256
    min_chroma: float = 6.0
    min_independent_chroma: float = 2.5
    min_cross_spread: float = 0.6
    val_fraction: float = 0.05
    test_fraction: float = 0.05
    image_format: str = "jpg"
    quality: int = 90
    maxcount: int = 1000


@dataclass
class Outcome:
    source: str
    key: str | None = None
    reason: str | None = None
    files: dict[str, bytes] | None = None
    split: str | None = None


def colour_statistics(rgb: np.ndarray, bins: int = 32) -> tuple[float, float, float]:
    """(mean LAB chroma, independent chroma, cross spread) of a small RGB image (H, W, 3) in [0, 1], e.g. a 64x64 thumbnail.

    A tinted photo (sepia, cyanotype, duotone, a colour-cast scan of a black-and-white print) has the colour of
    one ink or cast at each lightness, and its inks mix along one line in ab. It shows both signatures:

    - independent chroma, the colour that lightness does not explain, over areas: ab is predicted from L (the
      mean ab of `bins` lightness bins, interpolated between bin centres to follow steep tint curves) and a 3x3
      grey opening of the residual drops the one-pixel fringes that downscaling and JPEG chroma subsampling
      leave along edges; the RMS of what remains. Near 0 for tints; from about 3 up for real photos, saturated
      one-colour close-ups included, but low for a clear sky or a scene of flat regions that differ in lightness;
    - cross spread, the standard deviation of ab across its principal axis: near 0 for tints (one hue, or two
      inks), above 1 for real photos, even a clear sky (its hue drifts) or a leaf.

    Chroma alone cannot tell them apart: a cyanotype is as chromatic as a blue sky.
    """
    lab = rgb2lab(rgb)
    L, ab = lab[..., 0], lab[..., 1:]
    index = np.clip((L / 100 * bins).astype(int), 0, bins - 1).ravel()
    counts = np.bincount(index, minlength=bins)
    seen = counts > 0
    centres = (np.flatnonzero(seen) + 0.5) * 100 / bins
    predicted = np.stack([np.interp(L, centres, np.bincount(index, ab[..., c].ravel(), minlength=bins)[seen] / counts[seen]) for c in (0, 1)], -1)
    residual = np.linalg.norm(ab - predicted, axis=-1)
    independent = opening(residual, np.ones((3, 3), dtype=bool))
    cross = np.linalg.eigvalsh(np.cov(ab.reshape(-1, 2).T))[0]
    return float(np.linalg.norm(ab, axis=-1).mean()), float(np.sqrt(np.mean(independent**2))), float(np.sqrt(max(cross, 0.0)))


def split_of(key: str, val_fraction: float, test_fraction: float) -> str:
    """Deterministic split from the key's hash: the same photo always lands in the same split."""
    u = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) / 16**8
    return "test" if u < test_fraction else "val" if u < test_fraction + val_fraction else "train"


def process(source: Source, opts: PrepOptions) -> Outcome:
    """Decode, check and encode one photo; the outcome carries either the shard files or a reject reason."""
    try:
        data = Path(source.path).read_bytes()
    except OSError:
        return Outcome(source.path, reason="unreadable")
    key = hashlib.sha256(data).hexdigest()[:20]
    try:
        image = open_image(data)
        rgb = image_to_rgb_array(image)
    except (UserError, OSError, ValueError, SyntaxError):
        return Outcome(source.path, key, reason="undecodable")
    height, width = rgb.shape[:2]
    if min(width, height) < opts.size:
        return Outcome(source.path, key, reason="too_small")
    pixels = np.round(rgb * 255).astype(np.uint8)
    thumb = np.asarray(Image.fromarray(pixels).resize((64, 64), Image.Resampling.BILINEAR), dtype=np.float32) / 255.0
    chroma, independent, cross = colour_statistics(thumb)
    if chroma < opts.min_chroma:
        return Outcome(source.path, key, reason="near_grey")
    if independent < opts.min_independent_chroma and cross < opts.min_cross_spread:  # both signatures of a tint
        return Outcome(source.path, key, reason="one_hue")
    split = split_of(key, opts.val_fraction, opts.test_fraction)
    meta = {
        "source": source.name,
        "width": width,
        "height": height,
        "chroma": round(chroma, 3),
        "independent_chroma": round(independent, 3),
        "cross_spread": round(cross, 3),
        "split": split,
    }
    square = centre_square(torch.from_numpy(pixels).permute(2, 0, 1), opts.size)
    image_bytes = encode(Image.fromarray(square.permute(1, 2, 0).numpy()), opts.image_format, opts.quality)
    return Outcome(source.path, key, files={opts.image_format: image_bytes, "json": json.dumps(meta, sort_keys=True).encode()}, split=split)


def _process_star(args: tuple[Source, PrepOptions]) -> Outcome:
    return process(*args)


def _outcomes(sources: list[Source], opts: PrepOptions, workers: int) -> Iterator[Outcome]:
    jobs = [(s, opts) for s in sources]
    if workers <= 1:
        yield from map(_process_star, jobs)
        return
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        yield from pool.imap(_process_star, jobs, chunksize=8)


def prepare(
    specs: Iterable[str],
    out: str | Path,
    opts: PrepOptions = PrepOptions(),
    workers: int | None = None,
    progress: bool = True,
    split_for: Callable[[Source], str] | None = None,
) -> dict:
    """Build shards + manifest.json in `out` from the photos that `specs` name; returns the manifest."""
    specs = list(specs)
    sources = gather_sources(specs)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob("*" + PARTIAL):  # shards an interrupted run left half-written
        stale.unlink()
    writers = {split: ShardWriter(out, split, opts.maxcount) for split in SPLITS}
    seen: set[str] = set()
    rejects: list[dict[str, str]] = []
    workers = workers or os.cpu_count() or 1
    by_path = {s.path: s for s in sources}
    for outcome in tqdm(_outcomes(sources, opts, workers), total=len(sources), desc="prep", unit="img", disable=not progress):
        if outcome.reason is None and outcome.key in seen:
            outcome.reason = "duplicate"
        if outcome.reason is not None:
            rejects.append({"source": by_path[outcome.source].name, "reason": outcome.reason})
            continue
        seen.add(outcome.key)
        split = split_for(by_path[outcome.source]) if split_for else outcome.split
        writers[split].write(outcome.key, outcome.files)
    shards = [record for split in SPLITS for record in writers[split].close()]
    manifest = {
        "format": 1,
        "options": asdict(opts),
        "inputs": len(sources),
        "kept": sum(s["count"] for s in shards),
        "splits": {split: sum(s["count"] for s in shards if s["split"] == split) for split in SPLITS},
        "rejected": dict(sorted(Counter(r["reason"] for r in rejects).items())),
        "rejects": rejects,
        "shards": shards,
    }
    if manifest["kept"] == 0:
        raise UserError(f"none of the {len(sources)} images in {' '.join(specs)} was kept (rejected: {manifest['rejected']}); see --min-chroma and --size")
    write_json_atomic(out / MANIFEST, manifest)
    return manifest
