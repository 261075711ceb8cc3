"""`colorgan-train [overrides] [-m]`: the Hydra app that fits a colouriser (default: the embedded demo)."""

from __future__ import annotations

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from colorgan.cli.errors import report_user_errors
from colorgan.cli.hydra_app import run_app
from colorgan.config import config_dir

PROG = "colorgan-train"


def against_grey(metrics: dict) -> str | None:
    """The validation CIEDE2000 beside leaving the photos grey, in words."""
    if "val/de2000" not in metrics or "val_grey/de2000" not in metrics:
        return None
    ours, grey = metrics["val/de2000"], metrics["val_grey/de2000"]
    change = (grey - ours) / grey * 100
    verdict = f"{change:.0f} % closer to the true colours than grey" if change >= 0 else f"{-change:.0f} % further from the true colours than grey"
    return f"val CIEDE2000 {ours:.2f} against {grey:.2f} for the grey photos (ab = 0), on validation photos it did not train on: {verdict}"


def summary(result: dict, resume_args: list[str], note: str | None = None) -> str:
    """What a user wants to see at the end of a run: how good it is, where things are, what to try next."""
    lines = [f"stage {stage}: {r['last_checkpoint']}" for stage, r in result.get("stages", {}).items()]
    lines.append(f"global step {result['global_step']}")
    if against_grey(result["metrics"]):
        lines.append(against_grey(result["metrics"]))
    for label, key in (("checkpoint", "best_checkpoint"), ("last", "last_checkpoint"), ("samples", "sample_grid"), ("wandb run", "wandb_dir")):
        if result.get(key):
            lines.append(f"{label}: {result[key]}")
    if result.get("run_dir"):  # staged: the same command in the same folder skips finished stages
        lines.append(" ".join(["resume: colorgan-train", *resume_args, f"hydra.run.dir={result['run_dir']}"]))
    elif result.get("last_checkpoint"):
        lines.append(" ".join(["resume: colorgan-train", *resume_args, f"ckpt_path={result['last_checkpoint']}"]))
    lines.append(note.strip() if note else "next: colorgan-train experiment=hints   |   colorgan-train -m model.lambda_l1=10,100")
    return "\n".join(lines)


@hydra.main(version_base="1.3", config_path=config_dir(), config_name="train")
def _app(cfg: DictConfig) -> float | None:
    from colorgan.tasks import fit

    hydra_cfg = HydraConfig.get()
    multirun = hydra_cfg.mode == RunMode.MULTIRUN
    group = hydra_cfg.sweep.dir.rstrip("/").split("/")[-1] if multirun else None
    name = f"{hydra_cfg.job.num}:{hydra_cfg.job.override_dirname}" if multirun else None
    with report_user_errors(PROG):
        result = fit(cfg, group=group, name=name)
    if result["is_global_zero"]:
        print(summary(result, [o for o in hydra_cfg.overrides.task if not o.startswith(("ckpt_path=", "hparams_search="))], cfg.get("closing_note")))
    return result["metrics"].get(cfg.optimized_metric)  # what sweepers (Optuna) optimise


def main() -> None:
    """Console entry point."""
    run_app(PROG, "train", _app)


if __name__ == "__main__":
    main()
