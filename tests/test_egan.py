import copy

import numpy as np
import pytest
import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch import nn

from colorgan.errors import UserError
from colorgan.models.egan import EGAN, Scores, Survivor, survivor_slot
from colorgan.models.snapshot import Snapshot
from colorgan.train import train
from conftest import compose_config


class ConstantAB(nn.Module):
    """A generator that paints every pixel with one learnable (a, b)."""

    def __init__(self, a: float = 0.2, b: float = -0.1, in_channels: int = 1):
        super().__init__()
        self.ab = nn.Parameter(torch.tensor([a, b]))

    def forward(self, L):
        return self.ab.view(1, 2, 1, 1).repeat(L.shape[0], 1, *L.shape[2:])


class PixelCritic(nn.Module):
    """A 1x1-conv discriminator: logit = w . (L, a, b) + bias at every pixel."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 1, 1)
        with torch.no_grad():
            self.conv.weight.copy_(torch.tensor([0.5, -1.0, 2.0]).view(1, 3, 1, 1))
            self.conv.bias.fill_(0.1)

    def forward(self, L, ab):
        return self.conv(torch.cat([L, ab], 1))


DROPOUT_UNET = {"_target_": "colorgan.nets.UNetGenerator", "image_size": 16, "ngf": 4, "dropout": 0.5}
BATCHNORM_UNET = {"_target_": "colorgan.nets.UNetGenerator", "image_size": 16, "ngf": 4, "dropout": 0.0}  # BatchNorm, deterministic
BATCHNORM_PATCHGAN = {"_target_": "colorgan.nets.PatchDiscriminator", "ndf": 4, "n_layers": 2}


def tiny_egan(generator=None, discriminator=None, **kwargs) -> EGAN:
    return EGAN(generator=generator or {"_target_": "test_egan.ConstantAB"}, discriminator=discriminator or {"_target_": "test_egan.PixelCritic"}, **kwargs)


def test_snapshot_restores_weights_and_adam_state_exactly():
    net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.Conv2d(4, 2, 1))
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    for _ in range(2):
        opt.zero_grad()
        net(torch.randn(2, 1, 8, 8)).pow(2).mean().backward()
        opt.step()
    snap = Snapshot().capture(net, opt)
    weights = {k: v.clone() for k, v in net.state_dict().items()}
    adam = {id(p): {k: v.clone() for k, v in opt.state[p].items()} for p in net.parameters()}
    for _ in range(3):
        opt.zero_grad()
        net(torch.randn(2, 1, 8, 8)).pow(2).mean().backward()
        opt.step()
    snap.restore(net, opt)
    assert all(torch.equal(v, weights[k]) for k, v in net.state_dict().items())
    for p in net.parameters():
        assert all(torch.equal(opt.state[p][k], v) for k, v in adam[id(p)].items())
    buffers = [t.data_ptr() for t in snap.module.values()]
    snap.capture(net, opt)
    assert [t.data_ptr() for t in snap.module.values()] == buffers  # reused, not reallocated


def test_scores_match_hand_worked_values():
    model = tiny_egan(micro_batch=2)
    L = torch.tensor([-0.5, 0.0, 0.5]).view(3, 1, 1, 1).expand(3, 1, 2, 2).clone()
    ab = torch.tensor([[0.3, 0.4], [-0.2, 0.1], [0.0, -0.5]]).view(3, 2, 1, 1).expand(3, 2, 2, 2).clone()
    quality, diversity, l1, fake = model.generator_scores(L, ab)

    w, bias = np.array([0.5, -1.0, 2.0]), 0.1
    sig = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    Ls = np.array([-0.5, 0.0, 0.5])
    real_x = np.stack([Ls, [0.3, -0.2, 0.0], [0.4, 0.1, -0.5]], 1)
    fake_x = np.stack([Ls, [0.2] * 3, [-0.1] * 3], 1)
    real_logit, fake_logit = real_x @ w + bias, fake_x @ w + bias
    assert float(quality) == pytest.approx(sig(fake_logit).mean(), abs=1e-6)  # F_q = E[D(G(z))], sigmoid applied
    # d/dlogit of -log D(x) is D(x) - 1; of -log(1 - D(G(z))) is D(G(z))
    grad_w = ((sig(real_logit) - 1)[:, None] * real_x + sig(fake_logit)[:, None] * fake_x).mean(0)
    grad_b = ((sig(real_logit) - 1) + sig(fake_logit)).mean()
    expected = -np.log(np.sqrt((grad_w**2).sum() + grad_b**2))
    assert float(diversity) == pytest.approx(expected, abs=1e-5)  # F_d = -log ||grad||: smaller gradient, fitter
    assert torch.equal(fake, model.generator(L)) and float(l1) == pytest.approx(np.abs(fake_x[:, 1:] - real_x[:, 1:]).mean(), abs=1e-6)


class Record(pl.Callback):
    def __init__(self, survivors: bool = False):
        self.rounds, self.survivors = [], survivors

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        kept = ([s.child for s in pl_module.survivors],) if self.survivors else ()
        self.rounds.append((list(pl_module.last_children), pl_module.winner, *kept))


def evolve_for(model: EGAN, steps: int, size: int = 4) -> list:
    record = Record()
    samples = [(torch.rand(1, size, size) * 2 - 1, torch.rand(2, size, size) - 0.5) for _ in range(8 * steps)]
    data = torch.utils.data.DataLoader(samples, batch_size=8)
    trainer = pl.Trainer(max_epochs=1, logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False, callbacks=[record])
    trainer.fit(model, data)
    return record.rounds


def test_the_fittest_child_is_kept():
    for children, winner in evolve_for(tiny_egan(), 6):
        assert children[winner].fitness == max(c.fitness for c in children)


def test_random_selection_ignores_fitness(monkeypatch):
    favoured = {"minimax": 0.1, "heuristic": 0.9, "least_squares": 0.2}
    scores = iter(favoured[m] for _ in range(100) for m in favoured)
    monkeypatch.setattr(
        EGAN, "generator_scores", lambda self, L, ab, real_grads=None, x=None: Scores(torch.tensor(next(scores)), torch.tensor(0.0), torch.tensor(0.0), ab)
    )
    by_fitness = {c[w].mutation for c, w in evolve_for(tiny_egan(), 12)}
    assert by_fitness == {"heuristic"}
    draws = []
    for seed in (0, 1):
        scores = iter(favoured[m] for _ in range(100) for m in favoured)
        torch.manual_seed(seed)
        draws.append([c[w].mutation for c, w in evolve_for(tiny_egan(selection="random"), 12)])
    assert len(set(draws[0])) > 1 and draws[0] != draws[1]  # each seed draws its own sequence


def test_a_child_survives_in_the_slot_of_the_weakest_survivor_it_beats():
    fake = torch.zeros(1, 2, 1, 1)
    kept = [Survivor(0, 0.5, fake), Survivor(1, 0.2, fake)]
    assert survivor_slot(kept[:1], 1, 0.1, mu=2, drawn=None) == 1  # room left: a new slot, whatever its fitness
    assert survivor_slot(kept, 2, 0.3, mu=2, drawn=None) == 1  # replaces the weakest
    assert survivor_slot(kept, 2, 0.2, mu=2, drawn=None) is None  # a tie: the earlier child stays
    assert survivor_slot([], 3, -9.0, mu=1, drawn={3}) == 0 and survivor_slot([], 2, 9.0, mu=1, drawn={3}) is None  # random: the drawn ones


def test_mu_two_keeps_two_parents():
    model = tiny_egan(mu=2)
    rounds = evolve_for(model, 3)
    assert len(rounds[-1][0]) == 6 and len(model._parents) == 2
    assert model.wins.sum() == 3


@pytest.mark.slow  # three epochs: val CIEDE2000 13.2, 14.1, 10.4 after epochs 1-3 with one thread (grey 23.4, bar 16.3)
def test_egan_learns_synthetic_colours(tmp_path):
    cfg = compose_config(tmp_path, "experiment=synthetic", "model=egan", "logger=none", "trainer.max_epochs=3", "model.eval_size=8")
    metrics = train(cfg)["metrics"]
    assert metrics["val/de2000"] <= 0.7 * metrics["val_grey/de2000"], metrics
    shares = [metrics[f"egan/share/{m}"] for m in ("minimax", "heuristic", "least_squares")]
    assert sum(shares) == pytest.approx(1.0)


@pytest.mark.parametrize("generator", [None, DROPOUT_UNET], ids=["constant", "unet_with_dropout"])
def test_recompute_reproduces_the_snapshot_winner(generator):
    torch.manual_seed(0)
    by_snapshot = tiny_egan(generator)
    by_recompute = tiny_egan(generator, keep="recompute")
    by_recompute.load_state_dict(by_snapshot.state_dict())
    size = 16 if generator else 4
    torch.manual_seed(1)
    first = evolve_for(by_snapshot, 4, size)
    torch.manual_seed(1)
    second = evolve_for(by_recompute, 4, size)
    assert [w for _, w in first] == [w for _, w in second]
    assert all(torch.equal(a, b) for a, b in zip(by_snapshot.generator.state_dict().values(), by_recompute.generator.state_dict().values(), strict=True))
    assert len(by_recompute._parents) == 1 and not by_recompute._spare


# -- faithful to the paper and the reference code (issue #12) -----------------------------------------


def generator_state(model: EGAN) -> dict[str, torch.Tensor]:
    """The generator's weights and buffers and its Adam state, as flat name -> copy."""
    state = {f"weight/{k}": v.detach().clone() for k, v in model.generator.state_dict().items()}
    optimizer = model.optimizers()[0].optimizer
    for i, param in enumerate(model.generator.parameters()):
        state |= {f"adam/{i}/{k}": v.detach().clone() for k, v in optimizer.state.get(param, {}).items()}
    return state


