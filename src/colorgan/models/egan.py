"""Evolutionary GAN (Wang et al. 2019) for colourisation, run as the authors' reference code
(WANG-Chaoyue/EvolutionaryGAN-pytorch) runs it, with memory close to pix2pix's. Each training step is one
iteration of variation, evaluation and selection, then the discriminator's turn:

- The batch is split as the reference splits its draw: the children's generator step sees the first part, and the
  last `eval_size` samples are held out.
- Variation: every parent has one child per mutation of the generator objective (minimax, heuristic, least-squares,
  each plus lambda * L1). Before each child its parent is restored in place (weights, buffers and Adam state), and
  the child takes one generator step.
- Evaluation: each child is scored on the held-out samples, which it was not trained on, with both networks in train
  mode as the reference runs them. Its fitness is F = F_q + gamma * F_d - fitness_l1 * L1, with the quality
  F_q = E[D(G(L))] and the diversity F_d = -log ||gradient over D's parameters of the discriminator loss||, computed
  `micro_batch` samples at a time without a double-backward graph (the real half of that gradient is shared by all
  children).
- Selection: the mu fittest children (or mu drawn at random: `selection`) survive and become the next parents, the
  fittest one the live generator.
- The discriminator takes n_d steps, each on its own share of the held-out samples, against the survivors' outputs
  there (the fakes they were scored with, as in the reference).

Survivors are kept as snapshots in reused buffers: memory grows by 2 * mu copies of G and its Adam state, not one per
child. With `keep: recompute` (mu = 1) only the parent is kept, and the winning step is replayed from it with the same
random numbers: one copy less, one extra generator step when the winner is not the last child.

BatchNorm in train mode normalises with the statistics of the batch it is given and moves its running statistics,
as in the reference: a child keeps the statistics of its scoring pass (which its weights produced), and the
discriminator's move with every scoring pass (nothing reads them: D never runs in eval mode).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from pytorch_lightning.utilities import rank_zero_warn

from colorgan.errors import UserError
from colorgan.losses import MUTATIONS
from colorgan.models.pix2pix import Pix2Pix
from colorgan.models.snapshot import Snapshot

RngState = tuple[torch.Tensor, list[torch.Tensor]]
Part = tuple[torch.Tensor, torch.Tensor, torch.Tensor]  # (L, ab, generator input) of some samples of a batch


def rng_state() -> RngState:
    """The CPU and CUDA random states, so that a generator step can be replayed exactly."""
    return torch.random.get_rng_state(), torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []


def set_rng_state(state: RngState) -> None:
    torch.random.set_rng_state(state[0])
    if state[1]:
        torch.cuda.set_rng_state_all(state[1])


@dataclass
class Child:
    """One mutation's offspring: its parent, its mutation, its scores (averaged over ranks) and its fitness F."""

    parent: int
    mutation: str
    quality: float
    diversity: float
    l1: float
    fitness: float


class Scores(NamedTuple):
    """A generator's scores on held-out samples (this rank's) and its outputs there."""

    quality: torch.Tensor
    diversity: torch.Tensor
    l1: torch.Tensor
    fake: torch.Tensor


@dataclass
class Survivor:
    """A kept child: its index among this iteration's children, its fitness, its outputs on the held-out samples,
    and what brings it back (keep=snapshot: a copy; keep=recompute: the random state its step started from)."""

    child: int
    fitness: float
    fake: torch.Tensor
    snapshot: Snapshot | None = None
    rng: RngState | None = None


def survivor_slot(kept: Sequence[Survivor], child: int, fitness: float, mu: int, drawn: set[int] | None) -> int | None:
    """Selection, one child at a time: the slot of `kept` the child takes (`len(kept)`: a new one; else the index of
    the survivor it replaces), or None when it does not survive.

    Fitness selection keeps the mu fittest (on a tie the earlier child stays); `drawn` (random selection) the drawn ones."""
    if drawn is not None:
        return len(kept) if child in drawn else None
    if len(kept) < mu:
        return len(kept)
    worst = min(range(len(kept)), key=lambda i: (kept[i].fitness, -kept[i].child))
    return worst if fitness > kept[worst].fitness else None


