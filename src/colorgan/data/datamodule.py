"""The WebDataset LAB datamodule shared by every model.

Workers decode and augment RGB images into uint8 batches; the batch becomes (L, ab) on the device
in `on_after_batch_transfer`. Training streams resampled shards (different for every rank and
worker) and has a fixed number of batches per epoch, so every rank steps equally. With
`resample=False` an epoch is instead one pass over the training shards, each rank reading its own
share, cut to the batches every rank can deliver (from the manifest's counts). Validation and test
are exact single passes over their shards, split by rank and by worker.
"""

from __future__ import annotations

import glob
import io
import math
import random
from collections.abc import Iterable, Iterator, Sequence
from functools import partial
from itertools import islice
from pathlib import Path
from typing import Any

import braceexpand
import pytorch_lightning as pl
import torch
import webdataset as wds
from PIL import Image
from torchvision.io import ImageReadMode, decode_jpeg
from torchvision.transforms.v2.functional import pil_to_tensor
from webdataset.gopen import gopen_schemes

from colorgan.color import uint8_to_model
from colorgan.data.bundled import ensure_bundled
from colorgan.data.health import SkipCounter
from colorgan.data.imaging import centre_square, crop_resize
from colorgan.data.shards import read_manifest, split_urls
from colorgan.errors import UserError

IMAGE_KEYS = ("jpg", "jpeg", "png", "webp")


def open_with_fsspec(url: str, mode: str = "rb", bufsize: int = 8192, **kw) -> Any:
    """webdataset's opener for schemes it has no handler of its own for: whatever fsspec knows
    (s3:// with s3fs, gcs:// with gcsfs, az:// with adlfs, memory://, ...)."""
    import fsspec

    return fsspec.open(url, mode).open()


def open_other_schemes_with_fsspec(*_: Any) -> None:
    """Give webdataset `open_with_fsspec` for the URL schemes it has no opener of its own for. Called where shards
    are opened: when a loader is built (for the main process and the workers it forks) and as the loader's
    `worker_init_fn` (spawned workers import this module afresh)."""
    gopen_schemes["__default__"] = open_with_fsspec


def expand_urls(urls: str | Sequence[str]) -> list[str]:
    """Brace-expand shard URLs; local paths and globs must match files, `pipe:` and object-store URLs pass through."""
    items = [urls] if isinstance(urls, str) else list(urls)
    expanded = [u for item in items for u in braceexpand.braceexpand(str(item))]
    out = []
    for url in expanded:
        if url.startswith("pipe:") or "://" in url:
            out.append(url)
        elif glob.has_magic(url):
            out += sorted(glob.glob(url))
        elif Path(url).is_file():
            out.append(url)
        else:
            raise UserError(f"shard {url} does not exist: check data.root / data.*_urls, or run colorgan-prep to create shards")
    if not out:
        raise UserError(f"no shards match {urls}: check the path, or run colorgan-prep to create shards")
    return out


def decode_rgb(sample: dict[str, Any]) -> torch.Tensor:
    """The sample's image as a uint8 RGB tensor (3, H, W); JPEGs go through libjpeg-turbo directly.

    A sample that has no image or cannot be decoded raises a ValueError that names it and its shard.
    """
    key = next((k for k in IMAGE_KEYS if k in sample), None)
    where = f"sample {sample.get('__key__')} of {sample.get('__url__')}"
    if key is None:
        raise ValueError(f"{where} has no image ({', '.join(IMAGE_KEYS)})")
    try:
        if key in ("jpg", "jpeg"):
            return decode_jpeg(torch.frombuffer(bytearray(sample[key]), dtype=torch.uint8), mode=ImageReadMode.RGB)
        return pil_to_tensor(Image.open(io.BytesIO(sample[key])).convert("RGB"))
    except Exception as exc:  # libjpeg's and PIL's many ways of saying the bytes are damaged
        raise ValueError(f"{where} cannot be decoded: {exc}") from exc


