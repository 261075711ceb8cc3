"""compile=true keeps its compiled code in paths.compile_cache_dir, where later runs and a sweep's other jobs find it."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra.utils import instantiate

from colorgan.acceleration import compile_networks
from colorgan.train import train
from conftest import compose_config

TINY = ["experiment=synthetic", "logger=none", "debug=tiny", "data.batch_size=4"]


def test_compile_cache_defaults_to_colorgans_cache_even_after_torch_named_its_own(tmp_path, monkeypatch):
    """Importing torchmetrics or Lightning sets TORCHINDUCTOR_CACHE_DIR to torch's /tmp default before any config is
    read: the shared folder must not follow it."""
    import torchmetrics  # noqa: F401

    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", "/tmp/torchinductor_someone")  # what those imports leave behind
    cfg = compose_config(tmp_path, "experiment=synthetic")
    assert cfg.paths.compile_cache_dir == f"{cfg.paths.cache_dir}/torch_compile"
    assert compose_config(tmp_path, "experiment=synthetic", "paths.compile_cache_dir=/shared/cache").paths.compile_cache_dir == "/shared/cache"


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
