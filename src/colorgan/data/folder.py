"""A folder of colour photos as an evaluation set: centre squares at one size, as (L, ab) batches."""

from __future__ import annotations

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset

from colorgan.color import to_uint8, uint8_to_model
from colorgan.data.imaging import centre_square
from colorgan.data.sources import gather_sources
from colorgan.images import load_rgb


class FolderImages(Dataset):
    """Every image under `root` (folders recurse; globs and .txt lists work too) as its centre square resized to
    `image_size` (antialiased), uint8 RGB (3, S, S)."""

    def __init__(self, root: str, image_size: int):
        self.sources = gather_sources([root])
        self.image_size = image_size

    def __len__(self) -> int:
        return len(self.sources)

    def __getitem__(self, index: int) -> torch.Tensor:
        square = centre_square(load_rgb(self.sources[index].path), self.image_size)
        return to_uint8(square)


class FolderDataModule(pl.LightningDataModule):
    """Evaluation only: `test_dataloader()` (and `val_dataloader()`) over the photos in `root`, in a fixed order."""

    def __init__(self, root: str, image_size: int = 256, batch_size: int = 16, num_workers: int = 0):
        super().__init__()
        self.root, self.image_size, self.batch_size, self.num_workers = root, image_size, batch_size, num_workers

    def setup(self, stage: str | None = None) -> None:
        self.dataset = FolderImages(self.root, self.image_size)

    def test_dataloader(self) -> DataLoader:
        return DataLoader(self.dataset, batch_size=self.batch_size, num_workers=self.num_workers)

    val_dataloader = test_dataloader

    def on_after_batch_transfer(self, batch: torch.Tensor, dataloader_idx: int) -> tuple[torch.Tensor, torch.Tensor]:
        """uint8 RGB batch on the device -> (L, ab) in the colour contract's ranges."""
        return uint8_to_model(batch)
