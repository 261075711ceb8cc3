"""Mean and spread over seeds of colorgan-train runs (logger=csv), as Markdown tables.

    python experiments/egan/summarize.py pix2pix=/tmp/egan_runs/pix2pix egan=/tmp/egan_runs/egan ...

Each NAME=FOLDER holds one run folder per seed (hydra.run.dir), each with csv/version_0/metrics.csv and train.log.
Per run: the last validation (and the best epoch's CIEDE2000), E-GAN's final mutation shares, and the fit time
(train.log's first line to Lightning's "`Trainer.fit` stopped" line).
"""

from __future__ import annotations

import csv
import statistics
import sys
from datetime import datetime
from pathlib import Path

COLUMNS = {  # heading -> (metric, digits)
    "val CIEDE2000 (last)": ("val/de2000", 2),
    "best epoch's": ("best_de2000", 2),
    "gain over grey": ("val/de2000_gain", 3),
    "PSNR": ("val/psnr", 2),
    "SSIM": ("val/ssim", 3),
    "colourfulness": ("val/cf", 1),
    "abs dCF": ("val/dcf", 2),
    "fit time (s)": ("fit_s", 0),
}


STOPPED = "`Trainer.fit` stopped"


def fit_seconds(log: Path) -> float:
    lines = log.read_text().splitlines()
    stamp = lambda line: datetime.strptime(line[1:24], "%Y-%m-%d %H:%M:%S,%f")  # noqa: E731
    return (stamp(next(line for line in lines if STOPPED in line)) - stamp(lines[0])).total_seconds()


def run_summary(run: Path) -> dict[str, float]:
    """One run's final validation metrics, best CIEDE2000, final E-GAN shares and fit time."""
    with open(run / "csv" / "version_0" / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    val = [r for r in rows if r.get("val/de2000")]
    summary = {k: float(v) for k, v in val[-1].items() if v and (k.startswith("val") or k == "epoch")}
    summary["best_de2000"] = min(float(r["val/de2000"]) for r in val)
    shares = [r for r in rows if any(k.startswith("egan/share/") and v for k, v in r.items())]
    if shares:
        summary |= {k: float(v) for k, v in shares[-1].items() if k.startswith("egan/share/") and v}
    summary["fit_s"] = fit_seconds(run / "train.log")
    return summary


def cell(values: list[float], digits: int) -> str:
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.{digits}f} ± {spread:.{digits}f}"


def main(groups: list[str]) -> None:
    runs = {}
    for group in groups:
        name, folder = group.split("=", 1)
        finished = [seed for seed in sorted(Path(folder).iterdir()) if (seed / "train.log").is_file() and STOPPED in (seed / "train.log").read_text()]
        runs[name] = {seed.name: run_summary(seed) for seed in finished}
    print("| model | seeds | " + " | ".join(COLUMNS) + " |")
    print("| --- " * (len(COLUMNS) + 2) + "|")
    for name, seeds in runs.items():
        cells = [cell([s[metric] for s in seeds.values()], digits) for metric, digits in COLUMNS.values()]
        print(f"| {name} | {len(seeds)} | " + " | ".join(cells) + " |")
    grey = [s["val_grey/de2000"] for seeds in runs.values() for s in seeds.values()]
    print(f"\ngrey baseline (ab = 0) val CIEDE2000: {statistics.mean(grey):.2f} (same validation set for every run)\n")
    shares = sorted({k for seeds in runs.values() for s in seeds.values() for k in s if k.startswith("egan/share/")})
    if shares:
        print("| model | " + " | ".join(f"share {k.removeprefix('egan/share/')}" for k in shares) + " |")
        print("| --- " * (len(shares) + 1) + "|")
        for name, seeds in runs.items():
            if all(k in s for s in seeds.values() for k in shares):
                print(f"| {name} | " + " | ".join(cell([s[k] for s in seeds.values()], 2) for k in shares) + " |")
    print("\nPer seed (val CIEDE2000 last / best, colourfulness, fit time):")
    for name, seeds in runs.items():
        print(
            f"- {name}: "
            + "; ".join(f"{seed} {s['val/de2000']:.2f} / {s['best_de2000']:.2f}, {s['val/cf']:.1f}, {s['fit_s']:.0f} s" for seed, s in seeds.items())
        )


if __name__ == "__main__":
    main(sys.argv[1:])
