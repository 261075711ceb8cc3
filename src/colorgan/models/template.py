"""A template colouriser to copy when adding a model: a small L -> ab network trained on L1.

Copy this file and conf/model/template.yaml (anywhere on the Python path and Hydra's search path: nothing in
colorgan changes), rename, and keep to the checklist; training, hints, colourising, export, evaluation and
benchmarks then work for the new model (tests/test_contract.py does exactly this).

1. `__init__` takes the generator's config and the model's own hyperparameters, passes `**options` (what every
   model takes: hints, hint_sampler, hint_prior, colour_jitter) to `super().__init__` and calls
   `self.save_hyperparameters()`: a checkpoint rebuilds the model from these arguments alone.
2. The generator is built with `self.build_generator(config)`, which adds `in_channels` (L, or L with a hint
   map), so the generator takes `in_channels`; if its input sides must be multiples of something, it says so
   in a `size_multiple` attribute.
3. `networks` names every network attribute, generator first (compile and channels_last act on all of them,
   export on the generator).
4. `training_step` starts with `L, ab, x = self.training_inputs(batch)` and generates with `self.generate(x)`.
5. The config sets `_recursive_: false` (the model builds its networks, with `in_channels`) and `_convert_: all`
   (plain dicts and lists: a checkpoint holds only plain values).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from colorgan.models.base import ColorizationModule


class TemplateGenerator(nn.Module):
    """Two stride-2 convolutions, back up x4, one convolution to ab in [-1, 1] (tanh)."""

    size_multiple = 4  # two halvings: input sides must be multiples of 4

    def __init__(self, in_channels: int = 1, width: int = 32):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, 2, 1),
            nn.ReLU(),
            nn.Conv2d(width, width, 3, 2, 1),
            nn.ReLU(),
            nn.Upsample(scale_factor=4, mode="bilinear"),
            nn.Conv2d(width, 2, 3, 1, 1),
            nn.Tanh(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class Template(ColorizationModule):
    """The generator alone, trained on L1 to the true ab with Adam at `lr`."""

    networks = ("generator",)  # every network attribute, generator first

    def __init__(self, generator: dict[str, Any], lr: float = 1e-3, **options: Any):
        super().__init__(**options)  # hints, hint_sampler, hint_prior, colour_jitter
        self.save_hyperparameters()  # generator, lr and the options: what a checkpoint rebuilds the model from
        self.generator = self.build_generator(generator)  # adds in_channels (4 with hints)

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        L, ab, x = self.training_inputs(batch)  # x: L, or L with simulated hints
        loss = F.l1_loss(self.generate(x), ab)  # generate: the generator, plus the hint prior where configured
        self.log("train/loss_l1", loss, prog_bar=True)
        return loss

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.generator.parameters(), lr=self.hparams.lr)