class RandomCropFlip:
    """Training augmentation: random-resized crop (area fraction `scale`, aspect 3/4..4/3) and horizontal flip.

    Same distribution as torchvision's RandomResizedCrop, sampled with Python's `random` (seeded per
    DataLoader worker by PyTorch), which is cheaper per image than tensor ops.
    """

    def __init__(self, size: int, scale: Sequence[float], ratio: tuple[float, float] = (3 / 4, 4 / 3)):
        self.size, self.scale = size, tuple(scale)
        self.log_ratio = (math.log(ratio[0]), math.log(ratio[1]))

    def box(self, height: int, width: int) -> tuple[int, int, int, int]:
        """(top, left, height, width) of a random crop; the centre square if ten tries miss."""
        area = height * width
        for _ in range(10):
            target = area * random.uniform(*self.scale)
            aspect = math.exp(random.uniform(*self.log_ratio))
            w, h = round(math.sqrt(target * aspect)), round(math.sqrt(target / aspect))
            if 0 < w <= width and 0 < h <= height:
                return random.randint(0, height - h), random.randint(0, width - w), h, w
        side = min(height, width)
        return (height - side) // 2, (width - side) // 2, side, side

    def __call__(self, image: torch.Tensor) -> torch.Tensor:
        out = crop_resize(image, *self.box(*image.shape[-2:]), self.size)
        return out.flip(-1) if random.random() < 0.5 else out


def stack_channels_last(images: list[torch.Tensor]) -> torch.Tensor:
    """Batch (3, H, W) images stored channels-last (as decoded and resized) without transposing them:
    the result has shape (B, 3, H, W) in channels-last memory, which convolutions take as it is."""
    return torch.stack([image.permute(1, 2, 0) for image in images]).permute(0, 3, 1, 2)


class SeededShuffle:
    """webdataset's sample shuffle with its seed drawn from Python's `random` when a pass starts (webdataset's own
    draws it from the clock), so that runs with the same seed read the same samples in the same order.

    Not `wds.detshuffle`: its seed is fixed when the pipeline is built and is the same in every worker, whereas
    `random` follows the run's seed (pl.seed_everything) and differs per DataLoader worker and per pass."""

    def __init__(self, bufsize: int, initial: int):
        self.bufsize, self.initial = bufsize, initial

    def __call__(self, samples: Iterator[dict]) -> Iterator[dict]:
        return wds.shuffle(self.bufsize, self.initial, seed=random.getrandbits(64))(samples)


class Epochs:
    """Epochs of exactly `n` batches from a loader that is iterated again whenever it ends (as webdataset's
    `with_epoch`). When a fresh iteration delivers nothing, every read of the rank's stream is failing (see
    colorgan.data.health): the epoch is then filled with empty ("dry") batches instead of ending early, so that every
    rank still takes `n` steps and DataHealth stops all of them together at the first dry batch."""

    def __init__(self, loader: Iterable[torch.Tensor], n: int, image_size: int):
        self.loader, self.n, self.image_size = loader, n, image_size

    def __len__(self) -> int:
        return self.n

    def __iter__(self) -> Iterator[torch.Tensor]:
        return islice(self._stream(), self.n)

    def _stream(self) -> Iterator[torch.Tensor]:
        delivered = True
        while delivered:
            delivered = False
            for batch in self.loader:
                delivered = True
                yield batch
        while True:
            yield torch.empty(0, 3, self.image_size, self.image_size, dtype=torch.uint8)


def _worker_seed(seed: int, rank: int) -> int:
    info = torch.utils.data.get_worker_info()
    return seed * 1_000_003 + rank * 1000 + (info.id if info else 0)


