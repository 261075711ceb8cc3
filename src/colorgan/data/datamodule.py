"""The WebDataset LAB datamodule shared by every model.

Workers decode and augment RGB images into uint8 batches; the batch becomes (L, ab) on the device
in `on_after_batch_transfer`. Training streams resampled shards (different for every rank and
worker) and has a fixed number of batches per epoch, so every rank steps equally; validation and
test are exact single passes over their shards, split by rank and by worker.
"""

from __future__ import annotations

import glob
import io
import math
from functools import partial
from pathlib import Path
from typing import Any, Sequence

import braceexpand
import pytorch_lightning as pl
import torch
import webdataset as wds
from PIL import Image
from torchvision.transforms import v2

from colorgan.color import rgb_to_model
from colorgan.data.bundled import ensure_bundled
from colorgan.data.shards import read_manifest, split_urls
from colorgan.errors import UserError

IMAGE_KEYS = ("jpg", "jpeg", "png", "webp")


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


def decode_rgb(sample: dict[str, Any], draft: int) -> Image.Image:
    """The sample's image as an RGB PIL image; JPEGs decode directly at a reduced scale when that is enough."""
    for key in IMAGE_KEYS:
        if key in sample:
            image = Image.open(io.BytesIO(sample[key]))
            if image.format == "JPEG":
                image.draft("RGB", (draft, draft))
            return image.convert("RGB")
    raise ValueError(f"sample {sample.get('__key__')} has no image ({', '.join(IMAGE_KEYS)})")


def _worker_seed(seed: int, rank: int) -> int:
    info = torch.utils.data.get_worker_info()
    return seed * 1_000_003 + rank * 1000 + (info.id if info else 0)


class LabDataModule(pl.LightningDataModule):
    """Streams RGB image shards as (L, ab) batches.

    Shards come from `root` (a folder with manifest.json, written by colorgan-prep or a bundled set)
    or from explicit `train_urls` / `val_urls` / `test_urls` (paths, brace patterns, globs, `pipe:`
    commands or object-store URLs).
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
        seed: int = 0,
    ):
        super().__init__()
        if root is None and train_urls is None:
            raise UserError("no data given: set data.root=DIR (a colorgan-prep output) or data.train_urls=...")
        self.root, self.bundled = root, bundled
        self.urls = {"train": train_urls, "val": val_urls, "test": test_urls}
        self.image_size, self.batch_size = image_size, batch_size
        self.val_batch_size = val_batch_size or batch_size
        self.num_workers, self.batches_per_epoch = num_workers, batches_per_epoch
        self.shuffle_buffer, self.crop_scale = shuffle_buffer, tuple(crop_scale)
        self.pin_memory, self.seed = pin_memory, seed

    def prepare_data(self) -> None:
        if self.bundled:
            ensure_bundled(self.bundled, self.root)

    def setup(self, stage: str | None = None) -> None:
        manifest = read_manifest(Path(self.root)) if self.root else None
        for split, given in list(self.urls.items()):
            if given is not None:
                self.urls[split] = expand_urls(given)
            elif manifest is not None:
                self.urls[split] = split_urls(Path(self.root), manifest, split) or None
        if not self.urls["train"] and stage in (None, "fit"):
            raise UserError(f"no training shards in {self.root}: its manifest lists none for split 'train'")

    def transform(self, train: bool) -> v2.Compose:
        """Random-resized crop + flip for training, resize + centre crop otherwise; PIL -> uint8 tensor."""
        size = self.image_size
        if train:
            ops = [v2.RandomResizedCrop(size, scale=self.crop_scale, antialias=True), v2.RandomHorizontalFlip()]
        else:
            ops = [v2.Resize(size, antialias=True), v2.CenterCrop(size)]
        return v2.Compose([*ops, v2.PILToTensor()])

    def train_dataset(self, rank: int = 0) -> wds.DataPipeline:
        """Endless stream of training batches for one rank: resampled shards, sample shuffle, augmentation."""
        draft = math.ceil(self.image_size / math.sqrt(self.crop_scale[0]))
        return wds.DataPipeline(
            wds.ResampledShards(self.urls["train"], worker_seed=partial(_worker_seed, self.seed, rank), deterministic=True),
            wds.tarfile_to_samples(handler=wds.warn_and_continue),
            wds.shuffle(self.shuffle_buffer, initial=min(100, self.shuffle_buffer)),
            wds.map(partial(decode_rgb, draft=draft)),
            wds.map(self.transform(train=True)),
            wds.batched(self.batch_size, collation_fn=torch.stack, partial=False),
        )

    def eval_dataset(self, split: str, rank: int = 0, world_size: int = 1) -> wds.DataPipeline:
        """One exact pass over a split: this rank's share of the shards, split again by worker."""
        return wds.DataPipeline(
            wds.SimpleShardList(self.urls[split][rank::world_size]),
            wds.split_by_worker,
            wds.tarfile_to_samples(handler=wds.warn_and_continue),
            wds.map(partial(decode_rgb, draft=self.image_size)),
            wds.map(self.transform(train=False)),
            wds.batched(self.val_batch_size, collation_fn=torch.stack, partial=True),
        )

    def _loader(self, dataset: wds.DataPipeline) -> wds.WebLoader:
        return wds.WebLoader(
            dataset,
            batch_size=None,
            num_workers=self.num_workers,
            pin_memory=self.pin_memory,
            persistent_workers=self.num_workers > 0,
        )

    def _rank(self) -> tuple[int, int]:
        trainer = self.trainer
        return (trainer.global_rank, trainer.world_size) if trainer is not None else (0, 1)

    def train_dataloader(self) -> wds.WebLoader:
        n = self.batches_per_epoch
        return self._loader(self.train_dataset(self._rank()[0])).with_epoch(nbatches=n).with_length(n, silent=True)

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
        return rgb_to_model(batch.float() / 255.0)
