"""compile=true keeps its compiled code in paths.compile_cache_dir, where later runs and a sweep's other jobs find it."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra.utils import instantiate

from colorgan.acceleration import compile_networks
from colorgan.train import train
from conftest import compose_config

TINY = ["experiment=synthetic", "logger=none", "model.generator.ngf=8", "model.discriminator.ndf=8", "data.batch_size=4"]


def test_compile_cache_defaults_to_colorgans_cache_and_follows_torchs_variable(tmp_path, monkeypatch):
    monkeypatch.delenv("TORCHINDUCTOR_CACHE_DIR", raising=False)
    cfg = compose_config(tmp_path, "experiment=synthetic")
    assert cfg.paths.compile_cache_dir == f"{cfg.paths.cache_dir}/torch_compile"
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path / "inductor"))
    assert compose_config(tmp_path, "experiment=synthetic").paths.compile_cache_dir == str(tmp_path / "inductor")


def test_compile_networks_points_torchs_cache_at_the_configured_folder(tmp_path, monkeypatch):
    from torch._inductor.runtime.cache_dir_utils import cache_dir

    monkeypatch.delenv("TORCHINDUCTOR_CACHE_DIR", raising=False)  # restored after the test
    model = instantiate(compose_config(tmp_path, *TINY).model)
    compile_networks(model, str(tmp_path / "compiled"))
    assert cache_dir() == str(tmp_path / "compiled")


@pytest.mark.slow
def test_a_compiled_run_leaves_its_code_in_the_cache(tmp_path, monkeypatch):
    monkeypatch.delenv("TORCHINDUCTOR_CACHE_DIR", raising=False)
    cache = tmp_path / "compiled"
    cfg = compose_config(tmp_path / "run", *TINY, "compile=true", "max_batches=1", "trainer.limit_val_batches=1", f"paths.compile_cache_dir={cache}")
    assert train(cfg)["global_step"] > 0
    for kind in ("fxgraph", "aotautograd"):  # Inductor's compiled graphs, AOTAutograd's forward + backward entries
        assert any(p.is_file() for p in Path(cache, kind).rglob("*")), f"nothing in {cache / kind}"
