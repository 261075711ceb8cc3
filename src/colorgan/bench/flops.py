"""FLOPs of a training batch, counted by torch.utils.flop_counter, and what they make of a GPU's peak."""

from __future__ import annotations

import pytorch_lightning as pl
import torch
from torch.utils.flop_counter import FlopCounterMode

# dense bf16 tensor-core peaks (TFLOP/s) from the vendors' data sheets, by device-name fragment, most specific first
PEAK_BF16_TFLOPS = {"H100 PCIe": 756.0, "H100": 989.4, "H200": 989.4, "GH200": 989.4, "A100": 312.0, "L40S": 362.0, "L4": 121.0}


class FlopCount(pl.Callback):
    """FLOPs of one training batch (the one at `batch_index`)."""

    def __init__(self, batch_index: int):
        self.batch_index, self.mode, self.flops = batch_index, None, None

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if batch_idx == self.batch_index:
            self.mode = FlopCounterMode(display=False)
            self.mode.__enter__()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if self.mode is not None:
            self.mode.__exit__(None, None, None)
            self.flops, self.mode = self.mode.get_total_flops(), None


def model_flops_utilisation(flops_per_s: float, precision: str) -> float | None:
    """Achieved / peak bf16 FLOP/s on a known GPU with bf16 precision; None elsewhere."""
    if not torch.cuda.is_available() or "bf16" not in precision:
        return None
    name = torch.cuda.get_device_name()
    peak = next((tflops for fragment, tflops in PEAK_BF16_TFLOPS.items() if fragment in name), None)
    return round(flops_per_s / (peak * 1e12), 4) if peak else None


def flop_figures(flops_per_batch: int, batches: int, seconds: float, precision: str) -> dict:
    """GFLOPs per batch, the TFLOP/s achieved over `batches` batches in `seconds`, and the utilisation of the GPU's peak."""
    flops_per_s = flops_per_batch * batches / seconds
    return {
        "gflops_per_batch": round(flops_per_batch / 1e9, 2),
        "achieved_tflops_per_s": round(flops_per_s / 1e12, 4),
        "model_flops_utilisation": model_flops_utilisation(flops_per_s, precision),
    }
