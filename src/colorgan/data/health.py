"""Training that survives bad data: skipped samples and broken shards are counted, logged and bounded.

A run streaming millions of samples from object storage meets damaged JPEGs, truncated shards and
dropped connections. The datamodule's pipelines skip them through webdataset's exception handlers
(`SkipCounter.handler`) and count them in shared memory, where every DataLoader worker adds to its
own row; the `DataHealth` callback sums the counts over workers and ranks, logs them to every logger
(`data/skipped_train`, `data/skipped_val`, `data/skipped_test`) and stops the run with one line when
more than `data.max_bad_fraction` of what was read is bad.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytorch_lightning as pl
import torch

from colorgan.errors import UserError

log = logging.getLogger(__name__)

GOOD, BAD = 0, 1
SPLIT_NAMES = {"train": "training", "val": "validation", "test": "test"}


def describe(exn: BaseException) -> str:
    """An exception as one short line: its type and its text arguments (webdataset appends the shard's URL)."""
    return f"{type(exn).__name__}: " + ", ".join(str(arg) for arg in exn.args if isinstance(arg, str))


class SkipCounter:
    """Samples delivered and items skipped (samples that fail to decode, shards that fail to read) by one split's
    pipeline, counted per DataLoader worker in shared memory that forked and spawned workers both write to.

    Training counts from the start of the run; an evaluation pass starts again from zero (`new_pass`), so after
    the pass the counts are that pass's. `handler` is a webdataset exception handler: it logs and counts the
    failure and goes on, unless `check_after` failures came in a row with nothing decoded in between: then the
    worker's stream ends, so that a data set nothing can be read from stops the run instead of spinning forever.
    """

    def __init__(self, split: str, workers: int, max_bad_fraction: float, check_after: int):
        self.split, self.max_bad_fraction, self.check_after = split, max_bad_fraction, check_after
        self.counts = torch.zeros(max(1, workers), 2, dtype=torch.int64).share_memory_()
        self.failures_in_a_row = 0  # per process: each worker has its own copy

    def _row(self) -> torch.Tensor:
        info = torch.utils.data.get_worker_info()
        return self.counts[info.id if info else 0]

    def handler(self, exn: Exception) -> bool:
        """webdataset handler: count and log the failure; True (go on) unless nothing has decoded for a long time."""
        self._row()[BAD] += 1
        self.failures_in_a_row += 1
        log.warning("%s data: skipped %s", self.split, describe(exn))
        return self.failures_in_a_row < self.check_after

    def delivered(self, batch: torch.Tensor) -> torch.Tensor:
        """Pipeline stage after batching: count the batch's samples as read."""
        self._row()[GOOD] += len(batch)
        self.failures_in_a_row = 0
        return batch

    def new_pass(self, source: Iterator) -> Iterator:
        """Pipeline stage at the start of an evaluation pass: this worker's counts start again from zero."""
        self._row().zero_()
        self.failures_in_a_row = 0
        yield from source

    def totals(self) -> torch.Tensor:
        """(read, skipped) of this process and its workers."""
        return self.counts.sum(0)

    def check(self, good: int, bad: int) -> None:
        """One line, once at least `check_after` samples were read, if more than `max_bad_fraction` of them were bad."""
        seen = good + bad
        if seen >= self.check_after and bad > self.max_bad_fraction * seen:
            raise UserError(
                f"{bad} of {seen} {SPLIT_NAMES.get(self.split, self.split)} samples and shard reads failed ({bad / seen:.1%}, more than data.max_bad_fraction={self.max_bad_fraction}): "
                "the warnings above name them; re-create the damaged shards (colorgan-prep) or raise data.max_bad_fraction"
            )


class DataHealth(pl.Callback):
    """Logs how many samples and shard reads each split skipped (`data/skipped_{split}`, summed over workers and
    ranks) and stops the run with one line when more than `data.max_bad_fraction` of what was read is bad.

    Training counts are logged and checked every `every` batches and at the end of each epoch (one tiny
    all-reduce each time, on every rank, so that all ranks stop together); validation and test counts after
    each pass. A training stream that ran dry (`bad_check_after` failed reads in a row: the datamodule then
    delivers empty batches) stops the run with one line; under DDP the ranks agree on that before every batch
    (a one-element all-reduce), so that they all stop at the same batch and none waits for the others.
    """

    def __init__(self, every: int = 50):
        self.every = every

    @staticmethod
    def _report(trainer: pl.Trainer, pl_module: pl.LightningModule, split: str) -> None:
        counter = getattr(trainer.datamodule, "skip_counters", {}).get(split)
        if counter is None:  # a data module that does not stream shards
            return
        good, bad = trainer.strategy.reduce(counter.totals().to(pl_module.device), reduce_op="sum").tolist()
        # the count is already summed over ranks: syncing with max leaves it as it is (and Lightning does not warn)
        pl_module.log(f"data/skipped_{split}", float(bad), sync_dist=True, reduce_fx="max")
        counter.check(good, bad)

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        first = batch[0] if isinstance(batch, (tuple, list)) else batch
        dry = len(first) == 0  # from the shape: no device sync
        if trainer.world_size > 1:
            dry = bool(trainer.strategy.reduce(torch.tensor(float(dry), device=pl_module.device), reduce_op="sum").item())
        if dry:
            self._report(trainer, pl_module, "train")  # the bad-fraction line, when that is why
            counter = trainer.datamodule.skip_counters["train"]
            raise UserError(
                f"training data ran dry: {counter.check_after} reads in a row failed on a rank (data.bad_check_after), the warnings above name them; "
                "check that the shards are readable (colorgan-prep re-creates damaged ones)"
            )

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if (batch_idx + 1) % self.every == 0:
            self._report(trainer, pl_module, "train")

    def on_train_epoch_end(self, trainer, pl_module):
        self._report(trainer, pl_module, "train")

    def on_validation_epoch_end(self, trainer, pl_module):
        if not trainer.sanity_checking:  # a few batches, not a pass
            self._report(trainer, pl_module, "val")

    def on_test_epoch_end(self, trainer, pl_module):
        self._report(trainer, pl_module, "test")
