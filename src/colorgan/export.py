"""Export a checkpoint's generator: slim safetensors weights + config, and ONNX checked against PyTorch."""

from __future__ import annotations

import copy
import warnings
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file
from torch import nn
from torch.nn.utils import parametrize

from colorgan.color import CONTRACT_VERSION
from colorgan.data.shards import write_json_atomic
from colorgan.errors import UserError
from colorgan.inference import load_model


def fold_spectral_norm(module: nn.Module) -> nn.Module:
    """Replace spectral-normalised weights by their current normalised values (hook or parametrization style)."""
    for m in module.modules():
        if parametrize.is_parametrized(m, "weight"):
            parametrize.remove_parametrizations(m, "weight", leave_parametrized=True)
        elif hasattr(m, "weight_orig"):
            nn.utils.remove_spectral_norm(m)
    return module


def export_onnx(generator: nn.Module, path: Path, size: int, opset: int = 17) -> None:
    """ONNX with dynamic batch, height and width; input `L` (B, 1, H, W), output `ab` (B, 2, H, W)."""
    dynamic = {0: "batch", 2: "height", 3: "width"}
    tmp = path.with_name(path.name + ".partial")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            generator, (torch.zeros(1, 1, size, size),), str(tmp), input_names=["L"], output_names=["ab"],
            dynamic_axes={"L": dynamic, "ab": dynamic}, opset_version=opset, dynamo=False,
        )
    tmp.replace(path)


def onnx_parity(generator: nn.Module, path: Path, shapes: list[tuple[int, int, int, int]]) -> float:
    """Largest |ONNX Runtime - PyTorch| over random inputs of the given shapes."""
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    worst = 0.0
    for shape in shapes:
        L = torch.rand(shape) * 2 - 1
        with torch.no_grad():
            expected = generator(L).numpy()
        worst = max(worst, float(np.abs(session.run(None, {"L": L.numpy()})[0] - expected).max()))
    return worst


def export(checkpoint: str | Path, out_dir: str | Path, onnx: bool = True, tolerance: float = 1e-4) -> dict:
    """Write generator.safetensors, config.json and (with `onnx`) generator.onnx into `out_dir`."""
    model = load_model(checkpoint, device="cpu")
    generator = fold_spectral_norm(copy.deepcopy(model.generator)).eval()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    multiple = getattr(generator, "size_multiple", 16)
    size = max(multiple, int(model.hparams.generator.get("image_size", 256)))
    weights = out / "generator.safetensors"
    save_file({k: v.contiguous() for k, v in generator.state_dict().items()}, str(weights.with_name(weights.name + ".partial")))
    weights.with_name(weights.name + ".partial").replace(weights)
    config = {"contract_version": CONTRACT_VERSION, "generator": model.hparams.generator, "model": type(model).__name__, "size_multiple": multiple}
    write_json_atomic(out / "config.json", config)
    report = {"weights": str(weights), "config": str(out / "config.json")}
    if onnx:
        try:
            import onnxruntime  # noqa: F401
        except ImportError as exc:
            raise UserError("ONNX export needs onnx and onnxruntime: pip install 'colorgan[export]', or pass --no-onnx") from exc
        path = out / "generator.onnx"
        export_onnx(generator, path, size)
        diff = onnx_parity(generator, path, [(1, 1, size, size), (2, 1, multiple * 2, multiple * 3)])
        if diff > tolerance:
            raise UserError(f"ONNX output differs from PyTorch by {diff:.2e} (> {tolerance:.0e}): please report this model")
        report |= {"onnx": str(path), "onnx_max_abs_diff": diff}
    return report
