"""Start a new training run from shared weights (colorgan-train init_from=...): a checkpoint's whole model, or the
generator of an export folder or hub repository (hf://owner/name[@revision]), whose other networks start afresh."""

from __future__ import annotations

import re

import torch
from torch import nn
from torch.nn.utils import parametrize

from colorgan.checkpoint import load_export, read_checkpoint
from colorgan.errors import UserError
from colorgan.export_format import EXPORT_CONFIG
from colorgan.hub import local_source
from colorgan.models.base import ColorizationModule

# where a spectral-norm layer (torch's parametrization, as colorgan's networks use) keeps the weight it normalises, and
# its power iteration's vectors; exports hold the normalised `.weight` alone
NORMALISED_WEIGHT = re.compile(r"\.parametrizations\.weight\.original$")
POWER_ITERATION_VECTORS = re.compile(r"\.parametrizations\.weight\.\d+\._[uv]$")


def load_weights(model: ColorizationModule, source: str) -> None:
    """Set `model`'s weights from a checkpoint (all networks), or from an export folder or hub repository (the generator)."""
    path = local_source(source)
    if path.is_dir() or path.name == EXPORT_CONFIG:
        exported = load_export(path if path.is_dir() else path.parent)
        if type(exported) is not type(model):
            raise UserError(
                f"init_from={source} holds a {type(exported).__name__} and this run trains a {type(model).__name__}: pick the model it was exported from"
            )
        load_generator(model.generator, exported.generator.state_dict(), source)
        return
    if not path.is_file():
        raise UserError(f"init_from={source} does not exist: give a .ckpt file (e.g. outputs/.../checkpoints/last.ckpt), an export folder or hf://owner/name")
    model.load_state_dict(read_checkpoint(path)["state_dict"])


def load_generator(generator: nn.Module, exported: dict[str, torch.Tensor], source: str) -> None:
    """Exported generator weights (spectral norm folded) into a trainable generator: a spectral-norm layer takes the
    folded weight as the weight it normalises, and its power iteration runs to convergence, so the generator
    computes what the export does (exactly where there is no spectral norm; within the power iteration's precision
    where there is)."""
    state = generator.state_dict()
    taken = {key: NORMALISED_WEIGHT.sub(".weight", key) for key in state if NORMALISED_WEIGHT.sub(".weight", key) in exported}
    own = {key for key in state if key not in taken and not POWER_ITERATION_VECTORS.search(key)}
    unused = set(exported) - set(taken.values())
    mismatched = [key for key, name in taken.items() if state[key].shape != exported[name].shape]
    if own or unused or mismatched:
        first = sorted(own)[:1] or sorted(unused)[:1] or mismatched[:1]
        raise UserError(
            f"init_from={source} holds a different generator than this run's model config (first difference: {first[0]}): "
            "train with the model options it was exported with (its config.json)"
        )
    generator.load_state_dict(state | {key: exported[name] for key, name in taken.items()})
    settle_spectral_norm(generator)


@torch.no_grad()
def settle_spectral_norm(module: nn.Module, iterations: int = 50) -> None:
    """Run the power iteration of every spectral-norm layer (parametrization style) until its estimate of the largest
    singular value has converged, as it would have after training; modes are left as they were."""
    for m in module.modules():
        if parametrize.is_parametrized(m, "weight"):
            mode = m.training
            m.train()
            for _ in range(iterations):
                _ = m.weight  # in training mode, reading the weight takes one power-iteration step
            m.train(mode)
