"""`colorgan-bench data ...`: throughput and memory figures as JSON, for experiments/benchmarks/."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

import pytorch_lightning as pl
import torch

from colorgan.cli.errors import report_user_errors
from colorgan.errors import UserError
from colorgan.io import write_atomic

PROG = "colorgan-bench"


def machine() -> dict:
    """What the figures were measured on."""
    return {
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
    }


def bench_data(args: argparse.Namespace) -> dict:
    """Images/s through the training pipeline (decode, crop, flip, batch) of the datamodule."""
    from colorgan.data.datamodule import LabDataModule

    dm = LabDataModule(
        root=args.root,
        train_urls=args.urls,
        image_size=args.size,
        batch_size=args.batch_size,
        num_workers=args.workers,
        batches_per_epoch=args.warmup + args.batches,
    )
    dm.setup("fit")
    if args.workers == 0:
        torch.set_num_threads(1)  # as in a DataLoader worker process
    loader = iter(dm.train_dataloader())
    for _ in range(args.warmup):
        next(loader)
    start = time.perf_counter()
    images = sum(next(loader).shape[0] for _ in range(args.batches))
    elapsed = time.perf_counter() - start
    per_s = images / elapsed
    return {
        "images_per_s": round(per_s, 1),
        "images_per_s_per_worker": round(per_s / max(1, args.workers), 1),
        "images": images,
        "seconds": round(elapsed, 3),
    }


class _Clock(pl.Callback):
    """Wall time of the training batches after the warm-up ones."""

    def __init__(self, warmup: int):
        self.warmup, self.start, self.end = warmup, None, None

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if batch_idx == self.warmup:
            _synchronize(pl_module.device)
            self.start = time.perf_counter()

    def on_train_end(self, trainer, pl_module):
        _synchronize(pl_module.device)
        self.end = time.perf_counter()


class _FlopCount(pl.Callback):
    """FLOPs of one training batch (the last warm-up one), counted by torch.utils.flop_counter."""

    def __init__(self, batch_index: int):
        self.batch_index, self.mode, self.flops = batch_index, None, None

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if batch_idx == self.batch_index:
            from torch.utils.flop_counter import FlopCounterMode

            self.mode = FlopCounterMode(display=False)
            self.mode.__enter__()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if self.mode is not None:
            self.mode.__exit__(None, None, None)
            self.flops, self.mode = self.mode.get_total_flops(), None


# dense bf16 tensor-core peaks (TFLOP/s) from the vendors' data sheets, by device-name fragment, most specific first
PEAK_BF16_TFLOPS = {"H100 PCIe": 756.0, "H100": 989.4, "H200": 989.4, "GH200": 989.4, "A100": 312.0, "L40S": 362.0, "L4": 121.0}


def model_flops_utilisation(flops_per_s: float, precision: str) -> float | None:
    """Achieved / peak bf16 FLOP/s on a known GPU with bf16 precision; None elsewhere."""
    if not torch.cuda.is_available() or "bf16" not in precision:
        return None
    name = torch.cuda.get_device_name()
    peak = next((tflops for fragment, tflops in PEAK_BF16_TFLOPS.items() if fragment in name), None)
    return round(flops_per_s / (peak * 1e12), 4) if peak else None


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def compose_train_config(overrides: list[str]):
    """The colorgan-train config for these overrides (no Hydra run directory involved)."""
    from hydra import compose, initialize_config_dir

    from colorgan.config import config_dir

    with initialize_config_dir(config_dir=config_dir(), version_base="1.3"):
        return compose("train", overrides=["paths.output_dir=.", *overrides])


def bench_infer(args: argparse.Namespace) -> dict:
    """Latency of colourising one photo (decode excluded) through the Colorizer, median of repeats."""
    import numpy as np
    from hydra.utils import instantiate
    from PIL import Image

    from colorgan.callbacks import peak_memory_mb
    from colorgan.hints import Hint
    from colorgan.inference import Colorizer, pick_device

    if args.ckpt:
        colorizer = Colorizer.from_checkpoint(args.ckpt, device=args.device)
    else:
        cfg = compose_train_config(args.overrides)
        model = instantiate(cfg.model)
        model.image_size = cfg.data.image_size
        colorizer = Colorizer(model.eval().to(pick_device(args.device)))
    if args.hints and not colorizer.contract.hints:
        raise UserError("--hints needs a model that takes hints: --ckpt of one trained with model.hints=true, or model.hints=true")
    import io

    from skimage.data import astronaut

    rng = np.random.default_rng(0)
    height = args.height or args.width
    buffer = io.BytesIO()  # a real photo, grey, as the web page uploads it (PNG bytes)
    Image.fromarray(astronaut()).convert("L").resize((args.width, height), Image.Resampling.BICUBIC).save(buffer, format="PNG")
    photo = buffer.getvalue()

    def hints(round_: int) -> list[Hint] | None:  # each round moves one hint, as a user does on the page
        if not args.hints:
            return None
        points = [(rng.uniform(0, args.width), rng.uniform(0, height)) for _ in range(args.hints)]
        return [Hint(x, y, "#3060c0" if (i + round_) % 2 else "#c06030") for i, (x, y) in enumerate(points)]

    colorizer.colorize(photo, args.render_factor, hints(0))
    times = []
    for round_ in range(1, args.repeats + 1):
        given = hints(round_)
        _synchronize(colorizer.device)
        start = time.perf_counter()
        colorizer.colorize(photo, args.render_factor, given)
        _synchronize(colorizer.device)
        times.append(time.perf_counter() - start)
    factor = args.render_factor or colorizer.default_render_factor
    return {
        "model": type(colorizer.model).__name__,
        "photo": f"astronaut, grey, {args.width}x{height} PNG bytes",
        "render_factor": factor,
        "render_long_side": 16 * factor,
        "hints": args.hints,
        "latency_s_median": round(sorted(times)[len(times) // 2], 3),
        "latency_s_all": [round(t, 3) for t in times],
        "peak_memory_mb": round(peak_memory_mb(colorizer.device), 1),
    }


def plain_pix2pix_loop(model, loader, warmup: int) -> float:
    """pix2pix's training iteration in plain PyTorch (same networks, losses, optimisers, data); seconds after warm-up."""
    import torch.nn.functional as F

    from colorgan.losses import discriminator_loss, gan_loss

    hp, G, D = model.hparams, model.generator.train(), model.discriminator.train()
    adam = {"lr": hp.lr, "betas": tuple(hp.betas), "fused": model.fused_optimizer()}
    opt_g = torch.optim.Adam(G.parameters(), **adam)
    opt_d = torch.optim.Adam(D.parameters(), **adam)
    start = None
    for i, (L, ab) in enumerate(loader):
        if i == warmup:
            start = time.perf_counter()
        fake = G(L)
        loss_d = discriminator_loss(D(L, ab), D(L, fake.detach()))
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        D.requires_grad_(False)
        loss_g = gan_loss(D(L, fake), True) + hp.lambda_l1 * F.l1_loss(fake, ab)
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        D.requires_grad_(True)
    return time.perf_counter() - start


