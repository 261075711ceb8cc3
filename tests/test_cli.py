"""The console scripts as a user runs them."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from colorgan.config import compose, config_dir

BIN = Path(sys.executable).parent
TINY = ["debug=tiny", "data.batches_per_epoch=3"]
MODELS = sorted(p.stem for p in (Path(config_dir()) / "model").glob("*.yaml"))


def run(script: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / script), *args], capture_output=True, text=True, cwd=cwd, timeout=600)


def test_train_leaves_checkpoints_samples_and_an_offline_wandb_run(tmp_path):
    out = tmp_path / "run"
    result = run("colorgan-train", f"hydra.run.dir={out}", *TINY, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (out / "checkpoints" / "last.ckpt").is_file()
    assert list((out / "samples").glob("step*.png"))
    runs = list((out / "wandb").glob("offline-run-*"))
    assert len(runs) == 1 and list(runs[0].glob("run-*.wandb"))
    assert "resume: colorgan-train" in result.stdout and "checkpoint:" in result.stdout


@pytest.mark.slow
def test_multirun_gives_one_run_per_job(tmp_path):
    sweep = tmp_path / "sweep"
    result = run(
        "colorgan-train",
        "-m",
        "experiment=synthetic",
        "model.lambda_l1=10,100",
        "max_batches=2",
        f"hydra.sweep.dir={sweep}",
        *TINY,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = sorted(p for p in sweep.iterdir() if p.is_dir() and p.name.isdigit())
    assert [j.name for j in jobs] == ["0", "1"]
    runs = [r for job in jobs for r in (job / "wandb").glob("offline-run-*")]
    assert len(runs) == 2 and len({r.name for r in runs}) == 2
    lambdas = [yaml.safe_load((job / ".hydra" / "config.yaml").read_text())["model"]["lambda_l1"] for job in jobs]
    assert lambdas == [10.0, 100.0]


@pytest.mark.parametrize(
    "args, message",
    [
        (["modle.lambda_l1=3"], "modle"),
        (["model=nonexistent"], f"Could not find 'model/nonexistent' Available options in 'model': {' '.join(MODELS)}"),
        (["data.image_size=100"], "image_size=100 is not a multiple of 64"),
        (["data.batch_size=abc"], "data.batch_size=abc must be a positive whole number"),
        (["data=shards", "data.root=/no/such/folder"], "colorgan-prep"),
        (["data=shards"], "data.root"),
        (["ckpt_path=/no/such.ckpt"], "does not exist"),
        (["init_from=/no/such.ckpt"], "init_from=/no/such.ckpt does not exist"),
        (["model=deoldify", "data=synthetic", "model.perceptual_weights=/no/vgg.pth"], "no VGG16-BN weights at /no/vgg.pth"),
        (["model=deoldify", "model.pretrained_file=/no/effnet.pth"], "no pretrained weights for efficientnet_b0 at /no/effnet.pth"),
        (["model=deoldify", "model.pretrained=true"], "no pretrained weights for efficientnet_b0 in the Hugging Face hub cache"),
        (["experiment=nogan", "start_stage=gen"], "start_stage=gen is not a stage"),
        (["trainer=tpu"], "trainer=tpu needs torch_xla"),
        (["experiment=seed_baseline", "trainer=cpu"], "no data given: set data.root=DIR"),
        (["trainer=gpu"], "needs a CUDA GPU and none is visible: use trainer=cpu"),
        (["trainer=ddp"], "needs a CUDA GPU and none is visible: use trainer=cpu"),
        (["trainer.max_steps=10"], "set the length in batches with max_batches=N"),
    ],
)
def test_bad_input_is_one_line(tmp_path, args, message, monkeypatch, capfd):
    """In the test process (each would cost a few seconds of imports as a subprocess); stderr is read at the file descriptor."""
    from colorgan.cli.train import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["colorgan-train", f"hydra.run.dir={tmp_path / 'run'}", "logger=none", *args])
    with pytest.raises(SystemExit) as exit_:
        main()
    assert exit_.value.code == 2
    lines = [line for line in capfd.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("colorgan-train: error:") and message in lines[0], lines
    assert not list(tmp_path.rglob("*.ckpt"))  # a run that failed before its first step leaves no checkpoint


@pytest.mark.slow
def test_bench_data_reports_json(tmp_path):
    from colorgan.data.bundled import ensure_bundled

    root = ensure_bundled("synthetic", tmp_path / "synthetic")
    out = tmp_path / "bench.json"
    result = run("colorgan-bench", "data", "--root", str(root), "--size", "32", "--batches", "5", "--out", str(out), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    record = json.loads(out.read_text())
    assert record["images"] == 5 * 32 and record["images_per_s"] > 0 and record["machine"]["cores"]


@pytest.mark.slow
@pytest.mark.parametrize("loop", ["lightning", "plain"])
def test_bench_train_through_lightning_or_a_plain_loop(tmp_path, loop):
    tiny = ["model=pix2pix", "data.image_size=32", "data.batch_size=2", "model.generator.ngf=8", "model.discriminator.ndf=8"]
    result = run("colorgan-bench", "train", "--loop", loop, "--steps", "3", "--warmup", "1", *tiny, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    record = json.loads(result.stdout)
    assert record["loop"] == loop and record["images_per_s"] > 0 and record["model"] == "Pix2Pix"
    if loop == "lightning":  # FLOPs of a batch, counted; utilisation needs a GPU with a known peak
        assert record["gflops_per_batch"] > 0 and record["achieved_tflops_per_s"] > 0 and record["model_flops_utilisation"] is None
    if loop == "plain":
        wrong = run("colorgan-bench", "train", "--loop", "plain", "model=egan", cwd=tmp_path)
        assert wrong.returncode == 2 and "--loop plain measures model=pix2pix" in wrong.stderr


@pytest.mark.slow
def test_sweep_over_models(tmp_path):
    sweep = tmp_path / "sweep"
    result = run(
        "colorgan-train",
        "-m",
        "experiment=synthetic",
        "model=pix2pix,egan",
        "trainer.max_epochs=1",
        "trainer.log_every_n_steps=1",
        "logger=csv",
        f"hydra.sweep.dir={sweep}",
        *TINY,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (sweep / "0" / "checkpoints" / "last.ckpt").is_file() and (sweep / "1" / "checkpoints" / "last.ckpt").is_file()
    egan_log = next((sweep / "1" / "csv").rglob("metrics.csv")).read_text()
    assert "egan/share/heuristic" in egan_log and "egan/share/heuristic" not in next((sweep / "0" / "csv").rglob("metrics.csv")).read_text()


@pytest.mark.slow
def test_two_trial_optuna_search_minimises_val_de2000(tmp_path):
    args = [
        "-m",
        "hparams_search=optuna",
        "hydra.sweeper.n_trials=2",
        "experiment=synthetic",
        "debug=tiny",
        "logger=none",
        f"hydra.sweep.dir={tmp_path / 'sweep'}",
    ]
    result = run("colorgan-train", *args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    trials = sorted(p for p in (tmp_path / "sweep").iterdir() if p.is_dir())
    assert [t.name for t in trials] == ["0", "1"] and all(list((t / "checkpoints").glob("last.ckpt")) for t in trials)
    best = yaml.safe_load((tmp_path / "sweep" / "optimization_results.yaml").read_text())
    assert set(best["best_params"]) == {"model.lr", "model.lambda_l1"} and 0 < best["best_value"] < 100


def test_slurm_and_tpu_presets_compose():
    cfg = compose("train", ["hydra/launcher=slurm", "trainer=ddp", "trainer.devices=4", "trainer.num_nodes=2"], return_hydra_config=True)
    tpu = compose("train", ["trainer=tpu"])
    launcher = cfg.hydra.launcher
    assert launcher._target_.endswith("SlurmLauncher") and (launcher.nodes, launcher.tasks_per_node, launcher.gpus_per_node) == (2, 4, 4)
    assert (tpu.trainer.accelerator, tpu.trainer.precision) == ("tpu", "bf16-mixed")
