"""Plot E-GAN's running share of wins per mutation from a run's CSV log (logger=csv).

    python experiments/egan/plot_shares.py outputs/train/<run>/csv/version_0/metrics.csv shares.png
"""

import csv
import sys
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main(metrics_csv: str, out_png: str) -> None:
    series: dict[str, list[tuple[int, float]]] = defaultdict(list)
    with open(metrics_csv) as f:
        for row in csv.DictReader(f):
            for key, value in row.items():
                if key.startswith("egan/share/") and value:
                    series[key.removeprefix("egan/share/")].append((int(row["step"]), float(value)))
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for mutation, points in sorted(series.items()):
        ax.plot([s for s, _ in points], [v for _, v in points], label=mutation)
    ax.set_xlabel("iteration (batch)")
    ax.set_ylabel("share of wins so far")
    ax.set_ylim(0, 1)
    ax.legend()
    ax.set_title("E-GAN: which mutation wins")
    fig.tight_layout()
    fig.savefig(out_png, dpi=120)


if __name__ == "__main__":
    main(*sys.argv[1:])
