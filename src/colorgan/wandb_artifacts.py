"""Checkpoints as wandb artifacts, the way Lightning's WandbLogger logs them (`logger.wandb.log_model`), offline too.

log_model: false (default) logs none; true logs the checkpoints ModelCheckpoint kept when training ends (`best` and
`latest` aliases); all logs each one as it is saved. Offline, measured with wandb 0.31 and Lightning 2.6:
with WANDB_MODE=offline (what colorgan sets without credentials) the artifacts are recorded in the offline run and
their files staged in wandb's data folder (WANDB_DATA_DIR, default ~/.local/share/wandb/artifacts/staging), which
`wandb sync` uploads from on the same machine; with `logger.wandb.offline=true`, Lightning refuses log_model, so the
run logs no artifacts. Either way the run says so in one line and goes on.
"""

from __future__ import annotations

import logging
import os
from typing import Any

log = logging.getLogger(__name__)


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
