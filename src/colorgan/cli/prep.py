"""`colorgan-prep SRC... --out DIR`: photos -> WebDataset shards + manifest.json."""

from __future__ import annotations

import argparse
from dataclasses import fields

from colorgan.cli.errors import report_user_errors
from colorgan.data.prep import PrepOptions, prepare

PROG = "colorgan-prep"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    defaults = PrepOptions()
    p = argparse.ArgumentParser(prog=PROG, description=__doc__)
    p.add_argument("sources", nargs="+", metavar="SRC", help="folders (recursive), glob patterns or .txt lists of image paths")
    p.add_argument("--out", required=True, help="output folder for shards and manifest.json")
    p.add_argument("--size", type=int, default=defaults.size, help="side of the stored square images")
    p.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    p.add_argument("--maxcount", type=int, default=defaults.maxcount, help="images per shard")
    p.add_argument("--val-fraction", type=float, default=defaults.val_fraction)
    p.add_argument("--test-fraction", type=float, default=defaults.test_fraction)
    p.add_argument("--min-chroma", type=float, default=defaults.min_chroma, help="reject as near_grey below this mean LAB chroma")
    p.add_argument(
        "--min-independent-chroma",
        type=float,
        default=defaults.min_independent_chroma,
        help="a photo is one_hue (sepia, duotone, tinted) when less colour than this varies independently of lightness...",
    )
    p.add_argument(
        "--min-cross-spread",
        type=float,
        default=defaults.min_cross_spread,
        help="...and its ab spreads less than this across its main axis (one hue or two inks)",
    )
    p.add_argument("--image-format", choices=["jpg", "png", "webp"], default=defaults.image_format)
    p.add_argument("--quality", type=int, default=defaults.quality)
    p.add_argument("--no-progress", action="store_true")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Console entry point."""
    args = parse_args(argv)
    opts = PrepOptions(**{f.name: getattr(args, f.name) for f in fields(PrepOptions)})
    with report_user_errors(PROG):
        manifest = prepare(args.sources, args.out, opts, workers=args.workers, progress=not args.no_progress)
    rejected = ", ".join(f"{k} {v}" for k, v in manifest["rejected"].items()) or "none"
    splits = ", ".join(f"{k} {v}" for k, v in manifest["splits"].items())
    print(f"{manifest['kept']} of {manifest['inputs']} images kept ({splits}); rejected: {rejected}")
    print(f"{len(manifest['shards'])} shards and manifest.json in {args.out}")
    print(f"next: colorgan-train data=shards data.root={args.out}")


if __name__ == "__main__":
    main()
