"""`colorgan-bench data ...`: throughput and memory figures as JSON, for experiments/benchmarks/."""

from __future__ import annotations

import argparse
import json
import sys

from colorgan.bench.data import bench_data
from colorgan.bench.infer import bench_infer
from colorgan.bench.machine import machine
from colorgan.bench.train import bench_train
from colorgan.bench.video import bench_video
from colorgan.cli.errors import report_user_errors
from colorgan.io import write_atomic

PROG = "colorgan-bench"


def figures(args: argparse.Namespace) -> dict:
    """The figures of the benchmark the command line names (colorgan.bench)."""
    if args.what == "data":
        return bench_data(args.root, args.urls, size=args.size, batch_size=args.batch_size, workers=args.workers, batches=args.batches, warmup=args.warmup)
    if args.what == "train":
        return bench_train(args.overrides, steps=args.steps, warmup=args.warmup, loop=args.loop)
    if args.what == "infer":
        options = {"width": args.width, "height": args.height, "render_factor": args.render_factor, "repeats": args.repeats, "hints": args.hints}
        return bench_infer(args.ckpt, args.overrides, device=args.device, **options)
    return bench_video(args.ckpt, frames=args.frames, width=args.width, height=args.height, render_factor=args.render_factor)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line: the benchmark (data, train, infer, video) and its options."""
    p = argparse.ArgumentParser(prog=PROG, description=__doc__)
    sub = p.add_subparsers(dest="what", required=True)
    data = sub.add_parser("data", help="images/s through the datamodule's training pipeline")
    source = data.add_mutually_exclusive_group(required=True)
    source.add_argument("--root", help="folder with manifest.json (colorgan-prep output)")
    source.add_argument("--urls", help="shard URLs: paths, brace patterns, pipe: commands")
    data.add_argument("--size", type=int, default=256)
    data.add_argument("--batch-size", type=int, default=32)
    data.add_argument("--workers", type=int, default=0, help="0 measures one process, the main one")
    data.add_argument("--batches", type=int, default=50)
    data.add_argument("--warmup", type=int, default=5)
    train = sub.add_parser("train", help="training images/s and peak memory of a model (Hydra overrides pick it)")
    train.add_argument("--steps", type=int, default=10, help="timed batches")
    train.add_argument("--warmup", type=int, default=2)
    train.add_argument("--loop", choices=("lightning", "plain"), default="lightning", help="plain: the same pix2pix work without Lightning")
    train.add_argument("overrides", nargs="*", help="Hydra overrides as for colorgan-train, e.g. model=egan data.image_size=64")
    infer = sub.add_parser("infer", help="latency of colourising one photo")
    infer.add_argument("--ckpt", help="a checkpoint, export folder or hf://owner/name; without it the model comes from the overrides, untrained")
    infer.add_argument("--width", type=int, default=1024)
    infer.add_argument("--height", type=int, default=None, help="default: square")
    infer.add_argument("--render-factor", type=int, default=None)
    infer.add_argument("--repeats", type=int, default=5)
    infer.add_argument("--device", default="auto")
    infer.add_argument("--hints", type=int, default=0, help="re-colour with N hints, one changed each time (a hint-taking model)")
    infer.add_argument("overrides", nargs="*", help="Hydra overrides as for colorgan-train, e.g. model=pix2pix data.image_size=256")
    video = sub.add_parser("video", help="frames/s colourising a video (--temporal none and flow) and peak memory at 1x and 10x its length")
    video.add_argument("--ckpt", required=True, help="a checkpoint")
    video.add_argument("--frames", type=int, default=30, help="the clip's length (the long run is 10x)")
    video.add_argument("--width", type=int, default=640)
    video.add_argument("--height", type=int, default=480)
    video.add_argument("--render-factor", type=int, default=None)
    for sp in (data, train, infer, video):
        sp.add_argument("--out", help="also write the JSON here (atomically)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Console entry point."""
    args = parse_args(argv)
    with report_user_errors(PROG):
        measured = figures(args)
    record = {"bench": args.what, "command": " ".join([PROG, *(argv if argv is not None else sys.argv[1:])]), "machine": machine(), **measured}
    text = json.dumps(record, indent=2)
    print(text)
    if args.out:
        write_atomic(args.out, (text + "\n").encode())


if __name__ == "__main__":
    main()