class Starts(pl.Callback):
    """Each training step's children's starting states (the first n_children calls of `mutate`) and the
    generator as the step leaves it."""

    def __init__(self, n_children: int):
        self.n_children, self.calls, self.rounds = n_children, [], []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self.calls.clear()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.rounds.append((self.calls[: self.n_children], generator_state(pl_module)))


@pytest.mark.parametrize("keep", ["snapshot", "recompute"])
def test_every_child_starts_from_its_parent_exactly(monkeypatch, keep):
    """Weights, BatchNorm statistics and Adam state of every child's start equal the generator the previous step kept."""
    starts = Starts(n_children=3)
    mutate = EGAN.mutate

    def recorded(self, *args, **kwargs):
        starts.calls.append(generator_state(self))
        return mutate(self, *args, **kwargs)

    monkeypatch.setattr(EGAN, "mutate", recorded)
    samples = [(torch.rand(1, 16, 16) * 2 - 1, torch.rand(2, 16, 16) - 0.5) for _ in range(8 * 4)]
    trainer = pl.Trainer(max_epochs=1, logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False, callbacks=[starts])
    trainer.fit(tiny_egan(BATCHNORM_UNET, keep=keep), torch.utils.data.DataLoader(samples, batch_size=8))
    assert len(starts.rounds) == 4
    for (children, _), (_, left) in zip(starts.rounds[1:], starts.rounds[:-1], strict=True):
        for child in children:
            assert child.keys() == left.keys()
            assert all(torch.equal(child[k], left[k]) for k in left), [k for k in left if not torch.equal(child[k], left[k])]


