"""What the figures were measured on, and waiting for the device before a clock is read."""

from __future__ import annotations

import os
import platform

import torch


def machine() -> dict:
    """What the figures were measured on."""
    return {
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
    }


def synchronize(device: torch.device) -> None:
    """Wait until the device has run the work queued on it (CUDA runs asynchronously), so a clock read next counts it."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
