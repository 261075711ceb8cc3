"""The base LightningModule: (L, ab) batches, metrics against the grey baseline, prediction, checkpoint metadata."""

from __future__ import annotations

from typing import Any

import pytorch_lightning as pl
import torch
from torch import nn
from torch.optim.lr_scheduler import LambdaLR

from colorgan.color import CONTRACT_VERSION, model_to_rgb
from colorgan.metrics import ColorMetrics


class ColorizationModule(pl.LightningModule):
    """Subclasses set `self.generator` (L -> ab) and implement `training_step` and `configure_optimizers`.

    Validation and test compare RGB rebuilt from the true L and the predicted ab with the truth, and
    log the same metrics for the grey baseline (ab = 0) beside them, plus `de2000_gain`, the fraction
    of the grey baseline's CIEDE2000 that the model removes.
    """

    generator: nn.Module

    def __init__(self) -> None:
        super().__init__()
        self.metrics = nn.ModuleDict({f"{stage}{kind}": ColorMetrics() for stage in ("val", "test") for kind in ("", "_grey")})

    def forward(self, L: torch.Tensor) -> torch.Tensor:
        return self.generator(L)

    def colorize(self, L: torch.Tensor) -> torch.Tensor:
        """Normalised L batch -> RGB in [0, 1] with the input's own lightness."""
        return model_to_rgb(L, self(L))

    def _evaluate(self, batch: tuple[torch.Tensor, torch.Tensor], stage: str) -> dict[str, torch.Tensor]:
        L, ab = batch
        images = {"grey": model_to_rgb(L, torch.zeros_like(ab)), "pred": self.colorize(L), "true": model_to_rgb(L, ab)}
        self.metrics[stage].update(images["pred"], images["true"])
        self.metrics[f"{stage}_grey"].update(images["grey"], images["true"])
        return images

    def validation_step(self, batch, batch_idx):
        return self._evaluate(batch, "val")

    def test_step(self, batch, batch_idx):
        return self._evaluate(batch, "test")

    def _log_metrics(self, stage: str) -> None:
        ours, grey = self.metrics[stage], self.metrics[f"{stage}_grey"]
        if ours.update_count == 0:
            return
        values, grey_values = ours.compute(), grey.compute()
        logged = {f"{stage}/{k}": v for k, v in values.items()}
        logged |= {f"{stage}_grey/{k}": v for k, v in grey_values.items()}
        logged[f"{stage}/de2000_gain"] = 1 - values["de2000"] / grey_values["de2000"].clamp(min=1e-8)
        self.log_dict(logged, sync_dist=True)  # equal on every rank already (the metrics reduce); keeps Lightning quiet
        ours.reset()
        grey.reset()

    def share_batch_norm_statistics(self) -> None:
        """Give every DDP rank rank 0's batch-norm running statistics, which drift apart where each rank
        normalised its own batches (no SyncBatchNorm on CPU); evaluation then uses the checkpointed model."""
        if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
            return
        for module in self.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm) and module.track_running_stats:
                torch.distributed.broadcast(module.running_mean, src=0)
                torch.distributed.broadcast(module.running_var, src=0)

    def on_validation_epoch_start(self) -> None:
        self.share_batch_norm_statistics()

    def on_test_epoch_start(self) -> None:
        self.share_batch_norm_statistics()

    def on_validation_epoch_end(self) -> None:
        self._log_metrics("val")

    def on_test_epoch_end(self) -> None:
        self._log_metrics("test")

    def predict_step(self, batch, batch_idx):
        L = batch[0] if isinstance(batch, (tuple, list)) else batch
        return self.colorize(L)

    def manual_step(self, optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> None:
        """One manual-optimisation step: clear the gradients, backward through Lightning (precision, DDP), step."""
        optimizer.zero_grad(set_to_none=True)
        self.manual_backward(loss)
        optimizer.step()

    def fused_optimizer(self) -> bool | None:
        """True when `fused_optimizer` is set and the weights live where PyTorch has fused Adam kernels (CPU, CUDA);
        None (PyTorch's choice) elsewhere, e.g. on XLA devices."""
        return bool(self.hparams.get("fused_optimizer") and self.device.type in ("cpu", "cuda")) or None

    def linear_decay(self, optimizer: torch.optim.Optimizer, start: float) -> LambdaLR:
        """Constant learning rate for the first `start` fraction of training, then linear decay to 0."""
        total = max(1, int(self.trainer.estimated_stepping_batches))
        begin = int(total * start)
        return LambdaLR(optimizer, lambda it: 1.0 if it < begin else max(0.0, (total - it) / max(1, total - begin)))

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        if not self.automatic_optimization:
            schedulers = self.lr_schedulers()
            for i, scheduler in enumerate(schedulers if isinstance(schedulers, list) else [schedulers] if schedulers else []):
                scheduler.step()
                self.log(f"lr/optimizer{i}", scheduler.get_last_lr()[0])

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        cls = type(self)
        checkpoint["colorgan"] = {"contract_version": CONTRACT_VERSION, "target": f"{cls.__module__}.{cls.__qualname__}"}
