"""`colorgan-bench data ...`: throughput and memory figures as JSON, for experiments/benchmarks/."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import torch

from colorgan.cli.errors import report_user_errors

PROG = "colorgan-bench"


def machine() -> dict:
    """What the figures were measured on."""
    return {
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
    }


def bench_data(args: argparse.Namespace) -> dict:
    """Images/s through the training pipeline (decode, crop, flip, batch) of the datamodule."""
    from colorgan.data.datamodule import LabDataModule

    dm = LabDataModule(
        root=args.root,
        train_urls=args.urls,
        image_size=args.size,
        batch_size=args.batch_size,
        num_workers=args.workers,
        batches_per_epoch=args.warmup + args.batches,
    )
    dm.setup("fit")
    if args.workers == 0:
        torch.set_num_threads(1)  # as in a DataLoader worker process
    loader = iter(dm.train_dataloader())
    for _ in range(args.warmup):
        next(loader)
    start = time.perf_counter()
    images = sum(next(loader).shape[0] for _ in range(args.batches))
    elapsed = time.perf_counter() - start
    per_s = images / elapsed
    return {
        "images_per_s": round(per_s, 1),
        "images_per_s_per_worker": round(per_s / max(1, args.workers), 1),
        "images": images,
        "seconds": round(elapsed, 3),
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
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
    for sp in (data,):
        sp.add_argument("--out", help="also write the JSON here (atomically)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Console entry point."""
    args = parse_args(argv)
    with report_user_errors(PROG):
        figures = {"data": bench_data}[args.what](args)
    record = {"bench": args.what, "command": " ".join([PROG, *(argv if argv is not None else sys.argv[1:])]), "machine": machine(), **figures}
    text = json.dumps(record, indent=2)
    print(text)
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".partial")
        tmp.write_text(text + "\n")
        tmp.replace(out)