def bench_train(args: argparse.Namespace) -> dict:
    """Training images/s and peak memory of a configured model on fixed random batches, through Lightning
    or (--loop plain, pix2pix only) a plain PyTorch loop doing the same work."""
    from hydra.utils import instantiate

    from colorgan.acceleration import accelerate
    from colorgan.callbacks import peak_memory_mb
    from colorgan.models.pix2pix import Pix2Pix

    cfg = compose_train_config(args.overrides)
    size, batch = cfg.data.image_size, cfg.data.batch_size
    baseline_mb = peak_memory_mb(torch.device("cpu"))
    model = instantiate(cfg.model)
    accelerate(model, cfg)
    L = torch.rand(batch, 1, size, size) * 2 - 1
    ab = (torch.rand(batch, 2, size, size) - 0.5) * 0.6
    loader = torch.utils.data.DataLoader([(L[0], ab[0])] * (batch * (args.warmup + args.steps)), batch_size=batch)
    if args.loop == "plain":
        if type(model) is not Pix2Pix or cfg.trainer.accelerator != "cpu":
            raise UserError("--loop plain measures model=pix2pix on trainer=cpu (the reference for Lightning's overhead)")
        elapsed = plain_pix2pix_loop(model, loader, args.warmup)
    else:
        clock, flop_count = _Clock(args.warmup), _FlopCount(max(0, args.warmup - 1))
        trainer = instantiate(
            cfg.trainer,
            max_epochs=1,
            max_steps=-1,
            logger=False,
            callbacks=[flop_count, clock],
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            limit_val_batches=0,
            default_root_dir=None,
        )
        trainer.fit(model, loader)
        elapsed = clock.end - clock.start
    params = sum(p.numel() for p in model.parameters())
    device = next(model.parameters()).device
    figures = {
        "loop": args.loop,
        "model": cfg.model._target_.rsplit(".", 1)[-1],
        "image_size": size,
        "batch_size": batch,
        "precision": str(cfg.trainer.precision),
        "channels_last": bool(cfg.channels_last),
        "compile": bool(cfg.compile),
        "fused_optimizer": bool(cfg.model.get("fused_optimizer")),
        "parameters_m": round(params / 1e6, 2),
        "images_per_s": round(args.steps * batch / elapsed, 2),
        "seconds_per_batch": round(elapsed / args.steps, 4),
        "peak_memory_mb": round(peak_memory_mb(device), 1),
    }
    if device.type == "cpu":
        figures["peak_memory_above_start_mb"] = round(figures["peak_memory_mb"] - baseline_mb, 1)
    if args.loop == "lightning" and flop_count.flops:
        flops_per_s = flop_count.flops * args.steps / elapsed
        figures["gflops_per_batch"] = round(flop_count.flops / 1e9, 2)
        figures["achieved_tflops_per_s"] = round(flops_per_s / 1e12, 4)
        figures["model_flops_utilisation"] = model_flops_utilisation(flops_per_s, figures["precision"])
    return figures


