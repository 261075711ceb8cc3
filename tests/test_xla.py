"""trainer=tpu on Lightning's XLA pieces (colorgan.xla); the rehearsal on the XLA CPU device needs the torch_xla
virtualenv that experiments/tpu/make_venv.sh makes (torch_xla pins its own torch)."""

import json
import os
import subprocess
from pathlib import Path

import pytest

from colorgan.errors import UserError
from colorgan.xla import XLACPUAccelerator, xla_trainer_arguments
from conftest import compose_config

ROOT = Path(__file__).resolve().parents[1]
XLA_VENV = Path(os.environ.get("XLA_VENV", ROOT / ".venv-xla"))  # where rehearse.sh looks too


def test_other_accelerators_keep_their_trainer_arguments(tmp_path):
    for preset in ("cpu", "gpu", "ddp_cpu"):
        assert xla_trainer_arguments(compose_config(tmp_path, f"trainer={preset}").trainer) == {}


def test_the_xla_cpu_device_is_one_device():
    assert XLACPUAccelerator.parse_devices("auto") == XLACPUAccelerator.parse_devices(1) == 1
    with pytest.raises(UserError, match="trainer.devices=1"):
        XLACPUAccelerator.parse_devices(2)


@pytest.mark.slow
@pytest.mark.skipif(not (XLA_VENV / "bin" / "colorgan-train").exists(), reason="no torch_xla virtualenv: experiments/tpu/make_venv.sh makes it (7.6 GB)")
def test_pix2pix_and_egan_train_under_trainer_tpu_on_the_xla_cpu_device(tmp_path):
    result = subprocess.run(["bash", str(ROOT / "experiments/tpu/rehearse.sh"), str(tmp_path)], capture_output=True, text=True, timeout=3000)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for model in ("pix2pix", "egan"):
        batches = json.loads((tmp_path / model / "xla.json").read_text())["batches"]
        assert len(batches) == 4
        assert batches[-1]["compiles"] == 0, batches  # the graphs settle: a step that recompiles every time would show here
        assert (tmp_path / model / "checkpoints" / "last.ckpt").is_file()