def identified_batches(steps: int, batch: int = 8, size: int = 4) -> list:
    """Samples whose L is one flat level each (its identity), with random ab."""
    levels = torch.linspace(-0.9, 0.9, steps * batch)
    return [(torch.full((1, size, size), float(v)), torch.rand(2, size, size) - 0.5) for v in levels]


def fit(model: EGAN, samples: list, *callbacks: pl.Callback, batch: int = 8) -> pl.Trainer:
    trainer = pl.Trainer(
        max_epochs=1, logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False, callbacks=list(callbacks)
    )
    trainer.fit(model, torch.utils.data.DataLoader(samples, batch_size=batch))
    return trainer


def levels(L: torch.Tensor) -> set[float]:
    return {round(float(v), 5) for v in L.mean(dim=(1, 2, 3))}


def test_children_are_scored_on_samples_they_were_not_trained_on():
    model = tiny_egan()
    seen = {"trained": [], "scored": []}

    def record(module, args):
        if module.training:
            seen["trained" if torch.is_grad_enabled() else "scored"].append(levels(args[0]))

    model.generator.register_forward_pre_hook(record)
    fit(model, identified_batches(3))
    trained, scored = set().union(*seen["trained"]), set().union(*seen["scored"])
    assert trained and scored and not trained & scored


