"""trainer=tpu on Lightning's XLA pieces: what the preset's accelerator and precision become on an XLA device.

Lightning's XLA accelerator counts TPU chips on the PCI bus, so it calls itself unavailable on an XLA CPU device
(PJRT_DEVICE=CPU, the rehearsal of trainer=tpu without a TPU; see experiments/tpu); and its XLA precision plugin
knows 32-true, 16-true and bf16-true (weights and Adam state in bf16) but not bf16-mixed, the precision of trainer=gpu
and trainer=tpu. Its classes need torch_xla only when instantiated.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from pytorch_lightning.accelerators import XLAAccelerator
from pytorch_lightning.plugins.precision import XLAPrecision

from colorgan.errors import UserError
from colorgan.io import write_json_atomic


class XLACPUAccelerator(XLAAccelerator):
    """Lightning's XLA accelerator on one XLA CPU device (PJRT_DEVICE=CPU). Lightning's own asks the cloud's
    metadata server for the TPU version while it parses devices; this one knows there is one device."""

    @staticmethod
    def auto_device_count() -> int:
        return 1

    @staticmethod
    def is_available() -> bool:
        return True

    @staticmethod
    def parse_devices(devices: Any) -> int:
        if str(devices) not in ("auto", "1", "-1"):
            raise UserError(f"trainer.devices={devices}: the XLA CPU device (PJRT_DEVICE=CPU) is one device, use trainer.devices=1")
        return 1

    @staticmethod
    def get_parallel_devices(devices: Any) -> list[torch.device]:
        return [torch.device("xla", 0)]


class XLABf16Mixed(XLAPrecision):
    """bf16-mixed on XLA, as Lightning's bf16-mixed elsewhere: fp32 weights and optimiser state, the forward
    passes under autocast to bf16 (XLA's autocast: matrix products and convolutions in bf16)."""

    def __init__(self) -> None:
        super().__init__("32-true")
        self.precision = "bf16-mixed"  # type: ignore[assignment]

    def forward_context(self):
        return torch.autocast("xla", dtype=torch.bfloat16)


def xla_trainer_arguments(trainer_cfg: Any) -> dict[str, Any]:
    """Trainer arguments that replace the preset's accelerator and precision on XLA; none for other accelerators."""
    if trainer_cfg.get("accelerator") != "tpu":
        return {}
    arguments: dict[str, Any] = {}
    if os.environ.get("PJRT_DEVICE") == "CPU":
        arguments["accelerator"] = XLACPUAccelerator()
    if trainer_cfg.get("precision") == "bf16-mixed":
        arguments |= {"precision": None, "plugins": [XLABf16Mixed()]}
    return arguments


def settle(device: torch.device) -> None:
    """On an XLA device, run what is still pending as one graph (torch_xla.sync), so that reading the logged metrics
    afterwards transfers values instead of compiling and running a graph for each; nothing elsewhere."""
    if device.type == "xla":
        import torch_xla

        torch_xla.sync()


def xla_counts() -> dict[str, int]:
    """torch_xla's counts so far: graph compilations, graph executions and transfers from device to host (each
    one waits for the device: a host sync)."""
    import torch_xla.debug.metrics as met

    def count(metric: str) -> int:
        data = met.metric_data(metric)
        return int(data[0]) if data else 0

    return {"compiles": count("CompileTime"), "executions": count("ExecuteTime"), "host_syncs": count("TransferFromDeviceTime")}


class XLAMetrics(pl.Callback):
    """For the first `batches` training batches, torch_xla's compilations, executions and host syncs and the
    batch's wall time, rewritten as JSON to `path` after each (the warm-up, where graphs settle or keep
    recompiling), with the ops that fell back to the CPU so far. Add it to a run with
    +callbacks.xla_metrics._target_=colorgan.xla.XLAMetrics +callbacks.xla_metrics.path=FILE."""

    def __init__(self, path: str, batches: int = 20):
        self.path, self.limit = Path(path), batches
        self.batches: list[dict[str, float]] = []
        self._start: tuple[float, dict[str, int]] | None = None

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self._start = (time.perf_counter(), xla_counts())

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if len(self.batches) >= self.limit:
            return
        import torch_xla.debug.metrics as met

        started, before = self._start
        after = xla_counts()
        self.batches.append({"seconds": round(time.perf_counter() - started, 3)} | {k: after[k] - before[k] for k in after})
        write_json_atomic(self.path, {"batches": self.batches, "fallback_ops": met.executed_fallback_ops()})
