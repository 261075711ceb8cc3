import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from torch import nn

from colorgan.export import export
from colorgan.nets.layers import fold_spectral_norm

BIN = Path(sys.executable).parent


def test_export_writes_weights_config_and_matching_onnx(tiny_checkpoint, tmp_path):
    report = export(tiny_checkpoint, tmp_path)
    assert report["onnx_max_abs_diff"] <= 1e-4  # stated tolerance: ONNX Runtime within 1e-4 of PyTorch (fp32)
    weights = load_file(tmp_path / "generator.safetensors")
    state = torch.load(tiny_checkpoint, weights_only=False)["state_dict"]
    assert all(torch.equal(v, state[f"generator.{k}"]) for k, v in weights.items())
    assert not any(k.startswith("discriminator") for k in weights)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["hyper_parameters"]["generator"]["_target_"] == "colorgan.nets.UNetGenerator" and config["model"]["size_multiple"] == 32


def test_an_export_folder_colourises_like_its_checkpoint(tiny_checkpoint, tmp_path):
    import numpy as np
    from PIL import Image

    from colorgan.inference import Colorizer

    export(tiny_checkpoint, tmp_path, onnx=False)
    photo = Image.fromarray(np.random.default_rng(0).integers(0, 255, (50, 70), dtype=np.uint8))
    from_checkpoint = Colorizer.from_checkpoint(tiny_checkpoint, device="cpu").colorize(photo)
    from_export = Colorizer.from_checkpoint(tmp_path, device="cpu").colorize(photo)
    assert np.abs(np.asarray(from_checkpoint, dtype=int) - np.asarray(from_export, dtype=int)).max() <= 1


def test_spectral_norm_is_folded_without_changing_outputs():
    torch.manual_seed(0)
    hooked = nn.utils.spectral_norm(nn.Conv2d(1, 2, 3))
    parametrized = nn.utils.parametrizations.spectral_norm(nn.Conv2d(1, 2, 3))
    x = torch.randn(1, 1, 8, 8)
    for module in (hooked, parametrized):
        module.eval()
        with torch.no_grad():
            before = module(x)
            fold_spectral_norm(module)
            after = module(x)
        assert torch.allclose(before, after, atol=1e-6)
        assert not hasattr(module, "weight_orig") and not nn.utils.parametrize.is_parametrized(module)


@pytest.mark.slow  # a fresh process importing torch and Lightning: 14 s; export itself is tested in process above
def test_export_cli(tiny_checkpoint, tmp_path):
    result = subprocess.run([str(BIN / "colorgan-export"), tiny_checkpoint, "-o", str(tmp_path / "x")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "x" / "generator.onnx").is_file()
    missing = subprocess.run([str(BIN / "colorgan-export"), str(tmp_path / "none.ckpt")], capture_output=True, text=True)
    assert missing.returncode == 2 and len(missing.stderr.strip().splitlines()) == 1


def test_a_hint_model_exports_with_its_hint_input(tiny_hint_checkpoint, tmp_path):
    import onnx

    report = export(tiny_hint_checkpoint, tmp_path)
    assert report["onnx_max_abs_diff"] <= 1e-4  # random sparse hints, the push-pull prior inside the graph
    graph = onnx.load(str(tmp_path / "generator.onnx")).graph
    assert [i.name for i in graph.input] == ["L", "hints"] and json.loads((tmp_path / "config.json").read_text())["model"]["inputs"] == [
        "L",
        "hint_ab",
        "hint_mask",
    ]