def test_scores_run_both_networks_as_they_train():
    """F_q and F_d as the reference computes them: G and D in train mode (BatchNorm on batch statistics), one pass."""
    torch.manual_seed(0)
    model = tiny_egan(BATCHNORM_UNET, BATCHNORM_PATCHGAN)
    L, ab = torch.rand(6, 1, 16, 16) * 2 - 1, torch.rand(6, 2, 16, 16) - 0.5
    generator, discriminator = copy.deepcopy(model.generator).train(), copy.deepcopy(model.discriminator).train()
    with torch.no_grad():
        fake = generator(L)
    fake_logits, real_logits = discriminator(L, fake), discriminator(L, ab)
    loss = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)) + F.binary_cross_entropy_with_logits(
        real_logits, torch.ones_like(real_logits)
    )
    grads = torch.autograd.grad(loss, list(discriminator.parameters()))
    quality, diversity = model.generator_scores(L, ab)[:2]
    assert float(quality) == pytest.approx(float(torch.sigmoid(fake_logits).mean()), rel=1e-5)
    assert float(diversity) == pytest.approx(float(-torch.log(torch.sqrt(sum(g.pow(2).sum() for g in grads)))), rel=1e-5)


INSTANCE_UNET = BATCHNORM_UNET | {"norm": "instance"}
INSTANCE_PATCHGAN = BATCHNORM_PATCHGAN | {"norm": "instance"}


def test_micro_batched_scores_equal_one_pass():
    torch.manual_seed(0)
    one_pass = tiny_egan(INSTANCE_UNET, INSTANCE_PATCHGAN, micro_batch=64)
    micro = tiny_egan(INSTANCE_UNET, INSTANCE_PATCHGAN, micro_batch=2)
    micro.load_state_dict(one_pass.state_dict())
    L, ab = torch.rand(5, 1, 16, 16) * 2 - 1, torch.rand(5, 2, 16, 16) - 0.5
    expected, got = one_pass.generator_scores(L, ab), micro.generator_scores(L, ab)
    for a, b in zip(expected, got, strict=True):
        assert torch.allclose(a, b, rtol=1e-5, atol=1e-6)


def test_discriminator_steps_train_on_different_real_samples_and_the_survivors_fresh_fakes(monkeypatch):
    calls = []
    loss = EGAN.discriminator_loss

    def recorded(self, L, ab, fake):
        with torch.no_grad():
            survivor = self.generator(L)  # ConstantAB: the kept child's colour
        calls.append((levels(L), torch.equal(fake, survivor)))
        return loss(self, L, ab, fake)

    monkeypatch.setattr(EGAN, "discriminator_loss", recorded)
    trained = []
    model = tiny_egan(n_d=2)
    model.generator.register_forward_pre_hook(lambda m, args: trained.append(levels(args[0])) if torch.is_grad_enabled() and m.training else None)
    fit(model, identified_batches(3))
    assert len(calls) == 3 * 2
    for step in range(3):
        (first, fresh_first), (second, fresh_second) = calls[2 * step : 2 * step + 2]
        assert first and second and not first & second  # each step its own real samples
        assert fresh_first and fresh_second
        assert not (first | second) & set().union(*trained[3 * step : 3 * step + 3])  # none the children were trained on


