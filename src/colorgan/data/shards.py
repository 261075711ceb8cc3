"""Deterministic, atomic WebDataset shard writing and the manifest that lists the shards."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from pathlib import Path
from typing import Any

from colorgan.io import PARTIAL

MANIFEST = "manifest.json"


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class ShardWriter:
    """Writes one split's samples into `{split}-{index:06d}.tar` shards of at most `maxcount` samples.

    Tar headers carry no time, owner or permissions that vary, so the same samples give the same bytes.
    Each shard is written as `*.tar.partial` and renamed only once complete.
    """

    def __init__(self, out_dir: Path, split: str, maxcount: int = 1000):
        self.out_dir, self.split, self.maxcount = Path(out_dir), split, maxcount
        self.records: list[dict[str, Any]] = []
        self._tar: tarfile.TarFile | None = None
        self._count = 0

    def write(self, key: str, files: dict[str, bytes]) -> None:
        """Add one sample: `files` maps extensions (e.g. 'jpg', 'json') to their bytes."""
        if "." in key:
            raise ValueError(f"WebDataset keys must not contain dots: {key!r}")
        if self._tar is None or self._count >= self.maxcount:
            self._finish_shard()
            self._tar = tarfile.open(self._path(len(self.records)).with_suffix(".tar" + PARTIAL), "w", format=tarfile.GNU_FORMAT)  # noqa: SIM115 (closed by _finish_shard)
        for ext, data in files.items():
            info = tarfile.TarInfo(f"{key}.{ext}")
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            self._tar.addfile(info, io.BytesIO(data))
        self._count += 1

    def close(self) -> list[dict[str, Any]]:
        """Finish the last shard and return one record per shard: name, split, count, bytes, sha256."""
        self._finish_shard()
        return self.records

    def _path(self, index: int) -> Path:
        return self.out_dir / f"{self.split}-{index:06d}.tar"

    def _finish_shard(self) -> None:
        if self._tar is None:
            return
        self._tar.close()
        final = self._path(len(self.records))
        os.replace(final.with_suffix(".tar" + PARTIAL), final)
        self.records.append({"name": final.name, "split": self.split, "count": self._count, "bytes": final.stat().st_size, "sha256": file_sha256(final)})
        self._tar, self._count = None, 0


def read_manifest(root: Path) -> dict[str, Any]:
    """Load `root/manifest.json`, raising a UserError that says how to create it when missing."""
    from colorgan.errors import UserError

    path = Path(root) / MANIFEST
    if not path.is_file():
        raise UserError(f"no {MANIFEST} in {root}: run `colorgan-prep SRC... --out {root}` first, or point data.root at a prepared folder")
    return json.loads(path.read_text())


def split_urls(root: Path, manifest: dict[str, Any], split: str) -> list[str]:
    """Local paths of the shards of one split, in manifest order."""
    return [str(Path(root) / s["name"]) for s in manifest["shards"] if s["split"] == split]
