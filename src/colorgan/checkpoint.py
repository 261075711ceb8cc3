"""Reading colorgan checkpoints safely, rebuilding models from them, and choosing the one to resume from.

Checkpoints are unpickled with `weights_only=True`: tensors, containers and plain values only, so a
shared `.ckpt` cannot run code. A model is rebuilt from what the checkpoint states (its class, config and
contract), never from anything else; an exported folder (generator.safetensors + config.json, written by
colorgan-export) is the format to share models in and loads the same way.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import torch
from hydra.utils import get_class

from colorgan.color import CONTRACT_VERSION
from colorgan.errors import UserError
from colorgan.export_format import EXPORT_CONFIG, EXPORT_WEIGHTS
from colorgan.hub import local_source
from colorgan.models.base import INPUTS, ColorizationModule, ModelContract
from colorgan.nets.layers import fold_spectral_norm


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """The checkpoint's contents, unpickled without running code; one-line errors for anything else."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"checkpoint {path} does not exist: pass a .ckpt written by colorgan-train")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise UserError(
            f"refusing {path}: it holds objects other than tensors and plain values, which could run code when loaded; use a checkpoint from colorgan-train or an export folder from colorgan-export"
        ) from exc
    except (RuntimeError, EOFError, OSError, ValueError) as exc:
        raise UserError(
            f"cannot read {path} as a checkpoint ({exc.__class__.__name__}; truncated or not a checkpoint): pass a complete .ckpt written by colorgan-train"
        ) from exc
    if not isinstance(checkpoint, dict) or not isinstance(checkpoint.get("colorgan"), dict):
        raise UserError(f"{path} is not a colorgan checkpoint: pass a .ckpt written by colorgan-train")
    version = checkpoint["colorgan"].get("contract_version")
    if version != CONTRACT_VERSION:
        raise UserError(f"{path} uses colour contract v{version}, this colorgan v{CONTRACT_VERSION}: install the colorgan that trained it")
    return checkpoint


def model_class(target: str) -> type[ColorizationModule]:
    """The LightningModule class a checkpoint names; it must be a ColorizationModule."""
    try:
        cls = get_class(target)
    except Exception as exc:  # noqa: BLE001 - Hydra wraps import errors of every kind
        raise UserError(f"the checkpoint's model class {target} cannot be imported: install the package that defines it") from exc
    if not (isinstance(cls, type) and issubclass(cls, ColorizationModule)):
        raise UserError(f"{target} is not a colorgan model class: refusing to build it")
    return cls


def build_model(target: str, hparams: dict[str, Any]) -> ColorizationModule:
    """An untrained model of class `target` from its saved hyperparameters, fetching no starting weights (the
    checkpoint or export holds the trained ones: ColorizationModule.rebuild)."""
    return model_class(target).rebuild(hparams)


def legacy_contract(model: ColorizationModule, hparams: dict[str, Any]) -> ModelContract:
    """The contract of a colorgan 0.1.0 checkpoint, which stored none: its U-Net's size, else 256."""
    size = (hparams.get("generator") or {}).get("image_size", 256)
    return ModelContract(tuple(model.networks), int(size), int(getattr(model.generator, "size_multiple", 1)), INPUTS[False])


def load_model(path: str | Path, device: str | torch.device = "cpu") -> ColorizationModule:
    """A model in eval mode from a checkpoint, an export folder or a hub repository (hf://owner/name[@revision],
    colorgan.hub), on `device`; its contract is set from the file."""
    path = local_source(path)
    if path.is_dir() or path.name == EXPORT_CONFIG:
        model = load_export(path if path.is_dir() else path.parent)
    else:
        checkpoint = read_checkpoint(path)
        meta = checkpoint["colorgan"]
        hparams = checkpoint.get("hyper_parameters", {})
        model = build_model(meta["target"], hparams)
        model.load_state_dict(checkpoint["state_dict"])
        contract = ModelContract.from_dict(meta["model"]) if "model" in meta else legacy_contract(model, hparams)
        model.image_size = contract.image_size
    return model.eval().to(device)


def load_export(folder: Path) -> ColorizationModule:
    """A model from colorgan-export's folder: config.json (class, hyperparameters, contract) + generator weights."""
    from safetensors.torch import load_file

    config_path, weights = folder / EXPORT_CONFIG, folder / EXPORT_WEIGHTS
    if not (config_path.is_file() and weights.is_file()):
        raise UserError(f"{folder} is not a colorgan export: it needs {EXPORT_CONFIG} and {EXPORT_WEIGHTS} (written by colorgan-export)")
    config = json.loads(config_path.read_text())
    if config.get("contract_version") != CONTRACT_VERSION:
        raise UserError(
            f"{folder} uses colour contract v{config.get('contract_version')}, this colorgan v{CONTRACT_VERSION}: install the colorgan that exported it"
        )
    model = build_model(config["target"], config["hyper_parameters"])
    fold_spectral_norm(model.generator).load_state_dict(load_file(str(weights)))  # exported with spectral norm folded
    model.image_size = ModelContract.from_dict(config["model"]).image_size
    return model


def resume_checkpoint(folder: str | Path) -> str | None:
    """The checkpoint a run in `folder` resumes from: the newest complete one of interrupted.ckpt and
    last.ckpt. A damaged newest one is a one-line error that names the good one to pass as ckpt_path."""
    candidates = sorted(
        (p for p in (Path(folder) / n for n in ("interrupted.ckpt", "last.ckpt")) if p.is_file()), key=lambda p: p.stat().st_mtime, reverse=True
    )
    good, bad = None, []
    for path in candidates:
        try:
            read_checkpoint(path)
            good = path
            break
        except UserError:
            bad.append(path)
    if bad:
        other = f"resume from {good} with ckpt_path={good}" if good else "start again (remove it) or pass an older checkpoint as ckpt_path=..."
        raise UserError(f"{bad[0]} is damaged (an interrupted save?): {other}")
    return str(good) if good else None
