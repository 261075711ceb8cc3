"""The base LightningModule and the model contract every colouriser states.

A model is one module (a `ColorizationModule` subclass) and one config (conf/model/NAME.yaml), nothing more:
colorgan.models.template is the one to copy, its docstring the checklist. Training, inference, export and
eval work from the config and the checkpoint alone (bench names Pix2Pix only for its plain-PyTorch reference
loop). The contract (`ModelContract`) is what inference, export, eval and bench need to know, written into
every checkpoint and read from there alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import pytorch_lightning as pl
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, ListConfig
from torch import nn
from torch.optim.lr_scheduler import LambdaLR

from colorgan.color import CONTRACT_VERSION, model_to_rgb
from colorgan.errors import UserError
from colorgan.hints import HintSampler, generator_input, hints_in_input, input_channels
from colorgan.metrics import ColorMetrics
from colorgan.nets.layers import zero_last_layer
from colorgan.propagation import push_pull

CHECKPOINT_FORMAT = 2  # 1: colorgan 0.1.0 (no contract stored); 2: the contract is in checkpoint["colorgan"]["model"]
INPUTS = {False: ("L",), True: ("L", "hint_ab", "hint_mask")}


@dataclass(frozen=True)
class ModelContract:
    """What a trained model promises to whoever runs it.

    networks: attribute names of its nn.Modules, generator first (compile and channels_last act on all,
    export on the generator); image_size: the side it was trained at (the default render size);
    size_multiple: input sides must be multiples of this; inputs: the generator's inputs, L alone or
    L with a hint map (see colorgan.hints).
    """

    networks: tuple[str, ...]
    image_size: int
    size_multiple: int
    inputs: tuple[str, ...]

    @property
    def hints(self) -> bool:
        """Whether the generator takes user hints."""
        return "hint_mask" in self.inputs

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ModelContract:
        return cls(tuple(values["networks"]), int(values["image_size"]), int(values["size_multiple"]), tuple(values["inputs"]))


def jitter_colours(ab: torch.Tensor) -> torch.Tensor:
    """Each image's ab rotated by a random hue angle and scaled by a random chroma factor in [0.5, 1.5]."""
    angle = torch.rand(ab.shape[0], 1, 1, device=ab.device) * 2 * torch.pi
    scale = 0.5 + torch.rand(ab.shape[0], 1, 1, device=ab.device)
    a, b = ab[:, 0], ab[:, 1]
    return (torch.stack([a * angle.cos() - b * angle.sin(), a * angle.sin() + b * angle.cos()], dim=1) * scale[:, None]).clamp(-1, 1)