def test_children_log_their_l1_and_l1_can_weigh_in_the_fitness():
    model = tiny_egan(fitness_l1=1e4, gamma=0.01)
    record = Record()
    trainer = fit(model, identified_batches(4), record)
    for children, winner in record.rounds:
        for child in children:
            assert child.fitness == pytest.approx(child.quality + 0.01 * child.diversity - 1e4 * child.l1)
        assert children[winner].l1 == min(c.l1 for c in children)
    assert {f"egan/{m}/l1" for m in ("minimax", "heuristic", "least_squares")} <= set(trainer.callback_metrics)


def test_with_two_parents_every_child_starts_from_its_own_parent(monkeypatch):
    """mu=2: the children of parent p start exactly from the p-th survivor of the previous step, as it was scored."""
    started, scored = [], []
    mutate, evaluate_child = EGAN.mutate, EGAN.evaluate_child

    def mutating(self, *args, **kwargs):
        started.append(generator_state(self))
        return mutate(self, *args, **kwargs)

    def scoring(self, *args, **kwargs):
        result = evaluate_child(self, *args, **kwargs)
        scored.append(generator_state(self))
        return result

    monkeypatch.setattr(EGAN, "mutate", mutating)
    monkeypatch.setattr(EGAN, "evaluate_child", scoring)
    record = Record(survivors=True)
    samples = [(torch.rand(1, 16, 16) * 2 - 1, torch.rand(2, 16, 16) - 0.5) for _ in range(8 * 3)]
    fit(tiny_egan(BATCHNORM_UNET, mu=2), samples, record)
    for step in (1, 2):
        children, _, _ = record.rounds[step]
        survivors = record.rounds[step - 1][2]
        assert len(survivors) == 2 and len(children) == 6
        for c, child in enumerate(children):
            parent = scored[6 * (step - 1) + survivors[child.parent]]
            start = started[6 * step + c]
            assert all(torch.equal(start[k], parent[k]) for k in parent)


def test_a_batch_too_small_to_hold_out_enough_still_trains_and_says_so(monkeypatch):
    """Batch 2, n_d 2: one sample trains the children, one is held out, and both D steps take it (with a warning)."""
    calls = []
    loss = EGAN.discriminator_loss
    monkeypatch.setattr(EGAN, "discriminator_loss", lambda self, L, ab, fake: calls.append(levels(L)) or loss(self, L, ab, fake))
    with pytest.warns(UserWarning, match="holds out 1 of a batch of 2"):
        fit(tiny_egan(eval_size=8), identified_batches(2, batch=2), batch=2)
    assert len(calls) == 4 and calls[0] == calls[1] and len(calls[0]) == 1
    with pytest.raises(UserError, match="data.batch_size of 2 or more"):
        fit(tiny_egan(), identified_batches(1, batch=1), batch=1)


@pytest.mark.slow
def test_egan_takes_hints(tmp_path):
    """model.hints=true for E-GAN: evolution runs on hinted inputs, and the checkpoint's contract and generator take
    L with the hint map."""
    from colorgan.checkpoint import load_model
    from colorgan.hints import Hint, rasterize

    overrides = ["experiment=synthetic", "model=egan", "model.hints=true", "logger=none", "debug=tiny"]
    result = train(compose_config(tmp_path, *overrides, "max_batches=4", "model.eval_size=8"))
    model = load_model(result["last_checkpoint"])
    first_conv = next(m for m in model.generator.modules() if isinstance(m, nn.Conv2d))
    assert model.contract.hints and first_conv.in_channels == 4
    L = torch.zeros(1, 1, 32, 32)
    hint = rasterize([Hint(16, 16, (60.0, 60.0), size=5)], (32, 32), (32, 32))
    with torch.no_grad():
        assert model(L, hint).shape == (1, 2, 32, 32)
