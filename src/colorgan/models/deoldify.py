"""DeOldify-style colouriser trained by NoGAN: one module, three stages.

- `generator`: the generator alone on the perceptual loss (encoder frozen or not; any size).
- `critic`: the generator frozen; the critic learns generated (L, G(L)) from real (L, ab).
- `gan`: the short adversarial phase, the encoder frozen (as DeOldify's GAN phase). The critic trains on
  successive batches until its loss is below `critic_threshold`, then the generator takes one step on
  BCE + feature_weight x perceptual loss (DeOldify's adaptive switcher).

Each stage is a separate run that starts from the previous stage's weights (`init_from`);
`colorgan-train experiment=nogan` runs them in sequence.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from hydra.utils import instantiate
from torch import nn
from torch.optim.lr_scheduler import OneCycleLR

from colorgan.color import model_to_rgb
from colorgan.errors import UserError
from colorgan.losses import PerceptualLoss, discriminator_loss, gan_loss
from colorgan.models.base import ColorizationModule

STAGES = ("generator", "critic", "gan")


class DeOldify(ColorizationModule):
    """A timm-encoder U-Net generator and a patch critic; `stage` picks what a run trains (one training-step
    method and one optimiser set-up per stage: `<stage>_step`, `<stage>_optimizers`).

    `generator` and `critic` are Hydra configs. `pretrained`/`pretrained_file` start the encoder from ImageNet
    weights through timm (its `weight_sources`: not saved with its arguments). The critic's lr is `critic_lr`
    (default 5 x lr). When the encoder trains (generator stage, unless `freeze_encoder`), its lr is
    lr x `encoder_lr_factor` (discriminative learning rates); the GAN stage always freezes it. `perceptual_weights` is a VGG16-BN weights file
    (default: torchvision's hub cache); VGG is built only when fitting and kept out of the state dict.
    Every model's options (hints, hint_sampler, hint_prior, colour_jitter) come through `options`.
    """

    networks = ("generator", "critic")
    weight_sources = ("pretrained", "pretrained_file")

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
        unclipped_perceptual: bool = False,
        critic_threshold: float = 0.65,
        max_critic_steps: int = 10,
        fused_optimizer: bool = True,
        **options: Any,
    ):
        if stage not in STAGES:
            raise UserError(f"model.stage={stage} is not a NoGAN stage: use one of {', '.join(STAGES)}")
        super().__init__(**options)  # what every model takes: hints, hint_sampler, hint_prior, colour_jitter
        self.save_hyperparameters(ignore=self.weight_sources)
        self.automatic_optimization = stage != "gan"
        self.generator = self.build_generator(generator, pretrained=pretrained, pretrained_file=pretrained_file)
        self.critic = instantiate(critic)
        self.generator.encoder.requires_grad_(stage == "generator" and not freeze_encoder)
        if stage == "critic":
            self.generator.requires_grad_(False)
        self.perceptual: nn.Module | None = None  # built by setup("fit"); never in the state dict or checkpoints
        self.register_state_dict_post_hook(self._drop_perceptual)
        self.register_load_state_dict_post_hook(self._perceptual_is_not_expected)
        # GAN stage: whose turn it is and how long the critic has trained; in checkpoints so a resume continues exactly
        self.register_buffer("critic_steps", torch.zeros((), dtype=torch.long))
        self.register_buffer("critic_turn", torch.ones((), dtype=torch.bool))

    @staticmethod
    def _drop_perceptual(module: nn.Module, state_dict: dict[str, Any], prefix: str, local_metadata: Any) -> None:
        for key in [k for k in state_dict if k.startswith(f"{prefix}perceptual.")]:
            del state_dict[key]

    @staticmethod
    def _perceptual_is_not_expected(module: nn.Module, incompatible_keys: Any) -> None:
        incompatible_keys.missing_keys[:] = [k for k in incompatible_keys.missing_keys if not k.startswith("perceptual.")]

    def setup(self, stage: str) -> None:
        super().setup(stage)
        if stage == "fit" and self.hparams.stage != "critic" and self.perceptual is None:
            self.perceptual = PerceptualLoss(self.hparams.perceptual_weights)  # a fixed measuring tool: frozen, moved with the model

    def on_train_epoch_start(self) -> None:
        if self.hparams.stage == "critic":
            self.generator.eval()  # the critic learns the generator's inference-time output

    def perceptual_loss(self, L: torch.Tensor, fake: torch.Tensor, ab: torch.Tensor) -> torch.Tensor:
        """The feature loss on RGB rebuilt from the true L with predicted and true ab: clipped to sRGB, or unclipped
        with `unclipped_perceptual` (out-of-gamut predictions keep their gradient)."""
        return self.perceptual(model_to_rgb(L, fake, clip=not self.hparams.unclipped_perceptual), model_to_rgb(L, ab))

    def critic_loss(self, L: torch.Tensor, ab: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        real_logits, fake_logits = self.critic(L, ab), self.critic(L, fake.detach())
        self.log_dict({"train/critic_real": torch.sigmoid(real_logits).mean(), "train/critic_fake": torch.sigmoid(fake_logits).mean()})
        return discriminator_loss(real_logits, fake_logits)

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor | None:
        return getattr(self, f"{self.hparams.stage}_step")(*self.training_inputs(batch))

    def generator_step(self, L: torch.Tensor, ab: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Generator stage: the perceptual loss alone."""
        loss = self.perceptual_loss(L, self.generate(x), ab)
        self.log("train/loss_perceptual", loss, prog_bar=True)
        return loss

    def critic_step(self, L: torch.Tensor, ab: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Critic stage: the critic learns the frozen generator's output from the truth."""
        with torch.no_grad():
            fake = self.generate(x)
        loss = self.critic_loss(L, ab, fake)
        self.log("train/loss_critic", loss, prog_bar=True)
        return loss

    def gan_step(self, L: torch.Tensor, ab: torch.Tensor, x: torch.Tensor) -> None:
        """GAN stage: one step of whichever network's turn it is (DeOldify's AdaptiveGANSwitcher)."""
        opt_g, opt_c = self.optimizers()
        if self.critic_turn:
            with torch.no_grad():
                fake = self.generate(x)
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
            fake = self.generate(x)
            loss_gan = gan_loss(self.critic(L, fake), True)
            loss_perceptual = self.perceptual_loss(L, fake, ab)
            self.manual_step(opt_g, loss_gan + self.hparams.feature_weight * loss_perceptual)
        self.log_dict({"train/loss_g_gan": loss_gan, "train/loss_perceptual": loss_perceptual, "train/critic_steps": self.critic_steps.float()})
        self.critic_turn.fill_(True)
        self.critic_steps.zero_()

    def adam(self) -> dict[str, Any]:
        hp = self.hparams
        return {"betas": tuple(hp.betas), "weight_decay": hp.weight_decay, "fused": self.fused_optimizer()}

    def critic_lr(self) -> float:
        return self.hparams.critic_lr or 5 * self.hparams.lr

    def one_cycle(self, optimizer: torch.optim.Optimizer) -> dict[str, Any]:
        """The optimiser with a per-batch OneCycle schedule over the run's length in batches."""
        schedule = OneCycleLR(optimizer, max_lr=[g["lr"] for g in optimizer.param_groups], total_steps=self.training_batches())
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}

    def generator_optimizers(self) -> dict[str, Any]:
        """Decoder at lr; the encoder at lr x encoder_lr_factor, or left out while frozen; OneCycle."""
        hp = self.hparams
        encoder = list(self.generator.encoder.parameters())
        encoder_ids = {id(p) for p in encoder}
        groups = [{"params": [p for p in self.generator.parameters() if id(p) not in encoder_ids], "lr": hp.lr}]
        if not hp.freeze_encoder:
            groups.append({"params": encoder, "lr": hp.lr * hp.encoder_lr_factor})
        return self.one_cycle(torch.optim.AdamW(groups, **self.adam()))

    def critic_optimizers(self) -> dict[str, Any]:
        """The critic alone at critic_lr; OneCycle."""
        return self.one_cycle(torch.optim.AdamW(self.critic.parameters(), lr=self.critic_lr(), **self.adam()))

    def gan_optimizers(self) -> list[torch.optim.Optimizer]:
        """Constant learning rates, as DeOldify's GAN phase: the generator without its (frozen) encoder, and the critic."""
        trainable = [p for p in self.generator.parameters() if p.requires_grad]
        return [
            torch.optim.AdamW(trainable, lr=self.hparams.lr, **self.adam()),
            torch.optim.AdamW(self.critic.parameters(), lr=self.critic_lr(), **self.adam()),
        ]

    def configure_optimizers(self):
        return getattr(self, f"{self.hparams.stage}_optimizers")()
