"""DeOldify-style colouriser trained by NoGAN: one module, three stages.

- `generator`: the generator alone on the perceptual loss (encoder frozen or not; any size).
- `critic`: the generator frozen; the critic learns generated (L, G(L)) from real (L, ab).
- `gan`: the short adversarial phase. The critic trains on successive batches until its loss is
  below `critic_threshold`, then the generator takes one step on BCE + feature_weight x perceptual
  loss (DeOldify's adaptive switcher).

Each stage is a separate run that starts from the previous stage's weights (`init_from`);
`colorgan-train experiment=nogan` runs them in sequence.
"""

from __future__ import annotations

from typing import Any, Sequence

import torch
from hydra.utils import instantiate
from torch.optim.lr_scheduler import OneCycleLR

from colorgan.color import model_to_rgb
from colorgan.errors import UserError
from colorgan.losses import PerceptualLoss, discriminator_loss, gan_loss
from colorgan.models.base import ColorizationModule

STAGES = ("generator", "critic", "gan")


class DeOldify(ColorizationModule):
    """A timm-encoder U-Net generator and a patch critic; `stage` picks what a run trains.

    `generator` and `critic` are Hydra configs. `pretrained`/`pretrained_file` load ImageNet weights
    into the encoder through timm. The critic's lr is `critic_lr` (default 5 x lr). When the encoder
    trains, its lr is lr x `encoder_lr_factor` (discriminative learning rates). `perceptual_weights` is
    a VGG16-BN weights file (default: torchvision's hub cache); VGG is built only when fitting.
    """

    def __init__(
        self,
        generator: dict[str, Any],
        critic: dict[str, Any],
        stage: str = "generator",
        pretrained: bool = False,
        pretrained_file: str | None = None,
        freeze_encoder: bool = False,
        lr: float = 1e-3,
        encoder_lr_factor: float = 0.1,
        critic_lr: float | None = None,
        betas: Sequence[float] = (0.9, 0.99),
        weight_decay: float = 1e-3,
        perceptual_weights: str | None = None,
        feature_weight: float = 1.5,
        critic_threshold: float = 0.65,
        max_critic_steps: int = 10,
        fused_optimizer: bool = True,
    ):
        super().__init__()
        if stage not in STAGES:
            raise UserError(f"model.stage={stage} is not a NoGAN stage: use one of {', '.join(STAGES)}")
        self.save_hyperparameters()
        self.automatic_optimization = stage != "gan"
        self.generator = instantiate(generator, pretrained=pretrained, pretrained_file=pretrained_file)
        self.critic = instantiate(critic)
        self.generator.encoder.requires_grad_(not freeze_encoder)
        if stage == "critic":
            self.generator.requires_grad_(False)
        # GAN stage: whose turn it is and how long the critic has trained; in checkpoints so a resume continues exactly
        self.register_buffer("critic_steps", torch.zeros((), dtype=torch.long))
        self.register_buffer("critic_turn", torch.ones((), dtype=torch.bool))

    def setup(self, stage: str) -> None:
        if stage == "fit" and self.hparams.stage != "critic":
            # a fixed measuring tool, not part of the model: kept out of the state dict and checkpoints
            object.__setattr__(self, "perceptual", PerceptualLoss(self.hparams.perceptual_weights))

    def on_fit_start(self) -> None:
        if hasattr(self, "perceptual"):
            self.perceptual.to(self.device)

    def on_train_epoch_start(self) -> None:
        if self.hparams.stage == "critic":
            self.generator.eval()  # the critic learns the generator's inference-time output

    def perceptual_loss(self, L: torch.Tensor, fake: torch.Tensor, ab: torch.Tensor) -> torch.Tensor:
        """The feature loss on RGB rebuilt from the true L with predicted and true ab."""
        return self.perceptual(model_to_rgb(L, fake), model_to_rgb(L, ab))

    def critic_loss(self, L: torch.Tensor, ab: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        real_logits, fake_logits = self.critic(L, ab), self.critic(L, fake.detach())
        self.log_dict({"train/critic_real": torch.sigmoid(real_logits).mean(), "train/critic_fake": torch.sigmoid(fake_logits).mean()})
        return discriminator_loss(real_logits, fake_logits)

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor | None:
        L, ab = batch
        if self.hparams.stage == "generator":
            loss = self.perceptual_loss(L, self.generator(L), ab)
            self.log("train/loss_perceptual", loss, prog_bar=True)
            return loss
        if self.hparams.stage == "critic":
            with torch.no_grad():
                fake = self.generator(L)
            loss = self.critic_loss(L, ab, fake)
            self.log("train/loss_critic", loss, prog_bar=True)
            return loss
        self.adversarial_step(L, ab)
        return None

    def adversarial_step(self, L: torch.Tensor, ab: torch.Tensor) -> None:
        """One step of whichever network's turn it is (DeOldify's AdaptiveGANSwitcher)."""
        opt_g, opt_c = self.optimizers()
        if self.critic_turn:
            with torch.no_grad():
                fake = self.generator(L)
            with self.toggled_optimizer(opt_c):
                loss = self.critic_loss(L, ab, fake)
                self.manual_step(opt_c, loss)
            self.critic_steps += 1
            mean_loss = self.trainer.strategy.reduce(loss.detach(), reduce_op="mean")  # every DDP rank switches together
            if mean_loss.item() < self.hparams.critic_threshold or self.critic_steps >= self.hparams.max_critic_steps:
                self.critic_turn.fill_(False)
            self.log("train/loss_critic", loss, prog_bar=True)
            return
        with self.toggled_optimizer(opt_g):
            fake = self.generator(L)
            loss_gan = gan_loss(self.critic(L, fake), True)
            loss_perceptual = self.perceptual_loss(L, fake, ab)
            self.manual_step(opt_g, loss_gan + self.hparams.feature_weight * loss_perceptual)
        self.log_dict({"train/loss_g_gan": loss_gan, "train/loss_perceptual": loss_perceptual, "train/critic_steps": self.critic_steps.float()})
        self.critic_turn.fill_(True)
        self.critic_steps.zero_()

    def generator_param_groups(self) -> list[dict[str, Any]]:
        """Decoder at lr; the encoder at lr x encoder_lr_factor, or left out while frozen."""
        hp = self.hparams
        encoder = list(self.generator.encoder.parameters())
        encoder_ids = {id(p) for p in encoder}
        groups = [{"params": [p for p in self.generator.parameters() if id(p) not in encoder_ids], "lr": hp.lr}]
        if not hp.freeze_encoder:
            groups.append({"params": encoder, "lr": hp.lr * hp.encoder_lr_factor})
        return groups

    def configure_optimizers(self):
        hp = self.hparams
        adam = {"betas": tuple(hp.betas), "weight_decay": hp.weight_decay, "fused": self.fused_optimizer()}
        critic_lr = hp.critic_lr or 5 * hp.lr
        if hp.stage == "gan":  # constant learning rates, as DeOldify's GAN phase
            return [torch.optim.AdamW(self.generator_param_groups(), **adam), torch.optim.AdamW(self.critic.parameters(), lr=critic_lr, **adam)]
        if hp.stage == "generator":
            optimizer = torch.optim.AdamW(self.generator_param_groups(), **adam)
        else:
            optimizer = torch.optim.AdamW(self.critic.parameters(), lr=critic_lr, **adam)
        total = max(1, int(self.trainer.estimated_stepping_batches))
        schedule = OneCycleLR(optimizer, max_lr=[g["lr"] for g in optimizer.param_groups], total_steps=total)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}
