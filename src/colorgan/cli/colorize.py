"""`colorgan-colorize CKPT INPUT... -o OUT`: colourise photos (files, folders, globs) with a checkpoint."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from PIL import Image
from tqdm import tqdm

from colorgan.cli.errors import report_user_errors
from colorgan.color import open_image
from colorgan.data.prep import gather_sources
from colorgan.errors import UserError
from colorgan.hints import Hint, hints_from_json, parse_hint
from colorgan.inference import Colorizer
from colorgan.io import atomic_path

PROG = "colorgan-colorize"
KEEP_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"}


def output_path(out_dir: Path, name: str) -> Path:
    """Mirror an input's relative name into `out_dir`, keeping its format where it can hold RGB."""
    path = out_dir / name
    return path if path.suffix.lower() in KEEP_SUFFIXES else path.with_suffix(".png")


def side_by_side(grey: Image.Image, colour: Image.Image) -> Image.Image:
    """grey | colour on one canvas."""
    canvas = Image.new("RGB", (grey.width + colour.width, grey.height), "white")
    canvas.paste(grey.convert("RGB"), (0, 0))
    canvas.paste(colour, (grey.width, 0))
    return canvas


def save_atomic(image: Image.Image, path: Path) -> None:
    """Save through a temporary name, so no half-written picture is ever left under the final name."""
    with atomic_path(path) as tmp:
        image.save(tmp, quality=95) if path.suffix.lower() in (".jpg", ".jpeg", ".webp") else image.save(tmp)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__)
    p.add_argument("checkpoint", help="a .ckpt written by colorgan-train, an export folder, or hf://owner/name[@revision] on the Hugging Face Hub")
    p.add_argument("inputs", nargs="+", help="image files, folders (recursive) or glob patterns")
    p.add_argument("-o", "--out", required=True, help="output folder (input names are mirrored into it)")
    p.add_argument("--render-factor", type=int, default=None, help="model resolution: long side = 16 x N (default: the training size)")
    p.add_argument("--compare", action="store_true", help="write grey | colour side by side")
    p.add_argument(
        "--hint",
        action="append",
        default=[],
        metavar="X,Y,#RRGGBB[,SIZE]",
        help="a colour at a point of the photo (pixels from the top-left; repeatable; one input photo)",
    )
    p.add_argument("--hints", metavar="FILE.json", help='hints for many photos: {"photo name": [{"x": X, "y": Y, "color": "#RRGGBB"}, ...], ...}')
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, ...")
    return p.parse_args(argv)


def hints_by_name(args: argparse.Namespace, sources: list) -> dict[str, list[Hint]]:
    """Each photo's hints (by its name as mirrored into the output, or its file name) from --hint or --hints."""
    if args.hint:
        if len(sources) != 1:
            raise UserError(f"--hint gives hints for one photo, and {len(sources)} were given: use --hints FILE.json for several")
        return {sources[0].name: [parse_hint(h) for h in args.hint]}
    if not args.hints:
        return {}
    try:
        table = json.loads(Path(args.hints).read_text())
    except (OSError, ValueError) as exc:
        raise UserError(
            f'cannot read --hints {args.hints} as JSON ({exc.__class__.__name__}): give a file like {{"photo.jpg": [{{"x": 10, "y": 20, "color": "#3060C0"}}]}}'
        ) from exc
    if not isinstance(table, dict):
        raise UserError(f"--hints {args.hints} must map photo names to lists of hints")
    return {name: hints_from_json(items) for name, items in table.items()}


def main(argv: list[str] | None = None) -> None:
    """Console entry point; exits 1 if any input could not be coloured."""
    args = parse_args(argv)
    out_dir = Path(args.out)
    failures = 0
    with report_user_errors(PROG):
        colorizer = Colorizer.from_checkpoint(args.checkpoint, device=args.device)
        sources = gather_sources(args.inputs)
        hints = hints_by_name(args, sources)
        if hints and not colorizer.contract.hints:
            raise UserError(
                "this model was trained without hints: colourise without --hint/--hints, or train one that takes them (colorgan-train experiment=hints)"
            )
        for source in tqdm(sorted(sources, key=lambda s: s.name), desc="colorize", unit="img"):
            target = output_path(out_dir, source.name)
            if target.resolve() == Path(source.path).resolve():
                tqdm.write(f"{PROG}: skipped {source.path}: the output would overwrite it; choose another -o", file=sys.stderr)
                failures += 1
                continue
            try:
                grey = open_image(source.path)
                colour = colorizer.colorize(grey, args.render_factor, hints.get(source.name) or hints.get(Path(source.name).name))
            except UserError as exc:
                tqdm.write(f"{PROG}: skipped {source.path}: {exc}", file=sys.stderr)
                failures += 1
                continue
            save_atomic(side_by_side(grey, colour) if args.compare else colour, target)
    done = len(sources) - failures
    print(f"{done} of {len(sources)} images coloured into {out_dir}" + (f"; {failures} skipped" if failures else ""))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
