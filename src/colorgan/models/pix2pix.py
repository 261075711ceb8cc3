"""pix2pix (Isola et al. 2017) as a colouriser: U-Net generator, conditional PatchGAN, GAN + lambda * L1."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from hydra.utils import instantiate

from colorgan.losses import discriminator_loss, gan_loss
from colorgan.models.base import ColorizationModule


class Pix2Pix(ColorizationModule):
    """The conditional GAN baseline. `generator` and `discriminator` are Hydra configs of nn.Modules.

    With hints, the generator also sees the hint map; the discriminator judges (L, ab) alone, since a
    colourisation should look real whatever hints it was given (and L1 already ties it to the truth).
    """

    networks = ("generator", "discriminator")

    def __init__(
        self,
        generator: dict[str, Any],
        discriminator: dict[str, Any],
        lambda_l1: float = 100.0,
        lr: float = 2e-4,
        betas: Sequence[float] = (0.5, 0.999),
        decay_start: float = 0.5,
        fused_optimizer: bool = True,
        **options: Any,
    ):
        super().__init__(**options)  # what every model takes: hints, hint_sampler, hint_prior, colour_jitter
        self.save_hyperparameters()
        self.automatic_optimization = False
        self.generator = self.build_generator(generator)
        self.discriminator = instantiate(discriminator)

    def discriminator_loss(self, L: torch.Tensor, ab: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """Half the BCE of real (L, ab) as real plus (L, G(L)) as fake."""
        real_logits = self.discriminator(L, ab)
        fake_logits = self.discriminator(L, fake.detach())
        self.log_dict({"train/d_real": torch.sigmoid(real_logits).mean(), "train/d_fake": torch.sigmoid(fake_logits).mean()})
        return discriminator_loss(real_logits, fake_logits)

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        L, ab, x = self.training_inputs(batch)
        opt_g, opt_d = self.optimizers()
        fake = self.generate(x)

        with self.toggled_optimizer(opt_d):
            loss_d = self.discriminator_loss(L, ab, fake)
            self.manual_step(opt_d, loss_d)

        with self.toggled_optimizer(opt_g):
            loss_gan = gan_loss(self.discriminator(L, fake), True)
            loss_l1 = F.l1_loss(fake, ab)
            self.manual_step(opt_g, loss_gan + self.hparams.lambda_l1 * loss_l1)

        self.log_dict({"train/loss_d": loss_d, "train/loss_g_gan": loss_gan, "train/loss_l1": loss_l1}, prog_bar=True)

    def configure_optimizers(self):
        hp = self.hparams
        adam = {"lr": hp.lr, "betas": tuple(hp.betas), "fused": self.fused_optimizer()}
        opt_g = torch.optim.Adam(self.generator.parameters(), **adam)
        opt_d = torch.optim.Adam(self.discriminator.parameters(), **adam)
        return [opt_g, opt_d], [self.linear_decay(opt_g, hp.decay_start), self.linear_decay(opt_d, hp.decay_start)]
