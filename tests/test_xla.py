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


def batches_of(run: Path) -> list[dict]:
    return json.loads((run / "xla.json").read_text())["batches"]


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
    for model, host_syncs in (("pix2pix", 0), ("egan", 3)):
        batches = batches_of(tmp_path / model)
        assert len(batches) == 4
        assert batches[-1]["compiles"] < batches[0]["compiles"], batches  # graphs are reused, not recompiled every step
        assert all(b["host_syncs"] == host_syncs for b in batches), batches  # E-GAN reads each of its 3 children's fitness
        assert (tmp_path / model / "checkpoints" / "last.ckpt").is_file()
    assert batches_of(tmp_path / "pix2pix")[-1]["compiles"] == 0  # pix2pix's two graphs settle by the third batch
