import numpy as np
import pytest
import pytorch_lightning as pl
import torch
from torch import nn

from colorgan.losses import heuristic_loss, least_squares_loss, minimax_loss
from colorgan.models.egan import EGAN
from colorgan.models.snapshot import Snapshot
from colorgan.train import train
from conftest import compose_config


class ConstantAB(nn.Module):
    """A generator that paints every pixel with one learnable (a, b)."""

    def __init__(self, a: float = 0.2, b: float = -0.1):
        super().__init__()
        self.ab = nn.Parameter(torch.tensor([a, b]))

    def forward(self, L):
        return self.ab.view(1, 2, 1, 1).expand(L.shape[0], 2, *L.shape[2:])


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


def tiny_egan(generator=None, **kwargs) -> EGAN:
    return EGAN(generator or {"_target_": "test_egan.ConstantAB"}, {"_target_": "test_egan.PixelCritic"}, **kwargs)


def test_mutation_losses_match_their_formulas():
    logits = torch.tensor([-1.0, 0.5, 2.0])
    d = torch.sigmoid(logits)
    assert torch.allclose(minimax_loss(logits), 0.5 * torch.log(1 - d).mean())
    assert torch.allclose(heuristic_loss(logits), -0.5 * torch.log(d).mean())
    assert torch.allclose(least_squares_loss(logits), ((d - 1) ** 2).mean())


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


def test_fitness_matches_hand_worked_values():
    model = tiny_egan(micro_batch=2)
    L = torch.tensor([-0.5, 0.0, 0.5]).view(3, 1, 1, 1).expand(3, 1, 2, 2).clone()
    ab = torch.tensor([[0.3, 0.4], [-0.2, 0.1], [0.0, -0.5]]).view(3, 2, 1, 1).expand(3, 2, 2, 2).clone()
    quality, diversity = model.fitness(L, ab)

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


class Record(pl.Callback):
    def __init__(self):
        self.rounds = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.rounds.append((list(pl_module.last_children), pl_module.winner))


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
    monkeypatch.setattr(EGAN, "fitness", lambda self, L, ab, real_grads=None: (torch.tensor(next(scores)), torch.tensor(0.0)))
    by_fitness = {c[w].mutation for c, w in evolve_for(tiny_egan(), 12)}
    assert by_fitness == {"heuristic"}
    scores = iter(favoured[m] for _ in range(100) for m in favoured)
    at_random = [c[w].mutation for c, w in evolve_for(tiny_egan(selection="random"), 12)]
    assert len(set(at_random)) > 1


def test_mu_two_keeps_two_parents():
    model = tiny_egan(mu=2)
    rounds = evolve_for(model, 3)
    assert len(rounds[-1][0]) == 6 and len(model._parents) == 2
    assert model.wins.sum() == 3


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
    assert all(torch.equal(a, b) for a, b in zip(by_snapshot.generator.state_dict().values(), by_recompute.generator.state_dict().values()))
    assert len(by_recompute._parents) == 1 and not by_recompute._spare
