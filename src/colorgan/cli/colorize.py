"""`colorgan-colorize CKPT INPUT... -o OUT`: colourise photos and videos (files, folders, globs) with a checkpoint."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from PIL import Image
from tqdm import tqdm

from colorgan.cli.errors import report_user_errors
from colorgan.data.sources import IMAGE_SUFFIXES, gather_sources
from colorgan.errors import UserError
from colorgan.hints import Hint, hints_from_json, parse_hint
from colorgan.images import open_image
from colorgan.inference import Colorizer
from colorgan.io import atomic_path
from colorgan.video import VIDEO_SUFFIXES
from colorgan.video.io import X264_PRESETS, output_name
from colorgan.video.job import VideoOptions
from colorgan.video.temporal import TEMPORAL_MODES
from colorgan.video.track import hints_by_frame

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
    p.add_argument("inputs", nargs="+", help="image or video files (mp4, mkv, mov, avi, webm), folders (recursive) or glob patterns")
    p.add_argument(
        "-o", "--out", required=True, help="output folder (input names are mirrored into it), or for one input its output file (film.mkv: the container)"
    )
    p.add_argument("--render-factor", type=int, default=None, help="model resolution: long side = 16 x N (default: the training size)")
    p.add_argument("--compare", action="store_true", help="write grey | colour side by side")
    p.add_argument(
        "--hint",
        action="append",
        default=[],
        metavar="X,Y,#RRGGBB[,SIZE]",
        help="a colour at a point of the photo (pixels from the top-left; repeatable; one input photo)",
    )
    p.add_argument(
        "--hints",
        metavar="FILE.json",
        help='hints for many photos: {"photo name": [{"x": X, "y": Y, "color": "#RRGGBB"}, ...], ...}; for a video each may give its "frame"',
    )
    p.add_argument(
        "--temporal",
        choices=TEMPORAL_MODES,
        default=VideoOptions.temporal,
        help="videos: hold colours still along optical flow (flow) or colour each frame alone (none)",
    )
    p.add_argument("--keep-colour", action="store_true", help="videos: frames already in colour pass through unchanged")
    p.add_argument("--crf", type=int, default=VideoOptions.crf, help="videos: H.264 quality (constant rate factor; lower = better, larger; 0 = lossless RGB)")
    p.add_argument("--preset", choices=X264_PRESETS, default=VideoOptions.preset, help="videos: x264 speed preset (slower: smaller files)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, ...")
    return p.parse_args(argv)


def targets(out: Path, sources: list) -> list[Path]:
    """Each input's output: mirrored into the folder `out`, or `out` itself when it names a file (one input)."""
    names_a_file = out.is_file() or (not out.exists() and out.suffix.lower() in KEEP_SUFFIXES | VIDEO_SUFFIXES)
    if not names_a_file:
        return [output_name(out / s.name) if Path(s.name).suffix.lower() in VIDEO_SUFFIXES else output_path(out, s.name) for s in sources]
    if len(sources) != 1:
        raise UserError(f"-o {out} names a file, and {len(sources)} inputs were given: give an output folder")
    video_in, video_out = Path(sources[0].name).suffix.lower() in VIDEO_SUFFIXES, out.suffix.lower() in VIDEO_SUFFIXES
    if video_in != video_out:
        kinds = "mp4, mkv, mov, avi or webm" if video_in else ", ".join(sorted(s.lstrip(".") for s in KEEP_SUFFIXES))
        raise UserError(f"-o {out}: {sources[0].name} is a {'video' if video_in else 'photo'}: end the output's name in {kinds}, or give a folder")
    return [out]


def hints_by_name(args: argparse.Namespace, sources: list) -> dict[str, list]:
    """Each input's hints as given (by its name as mirrored into the output, or its file name) from --hint or --hints:
    a list of hint objects, which for a video may name their frame."""
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
    if not isinstance(table, dict) or not all(isinstance(items, list) for items in table.values()):
        raise UserError(f"--hints {args.hints} must map photo names to lists of hints")
    names = {s.name for s in sources} | {Path(s.name).name for s in sources}
    unknown = sorted(set(table) - names)
    if unknown:
        raise UserError(f"--hints {args.hints} names {', '.join(unknown)}, which no input is: name each input as it is mirrored into -o, or by its file name")
    return table


def input_hints(given: list, video: bool) -> list[Hint] | dict[int, list[Hint]]:
    """One input's hints from --hint (Hints) or --hints (JSON objects): a list for a photo, by frame for a video."""
    if given and isinstance(given[0], Hint):
        return {0: given} if video else given
    return hints_by_frame(given) if video else hints_from_json(given)


def colour_video(colorizer: Colorizer, source, target: Path, args: argparse.Namespace, hints: dict) -> None:
    """Colour one video; its damaged frames are reported on one line."""
    summary = colorizer.colorize_video(
        source.path,
        target,
        render_factor=args.render_factor,
        temporal=args.temporal,
        hints=hints,
        keep_colour=args.keep_colour,
        crf=args.crf,
        preset=args.preset,
    )
    if summary["cut_off"]:
        tqdm.write(
            f"{PROG}: {source.path}: the file is cut off: its header promises more than its {summary['frames']} frames; those were coloured", file=sys.stderr
        )
    if summary["damaged"]:
        shown = ", ".join(map(str, summary["damaged"][:10])) + (", ..." if len(summary["damaged"]) > 10 else "")
        tqdm.write(f"{PROG}: {source.path}: {len(summary['damaged'])} damaged frames ({shown}) filled with the previous coloured frame", file=sys.stderr)


def main(argv: list[str] | None = None) -> None:
    """Console entry point; exits 1 if any input could not be coloured."""
    args = parse_args(argv)
    try:
        failures, sources = colour_all(args)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        sys.exit(130)
    done = len(sources) - failures
    print(f"{done} of {len(sources)} files coloured into {args.out}" + (f"; {failures} skipped" if failures else ""))
    sys.exit(1 if failures else 0)


def colour_all(args: argparse.Namespace) -> tuple[int, list]:
    """Colour every input; returns (how many were skipped, the inputs)."""
    failures = 0
    with report_user_errors(PROG):
        colorizer = Colorizer.from_checkpoint(args.checkpoint, device=args.device)
        sources = sorted(gather_sources(args.inputs, IMAGE_SUFFIXES | VIDEO_SUFFIXES), key=lambda s: s.name)
        outputs = targets(Path(args.out), sources)
        hints = hints_by_name(args, sources)
        colorizer.check_hints(hints)
        for source, target in tqdm(list(zip(sources, outputs)), desc="colorize", unit="file"):
            video = Path(source.name).suffix.lower() in VIDEO_SUFFIXES
            if target.resolve() == Path(source.path).resolve():
                tqdm.write(f"{PROG}: skipped {source.path}: the output would overwrite it; choose another -o", file=sys.stderr)
                failures += 1
                continue
            try:
                given = input_hints(hints.get(source.name) or hints.get(Path(source.name).name) or [], video)
                if video:
                    try:
                        colour_video(colorizer, source, target, args, given)
                    except KeyboardInterrupt:
                        print(f"{PROG}: interrupted; run the same command again to resume {source.path}", file=sys.stderr)
                        sys.exit(130)
                    continue
                grey = open_image(source.path)
                colour = colorizer.colorize(grey, args.render_factor, given)
            except UserError as exc:
                tqdm.write(f"{PROG}: skipped {source.path}: {exc}", file=sys.stderr)
                failures += 1
                continue
            save_atomic(side_by_side(grey, colour) if args.compare else colour, target)
    return failures, sources


if __name__ == "__main__":
    main()