class EGAN(Pix2Pix):
    """E-GAN on pix2pix networks (or any generator/discriminator config), as the module's docstring describes; takes
    Pix2Pix's arguments too. conf/model/egan.yaml says what each argument does."""

    def __init__(
        self,
        mutations: Sequence[str] = ("minimax", "heuristic", "least_squares"),
        mu: int = 1,
        n_d: int = 2,
        gamma: float = 0.01,
        fitness_l1: float = 0.0,
        eval_size: int | None = None,
        micro_batch: int | None = 8,
        selection: str = "fitness",
        keep: str = "snapshot",
        **options: Any,
    ):
        super().__init__(**options)  # Pix2Pix's: generator, discriminator, lambda_l1, lr, ...; and every model's
        unknown = set(mutations) - set(MUTATIONS)
        if unknown or not mutations:
            raise UserError(f"model.mutations has unknown {sorted(unknown)}: choose from {', '.join(MUTATIONS)}")
        if selection not in ("fitness", "random"):
            raise UserError(f"model.selection={selection} is not a selection: use fitness or random")
        if mu < 1 or n_d < 1 or (eval_size is not None and eval_size < 1) or (micro_batch is not None and micro_batch < 1):
            raise UserError("model.mu, model.n_d, model.eval_size and model.micro_batch must be at least 1 (eval_size and micro_batch may be null)")
        if keep not in ("snapshot", "recompute") or (keep == "recompute" and mu != 1):
            raise UserError(f"model.keep={keep} with model.mu={mu}: use snapshot, or recompute with mu=1")
        self.mutations = list(mutations)
        self.register_buffer("wins", torch.zeros(len(self.mutations), dtype=torch.long))
        self._parents: list[Snapshot] = []  # the current parents; taken from the live generator on the first step
        self._spare: list[Snapshot] = []  # buffers of former parents, reused for new captures
        self.last_children: list[Child] = []  # the last iteration's children, in breeding order
        self.survivors: list[Survivor] = []  # the last iteration's kept children, fittest first
        self.winner = 0  # index of the fittest survivor among last_children

    # -- the batch ------------------------------------------------------------------------------

    def split(self, L: torch.Tensor, ab: torch.Tensor, x: torch.Tensor) -> tuple[Part, Part]:
        """(samples the children train on, held-out samples) of a batch: `eval_size` held out, at most all but one."""
        n, n_d, eval_size = L.shape[0], self.hparams.n_d, self.hparams.eval_size
        if n < 2:
            raise UserError("E-GAN trains its children on part of each batch and scores them on the rest: use data.batch_size of 2 or more")
        held = min(eval_size or n - n // (n_d + 1), n - 1)
        if held < max(eval_size or 0, n_d):
            rank_zero_warn(
                f"E-GAN holds out {held} of a batch of {n}, fewer than model.eval_size={eval_size} or model.n_d={n_d} ask for (the "
                f"discriminator steps take the held-out samples in turn): use data.batch_size of at least {max(eval_size or 0, n_d) + 1}"
            )
        return (L[:-held], ab[:-held], x[:-held]), (L[-held:], ab[-held:], x[-held:])

    # -- evaluation -----------------------------------------------------------------------------

    def _discriminator_gradients(self, L: torch.Tensor, ab: torch.Tensor, real: bool) -> tuple[list[torch.Tensor], torch.Tensor]:
        """Gradient over D's parameters of -log D(x) (real) or -log(1 - D(x)) (fake), averaged over samples and
        patches, and E[D(x)]; accumulated over micro-batches with no double-backward graph."""
        n = L.shape[0]
        step = self.hparams.micro_batch or n
        params = [p for p in self.discriminator.parameters() if p.requires_grad]
        grads = [torch.zeros_like(p) for p in params]
        mean_d = torch.zeros((), device=L.device)
        for start in range(0, n, step):
            with torch.enable_grad():
                logits = self.discriminator(L[start : start + step], ab[start : start + step])
                target = torch.full_like(logits, float(real))
                loss = F.binary_cross_entropy_with_logits(logits, target, reduction="none").flatten(1).mean(1).sum() / n
                for acc, g in zip(grads, torch.autograd.grad(loss, params), strict=True):
                    acc += g
            mean_d += torch.sigmoid(logits.detach()).flatten(1).mean(1).sum() / n
        return grads, mean_d

    def real_gradients(self, L: torch.Tensor, ab: torch.Tensor) -> list[torch.Tensor]:
        """The real half of F_d's gradient, which does not depend on the generator (shared by all children)."""
        return self._discriminator_gradients(L, ab, real=True)[0]

    def generator_scores(self, L: torch.Tensor, ab: torch.Tensor, real_grads: list[torch.Tensor] | None = None, x: torch.Tensor | None = None) -> Scores:
        """This rank's Scores of the live generator on held-out (L, ab), with both networks in the mode training runs them in
        (train mode: BatchNorm on batch statistics, as the reference scores).

        F_q = E[D(G(x))]; F_d = -log ||grad_D (-log D(real) - log(1 - D(G(x))))||; L1 = |G(x) - ab|. `x` is the
        generator's input (L, or L with hints); the generator sees all samples in one pass (no graph is kept), the
        discriminator `micro_batch` at a time. Micro-batches give the same scores as one pass when D treats samples
        independently (eval mode, instance norm); with BatchNorm in train mode each micro-batch is a batch of its own.
        """
        with torch.no_grad():
            fake = self.generate(self.generator_input(L, ab) if x is None else x)
        if real_grads is None:
            real_grads = self.real_gradients(L, ab)
        fake_grads, quality = self._discriminator_gradients(L, fake, real=False)
        norm = torch.sqrt(sum((r + f).pow(2).sum() for r, f in zip(real_grads, fake_grads, strict=True)))
        return Scores(quality, -torch.log(norm), F.l1_loss(fake, ab), fake)

    # -- evolution ------------------------------------------------------------------------------

    def _capture(self, into: Snapshot | None = None) -> Snapshot:
        target = into or (self._spare.pop() if self._spare else Snapshot())
        return target.capture(self.generator, self.optimizers()[0].optimizer)

    def _restore(self, snapshot: Snapshot) -> None:
        snapshot.restore(self.generator, self.optimizers()[0].optimizer)

    def on_train_start(self) -> None:
        self._parents, self._spare = [], []  # parents are taken from the live generator on the first step

    def mutate(self, L: torch.Tensor, ab: torch.Tensor, mutation: str, x: torch.Tensor | None = None) -> None:
        """One generator step under `mutation` + lambda * L1, from generator input `x` (default: L)."""
        opt_g = self.optimizers()[0]
        with self.toggled_optimizer(opt_g):
            fake = self.generate(L if x is None else x)
            self.manual_step(opt_g, MUTATIONS[mutation](self.discriminator(L, fake)) + self.hparams.lambda_l1 * F.l1_loss(fake, ab))

    def evaluate_child(self, parent: int, mutation: str, held: Part, real_grads: list[torch.Tensor]) -> tuple[Child, torch.Tensor]:
        """The live generator as a child of `parent` by `mutation` (its scores averaged over ranks, and its fitness),
        and its outputs on the held-out samples."""
        scores = self.generator_scores(*held[:2], real_grads, held[2])
        quality, diversity, l1 = self.trainer.strategy.reduce(torch.stack([scores.quality, scores.diversity, scores.l1]), reduce_op="mean").tolist()
        return Child(parent, mutation, quality, diversity, l1, quality + self.hparams.gamma * diversity - self.hparams.fitness_l1 * l1), scores.fake

    def _drawn_at_random(self, n_children: int) -> set[int]:
        """mu children drawn from rank 0's random stream (so each seed draws its own), the same on every rank."""
        return set(self.trainer.strategy.broadcast(torch.randperm(n_children)[: self.hparams.mu].tolist(), src=0))

    def evolve(self, bred: Part, held: Part) -> list[Child]:
        """Breed every (parent, mutation) child on `bred` from its parent's exact state, score it on `held`, and keep
        mu of them (`survivors`, fittest first) as the next parents, the fittest live; returns all children."""
        hp = self.hparams
        if not self._parents:
            self._parents = [self._capture() for _ in range(hp.mu)]
        real_grads = self.real_gradients(*held[:2])
        drawn = self._drawn_at_random(len(self._parents) * len(self.mutations)) if hp.selection == "random" else None
        recompute = hp.keep == "recompute"
        children: list[Child] = []
        kept: list[Survivor] = []
        for p, parent in enumerate(self._parents):
            for mutation in self.mutations:
                start = rng_state() if recompute else None
                self._restore(parent)
                self.mutate(*bred[:2], mutation, bred[2])
                child, fake = self.evaluate_child(p, mutation, held, real_grads)
                children.append(child)
                place = survivor_slot(kept, len(children) - 1, child.fitness, hp.mu, drawn)
                if place is None:
                    continue
                survivor = Survivor(len(children) - 1, child.fitness, fake, rng=start)
                if not recompute:
                    survivor.snapshot = self._capture(into=kept[place].snapshot if place < len(kept) else None)
                kept[place : place + 1] = [survivor]
        self._adopt(kept, children, bred, held)
        self.last_children = children
        return children

    def _adopt(self, kept: list[Survivor], children: list[Child], bred: Part, held: Part) -> None:
        """Make the kept children the next parents, fittest first, and the live generator the fittest of them."""
        kept.sort(key=lambda s: (-s.fitness, s.child))
        best, live = kept[0], len(children) - 1
        if self.hparams.keep == "recompute":
            if best.child != live:
                self._replay(children[best.child], best.rng, bred, held)
            self._capture(into=self._parents[0])
        else:
            self._spare += self._parents
            self._parents = [s.snapshot for s in kept]
            if best.child != live:
                self._restore(self._parents[0])
        self.survivors, self.winner = kept, best.child

    def _replay(self, child: Child, start: RngState, bred: Part, held: Part) -> None:
        """Redo a child's step and scoring pass from its parent with the random numbers it had, leaving the random
        stream where it was (as keep=snapshot would)."""
        after = rng_state()
        self._restore(self._parents[child.parent])
        set_rng_state(start)
        self.mutate(*bred[:2], child.mutation, bred[2])
        with torch.no_grad():
            self.generate(held[2])  # the scoring pass moved the child's BatchNorm statistics
        set_rng_state(after)

    # -- training -------------------------------------------------------------------------------

    def survivors_fakes(self) -> torch.Tensor:
        """The fakes the discriminator trains on: held-out sample i against survivor i mod mu's output on it."""
        fakes = torch.stack([s.fake for s in self.survivors])
        index = torch.arange(fakes.shape[1], device=fakes.device)
        return fakes[index % len(self.survivors), index]

    def update_discriminator(self, L: torch.Tensor, ab: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """n_d steps, each on its own share of the held-out samples (in turn, when there are fewer samples than steps):
        real (L, ab) against (L, fake); returns the last loss."""
        opt_d = self.optimizers()[1]
        n_d = self.hparams.n_d
        samples = torch.arange(max(len(L), n_d), device=L.device) % len(L)
        with self.toggled_optimizer(opt_d):
            for share in samples.tensor_split(n_d):
                loss_d = self.discriminator_loss(L[share], ab[share], fake[share])
                self.manual_step(opt_d, loss_d)
        return loss_d

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        L, ab, x = self.training_inputs(batch)
        bred, held = self.split(L, ab, x)
        children = self.evolve(bred, held)
        loss_d = self.update_discriminator(*held[:2], self.survivors_fakes())

        best = children[self.winner]
        self.wins[self.mutations.index(best.mutation)] += 1
        logged = {"train/loss_d": loss_d, "egan/winner": float(self.mutations.index(best.mutation))}
        for mutation in self.mutations:
            mine = [c for c in children if c.mutation == mutation]
            logged |= {f"egan/{mutation}/{k}": sum(getattr(c, k) for c in mine) / len(mine) for k in ("quality", "diversity", "l1", "fitness")}
        shares = self.wins.float() / self.wins.sum().clamp(min=1)
        logged |= {f"egan/share/{m}": shares[i] for i, m in enumerate(self.mutations)}
        self.log_dict(logged)
        self.log("train/loss_l1", best.l1, prog_bar=True)  # the winner's, on samples it was not trained on
