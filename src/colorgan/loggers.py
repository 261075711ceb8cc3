"""The loggers of a task, from making them to closing them: wandb offline without credentials, grouped by sweep,
checkpoints as artifacts on request, and the run finished however the task ends.

Checkpoints as wandb artifacts follow Lightning's WandbLogger (`logger.wandb.log_model`): false (default) logs none;
true logs the checkpoints ModelCheckpoint kept when training ends (`best` and `latest` aliases); all logs each one as
it is saved. Offline, measured with wandb 0.31 and Lightning 2.6: with WANDB_MODE=offline (what colorgan sets without
credentials) the artifacts are recorded in the offline run and their files staged in wandb's data folder
(WANDB_DATA_DIR, default ~/.local/share/wandb/artifacts/staging), which `wandb sync` uploads from on the same machine;
with `logger.wandb.offline=true`, Lightning refuses log_model, so the run logs no artifacts. Either way the run says
so in one line and goes on.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hydra.utils import instantiate
from omegaconf import DictConfig

log = logging.getLogger(__name__)


def has_wandb_credentials() -> bool:
    """True when an API key is in the environment or ~/.netrc; otherwise runs go offline."""
    if os.environ.get("WANDB_API_KEY"):
        return True
    netrc = Path(os.environ.get("NETRC", Path.home() / ".netrc"))
    return netrc.is_file() and "api.wandb.ai" in netrc.read_text(errors="ignore")


def make_loggers(cfg: DictConfig, group: str | None = None, name: str | None = None) -> list:
    """Instantiate the configured loggers; wandb goes offline without credentials and is grouped by sweep."""
    loggers = []
    for key, conf in (cfg.get("logger") or {}).items():
        if key == "wandb":
            if not has_wandb_credentials():
                os.environ.setdefault("WANDB_MODE", "offline")
            os.environ.setdefault("WANDB_SILENT", "true")
            Path(conf.save_dir).mkdir(parents=True, exist_ok=True)
            loggers.append(instantiate(conf, group=group, name=name, **offline_log_model(conf)))
        else:
            loggers.append(instantiate(conf))
    return loggers


def offline_log_model(conf: Any) -> dict[str, Any]:
    """Overrides for a WandbLogger config with log_model set in an offline run (empty otherwise), after one line saying
    what becomes of the checkpoints."""
    if not conf.get("log_model"):
        return {}
    if conf.get("offline"):
        log.warning(
            "wandb: logger.wandb.offline=true runs cannot log checkpoints as artifacts (Lightning refuses log_model offline): they stay in "
            "the run's checkpoints/ only; leave offline unset (no credentials: WANDB_MODE=offline) to stage them for `wandb sync`"
        )
        return {"log_model": False}
    if os.environ.get("WANDB_MODE") in ("offline", "dryrun"):
        log.warning(
            "wandb: offline run: checkpoints are recorded as artifacts and staged in wandb's data folder (WANDB_DATA_DIR, default "
            "~/.local/share/wandb); `wandb sync` uploads them from this machine while that folder still holds them"
        )
    return {}


@contextmanager
def closing_loggers() -> Iterator[None]:
    """Finish the wandb run a task started, on success and on failure (marked failed), so that the next
    task (a sweep's next job) starts a run of its own."""
    failed = False
    try:
        yield
    except BaseException:
        failed = True
        raise
    finally:
        wandb = sys.modules.get("wandb")
        if wandb is not None and wandb.run is not None:
            wandb.finish(exit_code=1 if failed else 0)
