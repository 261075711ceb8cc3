"""A callback for the DDP tests: what each rank trained on, its steps, E-GAN winners and final weights."""

from __future__ import annotations

import json
from pathlib import Path

import pytorch_lightning as pl
import torch


class Probe(pl.Callback):
    """Writes `<out>/rank<r>.json` when training ends."""

    def __init__(self, out: str):
        self.out = Path(out)
        self.seen: list[float] = []
        self.winners: list[int] = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        L, _ = batch
        self.seen += [round(float(v), 4) for v in L.float().mean(dim=(1, 2, 3))]

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if hasattr(pl_module, "winner"):
            self.winners.append(int(pl_module.winner))

    def on_train_end(self, trainer, pl_module):
        self.out.mkdir(parents=True, exist_ok=True)
        weights = torch.cat([p.detach().double().flatten() for p in pl_module.generator.parameters()])
        record = {
            "rank": trainer.global_rank,
            "world_size": trainer.world_size,
            "seen": self.seen,
            "winners": self.winners,
            "global_step": trainer.global_step,
            "val_de2000": float(trainer.callback_metrics["val/de2000"]),
            "generator_checksum": [float(weights.sum()), float(weights.abs().sum())],
        }
        (self.out / f"rank{trainer.global_rank}.json").write_text(json.dumps(record))
