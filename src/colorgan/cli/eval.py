"""`colorgan-eval ckpt=PATH [data=...]`: the metrics table of one or more checkpoints on one data set."""

from __future__ import annotations

from pathlib import Path

import hydra
from hydra.utils import instantiate
from omegaconf import DictConfig, ListConfig

from colorgan.cli.errors import report_user_errors
from colorgan.cli.hydra_app import run_app
from colorgan.config import config_dir

PROG = "colorgan-eval"


def row_names(paths: list[str], models: list, given: list[str] | None) -> list[str]:
    """Given names, else '<model class> (<run folder>)', numbered where they would clash."""
    from colorgan.errors import UserError

    if given is not None:
        if len(given) != len(paths):
            raise UserError(f"{len(given)} names for {len(paths)} checkpoints: give one name per checkpoint")
        return list(given)
    names = [f"{type(m).__name__.lower()} ({Path(p).resolve().parent.parent.name})" for p, m in zip(paths, models)]
    return [f"{n} #{i + 1}" if names.count(n) > 1 else n for i, n in enumerate(names)]


def run(cfg: DictConfig) -> dict:
    """Evaluate, then write results.json, results.md and contact_sheet.png into the run folder (and wandb)."""
    from torchvision.utils import save_image

    from colorgan.data.shards import write_atomic, write_json_atomic
    from colorgan.evaluate import COLUMNS, evaluate, markdown_table
    from colorgan.checkpoint import load_model
    from colorgan.inference import pick_device
    from colorgan.train import make_loggers

    paths = [str(p) for p in cfg.ckpt] if isinstance(cfg.ckpt, ListConfig) else [str(cfg.ckpt)]
    device = pick_device(cfg.device)
    models = [load_model(p, str(device)) for p in paths]
    names = row_names(paths, models, list(cfg.names) if cfg.names else None)
    datamodule = instantiate(cfg.data)
    datamodule.prepare_data()
    datamodule.setup("test")
    loader = datamodule.test_dataloader() if cfg.split == "test" else datamodule.val_dataloader()
    result = evaluate(dict(zip(names, models)), loader, datamodule.on_after_batch_transfer, device, cfg.fid_weights, cfg.lpips_weights, cfg.sheet_size)
    out = Path(cfg.paths.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    table = markdown_table(result["rows"])
    record = {k: v for k, v in result.items() if k != "sheet"} | {"checkpoints": dict(zip(names, paths)), "data": str(getattr(datamodule, "root", None))}
    write_json_atomic(out / "results.json", record)
    write_atomic(out / "results.md", (table + "\n").encode())
    if result["sheet"] is not None:
        partial = out / "contact_sheet.partial.png"
        save_image(result["sheet"], partial)
        partial.rename(out / "contact_sheet.png")
    for logger in make_loggers(cfg):
        if hasattr(logger, "log_table"):
            rows = [[r["model"], *(r[c] for c in COLUMNS)] for r in result["rows"]]
            logger.log_table("eval/metrics", columns=["model", *COLUMNS], data=rows)
            if result["sheet"] is not None:
                logger.log_image("eval/contact_sheet", [str(out / "contact_sheet.png")])
            import wandb

            wandb.finish()
    return record | {"table": table, "output_dir": str(out)}


@hydra.main(version_base="1.3", config_path=config_dir(), config_name="eval")
def _app(cfg: DictConfig) -> None:
    with report_user_errors(PROG):
        record = run(cfg)
    print(record["table"])
    print(f"{record['images']} images; FID: {record['fid']['features']}-d Inception-v3 features, {record['fid']['resize']}, weights {record['fid']['weights']}")
    for metric in ("fid", "lpips"):
        if not record[metric]["available"]:
            print(f"{metric.upper()} unavailable: no weights at {record[metric]['weights']} (give {metric}_weights=PATH)")
    print(f"results: {record['output_dir']}/results.json, results.md, contact_sheet.png")


def main() -> None:
    """Console entry point."""
    run_app(PROG, "eval", _app)
