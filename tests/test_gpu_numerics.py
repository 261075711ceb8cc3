"""A GPU run's set-up rehearsed on the CPU: every model (pix2pix, E-GAN, DeOldify in each NoGAN stage, each also with
hints) trains a few batches under bf16-mixed autocast (trainer=cpu_bf16), under compile=true, under channels_last=true
and under all three together, and its checkpoint colourises a photo through a plain (uncompiled, fp32) model."""

import math

import pytest
import torch
from PIL import Image

from colorgan.inference import Colorizer
from colorgan.train import train
from conftest import compose_config

TINY = ["debug=tiny", "data=synthetic", "data.batch_size=4", "logger=none"]
MODELS = {
    "pix2pix": ["model=pix2pix"],
    "egan": ["model=egan", "model.eval_size=2"],
    "deoldify_generator": ["model=deoldify", "model.stage=generator"],
    "deoldify_critic": ["model=deoldify", "model.stage=critic"],
    "deoldify_gan": ["model=deoldify", "model.stage=gan", "model.max_critic_steps=1"],
}
SWITCHES = {
    "bf16": ["trainer=cpu_bf16"],
    "compile": ["compile=true"],
    "channels_last": ["channels_last=true"],
    "all": ["trainer=cpu_bf16", "compile=true", "channels_last=true"],
}
# compiling costs minutes of CPU time per run on 2 cores (experiments/benchmarks/compile.md): those cases are marked
# `compile` too, and run with `pytest -m compile`
SWITCH_CASES = [pytest.param(name, marks=pytest.mark.compile) if "compile=true" in overrides else name for name, overrides in SWITCHES.items()]


@pytest.mark.slow
@pytest.mark.parametrize("hints", [False, True], ids=["", "hints"])
@pytest.mark.parametrize("switch", SWITCH_CASES)
@pytest.mark.parametrize("model", MODELS)
def test_every_model_trains_under_gpu_numerics_on_the_cpu(tmp_path, vgg_file, model, switch, hints):
    compiled = "compile=true" in SWITCHES[switch]
    overrides = [*TINY, *MODELS[model], *SWITCHES[switch], f"model.hints={hints}"]
    if model.startswith("deoldify"):
        overrides.append(f"model.perceptual_weights={vgg_file}")
    if compiled:  # evaluation mode is another graph to compile: the switch is what is tested, validation is not
        overrides.append("trainer.limit_val_batches=0")
    result = train(compose_config(tmp_path, *overrides))
    assert result["global_step"] > 0
    losses = {k: v for k, v in result["metrics"].items() if k.startswith("train/") and "loss" in k}
    assert losses and all(math.isfinite(v) for v in losses.values()), result["metrics"]
    if not compiled:
        assert math.isfinite(result["metrics"]["val/de2000"])
    colorizer = Colorizer.from_checkpoint(result["last_checkpoint"], device="cpu")
    colour = colorizer.colorize(Image.new("L", (40, 24), 100))
    assert colour.size == (40, 24)
    assert all(torch.isfinite(p).all() for p in colorizer.model.parameters())