class ColorizationModule(pl.LightningModule):
    """Subclasses save their arguments (`self.save_hyperparameters()`), build their networks (the generator with
    `self.build_generator(config)`), list their attribute names in `networks` (generator first), and implement
    `training_step` and `configure_optimizers` (colorgan.models.template). Training steps start with
    `L, ab, x = self.training_inputs(batch)` and generate with `self.generate(x)` (L, plus simulated hints when
    the model takes hints; the hint prior, colour jitter as configured).

    Validation and test compare RGB rebuilt from the true L and the predicted ab with the truth, and
    log the same metrics for the grey baseline (ab = 0) beside them, plus `de2000_gain`, the fraction
    of the grey baseline's CIEDE2000 that the model removes.
    """

    generator: nn.Module
    networks: tuple[str, ...] = ("generator",)
    # Arguments that say where a network's starting weights come from (e.g. ImageNet weights fetched through timm),
    # not what the network is: a subclass leaves them out of its saved arguments (save_hyperparameters(ignore=...)),
    # and `rebuild` drops them from saved arguments that still hold them (checkpoints and exports written before),
    # so a model rebuilt from a checkpoint or export fetches and reads nothing: the saved weights replace them.
    weight_sources: tuple[str, ...] = ()

    def __init__(self, hints: bool = False, hint_sampler: dict[str, Any] | None = None, hint_prior: str | None = None, colour_jitter: bool = False) -> None:
        super().__init__()
        if hint_prior not in (None, "push_pull") or (hint_prior and not hints):
            raise UserError(f"model.hint_prior={hint_prior} is not available: use push_pull (with model.hints=true) or null")
        self.hints, self.hint_prior, self.colour_jitter = hints, hint_prior, colour_jitter
        self.hint_sampler = HintSampler(**(hint_sampler or {}))
        self.image_size: int | None = None  # the size it was trained at, read from checkpoints
        self.metrics = nn.ModuleDict({f"{stage}{kind}": ColorMetrics() for stage in ("val", "test") for kind in ("", "_grey")})

    @classmethod
    def rebuild(cls, hparams: Mapping[str, Any]) -> ColorizationModule:
        """An untrained model from its saved arguments (a checkpoint's or export's), without its `weight_sources`."""
        cls.check_saved_arguments(hparams)
        return cls(**{k: v for k, v in hparams.items() if k not in cls.weight_sources})

    @classmethod
    def check_saved_arguments(cls, hparams: Mapping[str, Any]) -> None:
        """One line naming what keeps a checkpoint from rebuilding this model: arguments never saved (no
        `self.save_hyperparameters()` in `__init__`), or OmegaConf containers (a config without `_convert_: all`)."""
        name = cls.__qualname__
        if not hparams:
            raise UserError(f"{name}.__init__ does not call self.save_hyperparameters(): a checkpoint rebuilds the model from its saved arguments")
        containers = [k for k, v in hparams.items() if isinstance(v, (DictConfig, ListConfig))]
        if containers:
            raise UserError(f"{name} got model.{containers[0]} as an OmegaConf container: add `_convert_: all` to its config (checkpoints hold plain values)")

    def setup(self, stage: str) -> None:
        if stage == "fit":  # before any step: what the checkpoints of this run will need to rebuild the model
            self.check_saved_arguments(self.hparams)

    @property
    def contract(self) -> ModelContract:
        """This model's contract (see ModelContract)."""
        datamodule = getattr(self._trainer, "datamodule", None)  # while fitting: the size of the data it trains on
        size = getattr(datamodule, "image_size", None) or self.image_size or 256
        multiple = int(getattr(self.generator, "size_multiple", 1))
        return ModelContract(tuple(self.networks), int(size), multiple, INPUTS[self.hints])

    def build_generator(self, config: dict[str, Any], **kwargs: Any) -> nn.Module:
        """Instantiate the generator config for this model's inputs; with a hint prior its last layer starts
        at zero, so the model begins as the classical propagation and learns a correction."""
        if not isinstance(config, Mapping):
            raise UserError(f"{type(self).__qualname__} got a built generator: add `_recursive_: false` to its config (the model builds its networks)")
        generator = instantiate(config, in_channels=input_channels(self.hints), **kwargs)
        if self.hint_prior:
            zero_last_layer(generator)
        return generator

    def training_inputs(self, batch: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(L, target ab, generator input) of a training batch: with `colour_jitter` every image's colours are
        rotated in hue and scaled in chroma at random (so that hints are the only way to know them); with
        hints, hints are simulated from the (jittered) truth."""
        L, ab = batch
        if self.colour_jitter:
            ab = jitter_colours(ab)
        return L, ab, self.generator_input(L, ab)

    def generator_input(self, L: torch.Tensor, ab: torch.Tensor | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        """The generator's input for a batch: L, or with hints L + hints simulated from the true ab (training)."""
        if not self.hints:
            return L
        hints = self.hint_sampler.sample(ab, generator) if ab is not None else None
        return generator_input(L, hints)

    def generate(self, x: torch.Tensor) -> torch.Tensor:
        """Normalised ab from a generator input (`generator_input`): the generator's output, or with a hint
        prior, the prior's colours from the input's hints plus the generator's correction."""
        ab = self.generator(x)
        if self.hint_prior:
            ab = (push_pull(hints_in_input(x)).to(ab.dtype) + ab).clamp(-1, 1)
        return ab

    def forward(self, L: torch.Tensor, hints: torch.Tensor | None = None) -> torch.Tensor:
        """Normalised ab for normalised L; `hints` is a hint map (colorgan.hints) for models that take hints."""
        return self.generate(generator_input(L, hints) if self.hints else L)

    def colorize(self, L: torch.Tensor, hints: torch.Tensor | None = None) -> torch.Tensor:
        """Normalised L batch -> RGB in [0, 1] with the input's own lightness."""
        return model_to_rgb(L, self(L, hints))

    def _evaluate(self, batch: tuple[torch.Tensor, torch.Tensor], stage: str, batch_idx: int) -> dict[str, torch.Tensor]:
        L, ab = batch
        hints = None
        if self.hints:  # the same hints for every evaluation: a fixed seed per batch
            hints = self.hint_sampler.sample(ab, torch.Generator().manual_seed(batch_idx))
        images = {"grey": model_to_rgb(L, torch.zeros_like(ab)), "pred": self.colorize(L, hints), "true": model_to_rgb(L, ab)}
        self.metrics[stage].update(images["pred"], images["true"])
        self.metrics[f"{stage}_grey"].update(images["grey"], images["true"])
        if hints is not None:
            images["hints"] = hints
        return images

    def validation_step(self, batch, batch_idx):
        return self._evaluate(batch, "val", batch_idx)

    def test_step(self, batch, batch_idx):
        return self._evaluate(batch, "test", batch_idx)

    def _log_metrics(self, stage: str) -> None:
        ours, grey = self.metrics[stage], self.metrics[f"{stage}_grey"]
        if ours.update_count == 0:
            return
        values, grey_values = ours.compute(), grey.compute()
        logged = {f"{stage}/{k}": v for k, v in values.items()}
        logged |= {f"{stage}_grey/{k}": v for k, v in grey_values.items()}
        logged[f"{stage}/de2000_gain"] = 1 - values["de2000"] / grey_values["de2000"].clamp(min=1e-8)
        self.log_dict(logged, sync_dist=True)  # equal on every rank already (the metrics reduce); keeps Lightning quiet
        ours.reset()
        grey.reset()

    def share_batch_norm_statistics(self) -> None:
        """Give every DDP rank rank 0's batch-norm running statistics, which drift apart where each rank
        normalised its own batches (no SyncBatchNorm on CPU); evaluation then uses the checkpointed model."""
        if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
            return
        for module in self.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm) and module.track_running_stats:
                torch.distributed.broadcast(module.running_mean, src=0)
                torch.distributed.broadcast(module.running_var, src=0)

    def on_validation_epoch_start(self) -> None:
        self.share_batch_norm_statistics()

    def on_test_epoch_start(self) -> None:
        self.share_batch_norm_statistics()

    def on_validation_epoch_end(self) -> None:
        self._log_metrics("val")

    def on_test_epoch_end(self) -> None:
        self._log_metrics("test")

    def manual_step(self, optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> None:
        """One manual-optimisation step: clear the gradients, backward through Lightning (precision, DDP), step."""
        optimizer.zero_grad(set_to_none=True)
        self.manual_backward(loss)
        optimizer.step()

    def fused_optimizer(self) -> bool | None:
        """True when `fused_optimizer` is set and the weights live where PyTorch has fused Adam kernels (CPU, CUDA);
        None (PyTorch's choice) elsewhere, e.g. on XLA devices."""
        return bool(self.hparams.get("fused_optimizer") and self.device.type in ("cpu", "cuda")) or None

    def training_batches(self) -> int:
        """The run's length in batches (what per-batch schedules span): max_batches, else epochs x batches per epoch."""
        from colorgan.callbacks import BatchLimit

        limits = [c.max_batches for c in self.trainer.callbacks if isinstance(c, BatchLimit)]
        return max(1, int(min([self.trainer.estimated_stepping_batches, *limits])))

    def linear_decay(self, optimizer: torch.optim.Optimizer, start: float) -> LambdaLR:
        """Constant learning rate for the first `start` fraction of training, then linear decay to 0."""
        total = self.training_batches()
        begin = int(total * start)
        return LambdaLR(optimizer, lambda it: 1.0 if it < begin else max(0.0, (total - it) / max(1, total - begin)))

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        if not self.automatic_optimization:
            schedulers = self.lr_schedulers()
            for i, scheduler in enumerate(schedulers if isinstance(schedulers, list) else [schedulers] if schedulers else []):
                scheduler.step()
                self.log(f"lr/optimizer{i}", scheduler.get_last_lr()[0])

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        cls = type(self)
        checkpoint["colorgan"] = {
            "contract_version": CONTRACT_VERSION,
            "format": CHECKPOINT_FORMAT,
            "target": f"{cls.__module__}.{cls.__qualname__}",
            "model": self.contract.to_dict(),
        }

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        model = checkpoint.get("colorgan", {}).get("model")
        if model:
            self.image_size = model["image_size"]
