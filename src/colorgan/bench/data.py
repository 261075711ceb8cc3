"""Images/s through the datamodule's training pipeline (`colorgan-bench data`)."""

from __future__ import annotations

import time

import torch

from colorgan.data.datamodule import LabDataModule


def bench_data(root: str | None, urls: str | None, size: int = 256, batch_size: int = 32, workers: int = 0, batches: int = 50, warmup: int = 5) -> dict:
    """Images/s through the training pipeline (decode, crop, flip, batch) of the datamodule, from a prepared
    folder (`root`) or shard URLs, after `warmup` batches; workers=0 measures one process, the main one."""
    dm = LabDataModule(root=root, train_urls=urls, image_size=size, batch_size=batch_size, num_workers=workers, batches_per_epoch=warmup + batches)
    dm.setup("fit")
    if workers == 0:
        torch.set_num_threads(1)  # as in a DataLoader worker process
    loader = iter(dm.train_dataloader())
    for _ in range(warmup):
        next(loader)
    start = time.perf_counter()
    images = sum(next(loader).shape[0] for _ in range(batches))
    elapsed = time.perf_counter() - start
    per_s = images / elapsed
    return {
        "images_per_s": round(per_s, 1),
        "images_per_s_per_worker": round(per_s / max(1, workers), 1),
        "images": images,
        "seconds": round(elapsed, 3),
    }
