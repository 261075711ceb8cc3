"""Recipe: the Places365 256x256 test set (328,500 JPEGs in one folder) -> colorgan shards.

    python data_prep/places365.py --src /data/places365/test_256 --out /data/places365_shards

The original project trained on this set after filtering out the photos that cannot teach colour
(it dropped about 8k). colorgan-prep does the same filtering with stated reasons; this script only
checks the layout, picks the files and chooses shard sizes that suit the set.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from colorgan.cli.errors import report_user_errors
from colorgan.data.prep import PrepOptions, prepare
from colorgan.errors import UserError

PATTERN = "Places365_test_*.jpg"
FULL_SIZE = 328_500


def list_photos(src: Path, limit: int | None) -> list[Path]:
    """The test set's photos in name order, optionally only the first `limit`."""
    photos = sorted(src.glob(PATTERN))
    if not photos:
        raise UserError(f"no {PATTERN} in {src}: download test_256.tar from the Places365 site and unpack it, then pass its test_256 folder")
    if limit:
        photos = photos[:limit]
    return photos


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--src", required=True, type=Path, help="the unpacked test_256 folder")
    p.add_argument("--out", required=True, type=Path, help="where shards and manifest.json go")
    p.add_argument("--limit", type=int, help="only the first N photos (a quick trial run)")
    p.add_argument("--workers", type=int)
    args = p.parse_args(argv)
    with report_user_errors("places365"):
        photos = list_photos(args.src, args.limit)
        if not args.limit and len(photos) != FULL_SIZE:
            print(f"note: {len(photos)} photos found, the full test set has {FULL_SIZE}", file=sys.stderr)
        listing = args.out / "sources.txt"
        args.out.mkdir(parents=True, exist_ok=True)
        listing.write_text("".join(f"{photo.resolve()}\n" for photo in photos))
        opts = PrepOptions(size=256, maxcount=5000, val_fraction=0.02, test_fraction=0.02)
        manifest = prepare([str(listing)], args.out, opts, workers=args.workers)
    print(f"{manifest['kept']} of {manifest['inputs']} kept {manifest['splits']}; rejected {manifest['rejected']}")
    print(f"next: colorgan-train data=shards data.root={args.out} trainer=gpu")


if __name__ == "__main__":
    main()
