"""Finding input photos: folders (recursively), glob patterns, list files of paths, and single files."""

from __future__ import annotations

import glob
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from colorgan.errors import UserError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif"}
LIST_SUFFIXES = {".txt", ".lst"}


@dataclass(frozen=True)
class Source:
    """One input photo: where it is and the name it is ordered by (stable across machines)."""

    path: str
    name: str


def gather_sources(specs: Iterable[str], suffixes: set[str] = IMAGE_SUFFIXES) -> list[Source]:
    """Expand folders (recursively, files ending in `suffixes`), glob patterns, list files (.txt/.lst, one path per line) and files."""
    sources: list[Source] = []
    for spec in specs:
        path = Path(spec)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix.lower() in suffixes and p.is_file())
            sources += [Source(str(p), p.relative_to(path).as_posix()) for p in found]
        elif path.is_file() and path.suffix.lower() in LIST_SUFFIXES:
            lines = [line.strip() for line in path.read_text().splitlines()]
            sources += [Source(str(path.parent / line), line) for line in lines if line and not line.startswith("#")]
        elif path.is_file():
            sources.append(Source(str(path), path.name))
        elif glob.has_magic(spec):
            sources += [Source(p, Path(p).name) for p in sorted(glob.glob(spec, recursive=True)) if Path(p).is_file()]
        else:
            raise UserError(f"{spec}: no such file, folder or matching glob; give folders, globs or .txt lists of images")
    if not sources:
        raise UserError(f"no images found in {' '.join(specs)}: supported files end in {', '.join(sorted(suffixes))}")
    return sorted(sources, key=lambda s: hashlib.sha1(s.name.encode()).hexdigest())
