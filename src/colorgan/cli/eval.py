"""`colorgan-eval ckpt_path=PATH [data=...]`: the metrics table of one or more checkpoints on one data set."""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from colorgan.cli.errors import report_user_errors
from colorgan.cli.hydra_app import run_app
from colorgan.config import config_dir

PROG = "colorgan-eval"


@hydra.main(version_base="1.3", config_path=config_dir(), config_name="eval")
def _app(cfg: DictConfig) -> None:
    from colorgan.tasks import evaluate

    with report_user_errors(PROG):
        record = evaluate(cfg)
    print(record["table"])
    print(f"{record['images']} images, protocol {record['protocol']}")
    for note in record["notes"]:  # what CF and FID are, and why a metric is missing
        print(note)
    print(f"results: {record['output_dir']}/results.json, results.md, contact_sheet.png")


def main() -> None:
    """Console entry point."""
    run_app(PROG, "eval", _app)
