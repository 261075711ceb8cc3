"""colorgan.bench as a library: the plain loop that measures Lightning's overhead does Lightning's work."""

from __future__ import annotations

import torch

from colorgan.bench import train_config
from colorgan.bench.plain_loop import time_plain_loop
from colorgan.bench.train import build_model, random_batches, time_lightning

TINY = ["model=pix2pix", "data.image_size=32", "data.batch_size=2", "model.generator.ngf=8", "model.discriminator.ndf=8", "model.decay_start=0"]


def test_the_plain_loop_trains_pix2pix_exactly_as_lightning_does():
    """Same initial weights and batches: the same weights after pix2pix's own step and learning-rate decay in both."""
    cfg = train_config(TINY)
    batches = random_batches(32, 2, 4)
    models = {}
    for loop in ("lightning", "plain"):
        torch.manual_seed(0)
        models[loop] = build_model(cfg, loop)
    initial = {name: value.clone() for name, value in models["plain"].state_dict().items()}
    time_lightning(cfg, models["lightning"], batches, warmup=1)
    time_plain_loop(models["plain"], batches, warmup=1)
    assert [s.get_last_lr()[0] for s in models["plain"].lr_schedulers()] == [0.0, 0.0]  # decayed linearly over the 4 batches
    lightning, plain = models["lightning"].state_dict(), models["plain"].state_dict()
    assert list(lightning) == list(plain) == list(initial)
    assert all(torch.equal(lightning[name], plain[name]) for name in lightning)
    assert not torch.equal(plain["generator.down.0.0.weight"], initial["generator.down.0.0.weight"])  # it trained
