"""`colorgan-colorize CKPT INPUT... -o OUT`: colourise photos (files, folders, globs) with a checkpoint."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PIL import Image
from tqdm import tqdm

from colorgan.cli.errors import report_user_errors
from colorgan.color import open_image
from colorgan.data.prep import gather_sources
from colorgan.errors import UserError
from colorgan.inference import Colorizer

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
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.partial{path.suffix}")
    image.save(tmp, quality=95) if path.suffix.lower() in (".jpg", ".jpeg", ".webp") else image.save(tmp)
    tmp.replace(path)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__)
    p.add_argument("checkpoint", help="a .ckpt written by colorgan-train")
    p.add_argument("inputs", nargs="+", help="image files, folders (recursive) or glob patterns")
    p.add_argument("-o", "--out", required=True, help="output folder (input names are mirrored into it)")
    p.add_argument("--render-factor", type=int, default=None, help="model resolution: long side = 16 x N (default: the training size)")
    p.add_argument("--compare", action="store_true", help="write grey | colour side by side")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, ...")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Console entry point; exits 1 if any input could not be coloured."""
    args = parse_args(argv)
    out_dir = Path(args.out)
    failures = 0
    with report_user_errors(PROG):
        colorizer = Colorizer.from_checkpoint(args.checkpoint, device=args.device)
        sources = gather_sources(args.inputs)
        for source in tqdm(sorted(sources, key=lambda s: s.name), desc="colorize", unit="img"):
            target = output_path(out_dir, source.name)
            if target.resolve() == Path(source.path).resolve():
                tqdm.write(f"{PROG}: skipped {source.path}: the output would overwrite it; choose another -o", file=sys.stderr)
                failures += 1
                continue
            try:
                grey = open_image(source.path)
                colour = colorizer.colorize(grey, args.render_factor)
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
