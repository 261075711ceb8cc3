"""A folder of colour photos as an evaluation set: centre squares at one size, as (L, ab) batches."""

from __future__ import annotations

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset

from colorgan.color import load_rgb
from colorgan.data.datamodule import LabDataModule
from colorgan.data.prep import gather_sources


class FolderImages(Dataset):
    """Every image under `root` (folders recurse; globs and .txt lists work too), resized so the
    short side is `image_size` (antialiased) and centre-cropped to a square; uint8 RGB (3, S, S)."""

    def __init__(self, root: str, image_size: int):
        self.sources = gather_sources([root])
        self.image_size = image_size

    def __len__(self) -> int:
        return len(self.sources)

    def __getitem__(self, index: int) -> torch.Tensor:
        rgb = load_rgb(self.sources[index].path)
        h, w = rgb.shape[-2:]
        scale = self.image_size / min(h, w)
        size = (max(self.image_size, round(h * scale)), max(self.image_size, round(w * scale)))
        rgb = torch.nn.functional.interpolate(rgb[None], size=size, mode="bilinear", antialias=True, align_corners=False)[0]
        top, left = (size[0] - self.image_size) // 2, (size[1] - self.image_size) // 2
        square = rgb[:, top : top + self.image_size, left : left + self.image_size]
        return square.clamp(0, 1).mul(255).round().to(torch.uint8)


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
    on_after_batch_transfer = LabDataModule.on_after_batch_transfer
