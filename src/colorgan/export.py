"""Export a checkpoint's generator: slim safetensors weights + config, and ONNX checked against PyTorch."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file
from torch import nn

from colorgan.checkpoint import load_model
from colorgan.color import CONTRACT_VERSION
from colorgan.errors import UserError
from colorgan.export_format import EXPORT_CONFIG, EXPORT_WEIGHTS
from colorgan.io import atomic_path, write_json_atomic
from colorgan.models.base import ColorizationModule
from colorgan.nets.layers import fold_spectral_norm


class GeneratorGraph(nn.Module):
    """The exported graph, the model's forward: `L` (B, 1, H, W) [and, for models that take hints, `hints`
    (B, 3, H, W): hinted ab and mask, see colorgan.hints] -> `ab` (B, 2, H, W)."""

    def __init__(self, model: ColorizationModule):
        super().__init__()
        self.model, self.hints = model, model.contract.hints

    def forward(self, L: torch.Tensor, hints: torch.Tensor | None = None) -> torch.Tensor:
        return self.model(L, hints)

    def example_inputs(self, batch: int, height: int, width: int, random: bool = False) -> dict[str, torch.Tensor]:
        """Named inputs of one shape: zeros, or random L and random sparse hints."""
        L = torch.rand(batch, 1, height, width) * 2 - 1 if random else torch.zeros(batch, 1, height, width)
        if not self.hints:
            return {"L": L}
        mask = (torch.rand(batch, 1, height, width) < 0.05).float() if random else torch.zeros(batch, 1, height, width)
        return {"L": L, "hints": torch.cat([(torch.rand(batch, 2, height, width) - 0.5) * mask, mask], dim=1)}


def export_onnx(graph: GeneratorGraph, path: Path, size: int, opset: int = 17) -> None:
    """ONNX with dynamic batch, height and width."""
    dynamic = {0: "batch", 2: "height", 3: "width"}
    inputs = graph.example_inputs(1, size, size)
    with warnings.catch_warnings(), atomic_path(path) as tmp:
        warnings.simplefilter("ignore")
        torch.onnx.export(
            graph,
            tuple(inputs.values()),
            str(tmp),
            input_names=list(inputs),
            output_names=["ab"],
            dynamic_axes={name: dynamic for name in [*inputs, "ab"]},
            opset_version=opset,
            dynamo=False,
        )


def onnx_parity(graph: GeneratorGraph, path: Path, shapes: list[tuple[int, int, int]]) -> float:
    """Largest |ONNX Runtime - PyTorch| over random inputs of the given (batch, height, width) shapes."""
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    worst = 0.0
    for shape in shapes:
        inputs = graph.example_inputs(*shape, random=True)
        with torch.no_grad():
            expected = graph(**inputs).numpy()
        got = session.run(None, {name: value.numpy() for name, value in inputs.items()})[0]
        worst = max(worst, float(np.abs(got - expected).max()))
    return worst


def export(checkpoint: str | Path, out_dir: str | Path, onnx: bool = True, tolerance: float = 1e-4) -> dict:
    """Write generator.safetensors, config.json (class, hyperparameters, contract) and (with `onnx`) generator.onnx
    into `out_dir`; the folder loads anywhere a checkpoint does (Colorizer, colorgan-serve, colorgan-eval)."""
    model = load_model(checkpoint, device="cpu")
    contract = model.contract
    generator = fold_spectral_norm(model.generator)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    weights = out / EXPORT_WEIGHTS
    with atomic_path(weights) as tmp:
        save_file({k: v.contiguous() for k, v in generator.state_dict().items()}, str(tmp))
    cls = type(model)
    config = {
        "contract_version": CONTRACT_VERSION,
        "target": f"{cls.__module__}.{cls.__qualname__}",
        "hyper_parameters": dict(model.hparams),
        "model": contract.to_dict(),
    }
    write_json_atomic(out / EXPORT_CONFIG, config)
    report = {"weights": str(weights), "config": str(out / EXPORT_CONFIG)}
    if onnx:
        try:
            import onnxruntime  # noqa: F401
        except ImportError as exc:
            raise UserError("ONNX export needs onnx and onnxruntime: pip install 'colorgan[export]', or pass --no-onnx") from exc
        path = out / "generator.onnx"
        graph = GeneratorGraph(model).eval()
        multiple = contract.size_multiple
        export_onnx(graph, path, max(multiple, contract.image_size))
        diff = onnx_parity(graph, path, [(1, contract.image_size, contract.image_size), (2, multiple * 2, multiple * 3)])
        if diff > tolerance:
            raise UserError(f"ONNX output differs from PyTorch by {diff:.2e} (> {tolerance:.0e}): please report this model")
        report |= {"onnx": str(path), "onnx_max_abs_diff": diff}
    return report
