import json
from itertools import islice

import pytest
import torch

from colorgan.data.bundled import ensure_bundled
from colorgan.data.datamodule import LabDataModule
from colorgan.errors import UserError
from conftest import compose_config


@pytest.fixture(scope="module")
def synthetic_root(tmp_path_factory):
    return ensure_bundled("synthetic", tmp_path_factory.mktemp("bundled") / "synthetic")


def test_training_epochs_have_a_fixed_number_of_batches(synthetic_root):
    dm = LabDataModule(root=str(synthetic_root), image_size=32, batch_size=8, num_workers=0, batches_per_epoch=7)
    dm.setup("fit")
    loader = dm.train_dataloader()
    for _ in range(2):
        batches = list(loader)
        assert len(batches) == 7 and all(b.shape == (8, 3, 32, 32) and b.dtype == torch.uint8 for b in batches)


def test_validation_is_one_exact_pass(synthetic_root):
    manifest = json.loads((synthetic_root / "manifest.json").read_text())
    dm = LabDataModule(root=str(synthetic_root), image_size=32, batch_size=16, num_workers=2)
    dm.setup("validate")
    seen = torch.cat(list(dm.val_dataloader()))
    assert len(seen) == manifest["splits"]["val"]
    assert len(torch.unique(seen.flatten(1), dim=0)) == len(seen)  # no image twice


def test_batches_become_lab_on_the_device(synthetic_root):
    dm = LabDataModule(root=str(synthetic_root), image_size=32, batch_size=4, num_workers=0)
    dm.setup("fit")
    L, ab = dm.on_after_batch_transfer(next(iter(dm.train_dataloader())), 0)
    assert L.shape == (4, 1, 32, 32) and ab.shape == (4, 2, 32, 32)
    assert L.min() >= -1 and L.max() <= 1 and ab.abs().max() > 0.1


def test_brace_patterns_globs_and_pipe_urls(synthetic_root):
    first = synthetic_root / "train-000000.tar"
    for urls in (str(synthetic_root / "train-{000000..000003}.tar"), str(synthetic_root / "train-*.tar"), f"pipe:cat {first}"):
        dm = LabDataModule(train_urls=urls, image_size=32, batch_size=4, num_workers=0, batches_per_epoch=2)
        dm.setup("fit")
        assert len(list(dm.train_dataloader())) == 2


def test_missing_data_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        LabDataModule(train_urls=str(tmp_path / "nothing-{0..3}.tar")).setup("fit")
    with pytest.raises(UserError, match="colorgan-prep"):
        LabDataModule(root=str(tmp_path)).setup("fit")


def test_the_samples_set_holds_every_bundled_photo_split_by_photo(tmp_path):
    """Issue #14.3: every listed photo is in the set, no photo is on both sides, and the validation set's first
    samples come from different photos (the dashboard's grid shows the first eight)."""
    import tarfile

    from colorgan.data.bundled import SAMPLE_PHOTOS

    root = ensure_bundled("samples", tmp_path / "samples")
    sources = {"train": [], "val": []}
    for shard in sorted(root.glob("*.tar")):
        with tarfile.open(shard) as tar:
            for member in tar.getmembers():
                if member.name.endswith(".json"):
                    meta = json.loads(tar.extractfile(member).read())
                    sources[meta["split"]].append(meta["source"])
    assert {s for split in sources.values() for s in split} == {f"{package}:{name}" for package, name in SAMPLE_PHOTOS}
    assert not set(sources["train"]) & set(sources["val"])
    assert len(set(sources["val"][:3])) == 3


def test_a_bundled_set_of_an_older_version_is_rebuilt(tmp_path):
    root = ensure_bundled("samples", tmp_path / "samples")
    manifest = json.loads((root / "manifest.json").read_text())
    (root / "manifest.json").write_text(json.dumps({**manifest, "version": manifest["version"] - 1}))
    (root / "leftover.tar").touch()
    ensure_bundled("samples", root)
    assert json.loads((root / "manifest.json").read_text()) == manifest
    assert not (root / "leftover.tar").exists() and not list(tmp_path.glob(".samples-*"))


def test_the_same_seed_reads_the_same_training_batches(synthetic_root):
    """Sample shuffle and augmentation follow the run's seed (webdataset's shuffle alone draws its seed from the clock)."""
    import pytorch_lightning as pl

    def first_batches(seed: int) -> torch.Tensor:
        pl.seed_everything(seed, verbose=False)
        dm = LabDataModule(root=str(synthetic_root), image_size=32, batch_size=8, num_workers=0, batches_per_epoch=3, seed=seed)
        dm.setup("fit")
        return torch.cat([torch.cat(list(dm.train_dataloader())) for _ in range(2)])  # two epochs

    first = first_batches(0)
    assert torch.equal(first, first_batches(0))
    assert not torch.equal(first, first_batches(1))
    assert not torch.equal(first[:24], first[24:])  # the second epoch reads other samples


def test_shard_resampling_follows_the_runs_seed(synthetic_root, tmp_path):
    def shard_order(seed: int) -> list[str]:
        dm = LabDataModule(root=str(synthetic_root), image_size=32, batch_size=8, num_workers=0, seed=seed)
        dm.setup("fit")
        shards = dm.train_dataset(rank=0).pipeline[0]  # the ResampledShards stage
        return [s["url"] for s in islice(iter(shards), 20)]

    assert shard_order(0) == shard_order(0)
    assert shard_order(0) != shard_order(1)
    assert compose_config(tmp_path, "seed=7").data.seed == 7 and compose_config(tmp_path, "data=shards", "data.root=x", "seed=3").data.seed == 3