def bench_video(args: argparse.Namespace) -> dict:
    """Frames/s colourising a video and peak memory at 1x and 10x its length (colorgan.video.bench)."""
    from colorgan.video.bench import bench_video as run

    return run(args.ckpt, args.frames, args.width, args.height, args.render_factor)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__)
    sub = p.add_subparsers(dest="what", required=True)
    data = sub.add_parser("data", help="images/s through the datamodule's training pipeline")
    source = data.add_mutually_exclusive_group(required=True)
    source.add_argument("--root", help="folder with manifest.json (colorgan-prep output)")
    source.add_argument("--urls", help="shard URLs: paths, brace patterns, pipe: commands")
    data.add_argument("--size", type=int, default=256)
    data.add_argument("--batch-size", type=int, default=32)
    data.add_argument("--workers", type=int, default=0, help="0 measures one process, the main one")
    data.add_argument("--batches", type=int, default=50)
    data.add_argument("--warmup", type=int, default=5)
    train = sub.add_parser("train", help="training images/s and peak memory of a model (Hydra overrides pick it)")
    train.add_argument("--steps", type=int, default=10, help="timed batches")
    train.add_argument("--warmup", type=int, default=2)
    train.add_argument("--loop", choices=("lightning", "plain"), default="lightning", help="plain: the same pix2pix work without Lightning")
    train.add_argument("overrides", nargs="*", help="Hydra overrides as for colorgan-train, e.g. model=egan data.image_size=64")
    infer = sub.add_parser("infer", help="latency of colourising one photo")
    infer.add_argument("--ckpt", help="a checkpoint, export folder or hf://owner/name; without it the model comes from the overrides, untrained")
    infer.add_argument("--width", type=int, default=1024)
    infer.add_argument("--height", type=int, default=None, help="default: square")
    infer.add_argument("--render-factor", type=int, default=None)
    infer.add_argument("--repeats", type=int, default=5)
    infer.add_argument("--device", default="auto")
    infer.add_argument("--hints", type=int, default=0, help="re-colour with N hints, one changed each time (a hint-taking model)")
    infer.add_argument("overrides", nargs="*", help="Hydra overrides as for colorgan-train, e.g. model=pix2pix data.image_size=256")
    video = sub.add_parser("video", help="frames/s colourising a video (--temporal none and flow) and peak memory at 1x and 10x its length")
    video.add_argument("--ckpt", required=True, help="a checkpoint")
    video.add_argument("--frames", type=int, default=30, help="the clip's length (the long run is 10x)")
    video.add_argument("--width", type=int, default=640)
    video.add_argument("--height", type=int, default=480)
    video.add_argument("--render-factor", type=int, default=None)
    for sp in (data, train, infer, video):
        sp.add_argument("--out", help="also write the JSON here (atomically)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Console entry point."""
    args = parse_args(argv)
    with report_user_errors(PROG):
        figures = {"data": bench_data, "train": bench_train, "infer": bench_infer, "video": bench_video}[args.what](args)
    record = {"bench": args.what, "command": " ".join([PROG, *(argv if argv is not None else sys.argv[1:])]), "machine": machine(), **figures}
    text = json.dumps(record, indent=2)
    print(text)
    if args.out:
        write_atomic(args.out, (text + "\n").encode())


if __name__ == "__main__":
    main()