class LabDataModule(pl.LightningDataModule):
    """Streams RGB image shards as (L, ab) batches.

    Shards come from `root` (a folder with manifest.json, written by colorgan-prep or a bundled set)
    or from explicit `train_urls` / `val_urls` / `test_urls` (paths, brace patterns, globs, `pipe:`
    commands or object-store URLs).

    Samples that cannot be decoded and shards that cannot be read are skipped with a warning and counted
    (`skip_counters`, logged by colorgan.data.health.DataHealth); more than `max_bad_fraction` of what was
    read, once `bad_check_after` samples were read, stops the run with one line.

    `seed` picks the shards each rank and worker resamples (the configs pass the run's seed; None: the clock's).
    """

    def __init__(
        self,
        root: str | None = None,
        bundled: str | None = None,
        train_urls: str | list[str] | None = None,
        val_urls: str | list[str] | None = None,
        test_urls: str | list[str] | None = None,
        image_size: int = 256,
        batch_size: int = 16,
        val_batch_size: int | None = None,
        num_workers: int = 2,
        batches_per_epoch: int = 200,
        shuffle_buffer: int = 1000,
        crop_scale: Sequence[float] = (0.5, 1.0),
        pin_memory: bool = False,
        seed: int | None = 0,
        resample: bool = True,
        max_bad_fraction: float = 0.01,
        bad_check_after: int = 1000,
    ):
        super().__init__()
        if root is None and train_urls is None:
            raise UserError("no data given: set data.root=DIR (a colorgan-prep output) or data.train_urls=...")
        whole = {"image_size": image_size, "batch_size": batch_size, "batches_per_epoch": batches_per_epoch, "bad_check_after": bad_check_after}
        for key, value in whole.items():
            if type(value) is not int or value < 1:
                raise UserError(f"data.{key}={value} must be a positive whole number")
        if not 0 <= max_bad_fraction <= 1:
            raise UserError(f"data.max_bad_fraction={max_bad_fraction} must be a fraction between 0 and 1 (e.g. 0.01 for 1 %)")
        self.root, self.bundled = root, bundled
        self.urls = {"train": train_urls, "val": val_urls, "test": test_urls}
        self.image_size, self.batch_size = image_size, batch_size
        self.val_batch_size = val_batch_size or batch_size
        self.num_workers, self.batches_per_epoch = num_workers, batches_per_epoch
        self.shuffle_buffer, self.crop_scale = shuffle_buffer, tuple(crop_scale)
        self.pin_memory, self.seed, self.resample = pin_memory, seed, resample
        self.max_bad_fraction, self.bad_check_after = max_bad_fraction, bad_check_after
        self.counts: dict[str, int] = {}
        self.skip_counters: dict[str, SkipCounter] = {}

    def prepare_data(self) -> None:
        if self.bundled:
            ensure_bundled(self.bundled, self.root)

    def setup(self, stage: str | None = None) -> None:
        manifest = read_manifest(Path(self.root)) if self.root else None
        if manifest is not None:
            self.counts = {str(Path(self.root) / s["name"]): s["count"] for s in manifest["shards"]}
        for split, given in list(self.urls.items()):
            if given is not None:
                self.urls[split] = expand_urls(given)
            elif manifest is not None:
                self.urls[split] = split_urls(Path(self.root), manifest, split) or None
        if not self.urls["train"] and stage in (None, "fit"):
            raise UserError(f"no training shards in {self.root}: its manifest lists none for split 'train'")

    def _counter(self, split: str) -> SkipCounter:
        """A fresh skip counter for the pipeline of `split` (the one its data loader reports)."""
        self.skip_counters[split] = SkipCounter(split, self.num_workers, self.max_bad_fraction, self.bad_check_after)
        return self.skip_counters[split]

    def _augmented_batches(self) -> list:
        """Shard stream -> shuffled, decoded, augmented training batches; bad samples and shards are skipped and counted."""
        counter = self._counter("train")
        return [
            wds.tarfile_to_samples(handler=counter.handler),
            SeededShuffle(self.shuffle_buffer, initial=min(100, self.shuffle_buffer)),
            wds.map(decode_rgb, handler=counter.handler),
            wds.map(RandomCropFlip(self.image_size, self.crop_scale)),
            wds.batched(self.batch_size, collation_fn=stack_channels_last, partial=False),
            wds.map(counter.delivered),
        ]

    def train_dataset(self, rank: int = 0) -> wds.DataPipeline:
        """Endless stream of training batches for one rank: resampled shards, sample shuffle, augmentation."""
        seed = partial(_worker_seed, self.seed or 0, rank)
        shards = wds.ResampledShards(self.urls["train"], worker_seed=seed, deterministic=self.seed is not None)
        return wds.DataPipeline(shards, *self._augmented_batches())

    def epoch_dataset(self, rank: int = 0, world_size: int = 1) -> wds.DataPipeline:
        """One pass over this rank's share of the training shards (no shard is read by two ranks)."""
        return wds.DataPipeline(wds.SimpleShardList(self.urls["train"][rank::world_size]), wds.split_by_worker, *self._augmented_batches())

    def epoch_batches(self, world_size: int) -> int:
        """Full batches the smallest rank delivers in one pass (its workers batch their shards separately)."""
        urls, workers = self.urls["train"], max(1, self.num_workers)
        if len(urls) < world_size * workers:
            raise UserError(f"{len(urls)} training shards for {world_size} ranks x {workers} workers: write more, smaller shards (colorgan-prep --maxcount)")
        if any(u not in self.counts for u in urls):
            return self.batches_per_epoch  # explicit URLs carry no counts: data.batches_per_epoch is the promise
        per_rank = [urls[r::world_size] for r in range(world_size)]
        return min(sum(sum(self.counts[u] for u in shards[w::workers]) // self.batch_size for w in range(workers)) for shards in per_rank)

    def eval_dataset(self, split: str, rank: int = 0, world_size: int = 1) -> wds.DataPipeline:
        """One exact pass over a split: this rank's share of the shards, split again by worker; bad samples and
        shards are skipped and counted (per pass)."""
        counter = self._counter(split)
        return wds.DataPipeline(
            wds.SimpleShardList(self.urls[split][rank::world_size]),
            counter.new_pass,
            wds.split_by_worker,
            wds.tarfile_to_samples(handler=counter.handler),
            wds.map(decode_rgb, handler=counter.handler),
            wds.map(partial(centre_square, size=self.image_size)),
            wds.batched(self.val_batch_size, collation_fn=stack_channels_last, partial=True),
            wds.map(counter.delivered),
        )

    def _loader(self, dataset: wds.DataPipeline) -> wds.WebLoader:
        open_other_schemes_with_fsspec()  # this process opens the shards, or forked workers that inherit it
        return wds.WebLoader(
            dataset,
            batch_size=None,
            num_workers=self.num_workers,
            pin_memory=self.pin_memory,
            persistent_workers=self.num_workers > 0,
            worker_init_fn=open_other_schemes_with_fsspec,
        )

    def _rank(self) -> tuple[int, int]:
        trainer = self.trainer
        return (trainer.global_rank, trainer.world_size) if trainer is not None else (0, 1)

    def train_dataloader(self) -> Epochs:
        rank, world = self._rank()
        if self.resample:
            dataset, n = self.train_dataset(rank), self.batches_per_epoch
        else:
            dataset, n = self.epoch_dataset(rank, world), self.epoch_batches(world)
        return Epochs(self._loader(dataset), n, self.image_size)

    def _eval_loader(self, split: str) -> wds.WebLoader | list:
        if not self.urls[split]:
            return []
        rank, world = self._rank()
        if len(self.urls[split]) < world:
            raise UserError(f"{split} has {len(self.urls[split])} shard(s) for {world} ranks: write more, smaller shards (colorgan-prep --maxcount)")
        return self._loader(self.eval_dataset(split, rank, world))

    def val_dataloader(self):
        return self._eval_loader("val")

    def test_dataloader(self):
        return self._eval_loader("test")

    def on_after_batch_transfer(self, batch: torch.Tensor, dataloader_idx: int) -> tuple[torch.Tensor, torch.Tensor]:
        """uint8 RGB batch on the device -> (L, ab) in the colour contract's ranges."""
        return uint8_to_model(batch)
