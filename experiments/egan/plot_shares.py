"""Plot E-GAN's running share of wins per mutation from runs' CSV logs (logger=csv), one line per run.

python experiments/egan/plot_shares.py <run>/csv/version_0/metrics.csv [<run2>/csv/version_0/metrics.csv ...] shares.png
"""

import csv
import sys
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def shares(metrics_csv: str) -> dict[str, list[tuple[int, float]]]:
    """mutation -> [(iteration, share of wins so far)] from one run's log."""
    series: dict[str, list[tuple[int, float]]] = defaultdict(list)
    with open(metrics_csv) as f:
        for row in csv.DictReader(f):
            for key, value in row.items():
                if key.startswith("egan/share/") and value:
                    series[key.removeprefix("egan/share/")].append((int(row["step"]), float(value)))
    return series


def main(*args: str) -> None:
    *metrics_csvs, out_png = args
    fig, ax = plt.subplots(figsize=(6, 3.5))
    colours = {}
    for run in metrics_csvs:
        for mutation, points in sorted(shares(run).items()):
            label = None if mutation in colours else mutation
            line = ax.plot([s for s, _ in points], [v for _, v in points], label=label, color=colours.get(mutation), alpha=0.8, linewidth=1.2)[0]
            colours.setdefault(mutation, line.get_color())
    ax.set_xlabel("iteration (batch)")
    ax.set_ylabel("share of wins so far")
    ax.set_ylim(0, 1)
    ax.legend()
    ax.set_title(f"E-GAN: which mutation wins ({len(metrics_csvs)} run{'s' if len(metrics_csvs) > 1 else ''}, one line each)")
    fig.tight_layout()
    fig.savefig(out_png, dpi=120)


if __name__ == "__main__":
    main(*sys.argv[1:])
