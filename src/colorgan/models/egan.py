"""Evolutionary GAN (Wang et al. 2019) for colourisation, with memory close to pix2pix's.

Each iteration, every parent generator is restored in place (weights and Adam state) and takes one
step under each mutation of the generator objective (minimax, heuristic, least-squares, each plus
lambda * L1). Children are scored by fitness F = F_q + gamma * F_d on an evaluation batch, with
F_q = E[D(G(L))] and F_d = -log ||grad_D of the discriminator loss||, computed in micro-batches
without a double-backward graph (the real half of that gradient is shared by all children). The
best mu children become the parents; then the discriminator takes n_d steps. Snapshots are reused
buffers, so memory grows by 2 * mu copies of G and its Adam state, not one per child.
"""

from __future__ import annotations

import heapq
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Sequence

import torch
import torch.nn.functional as F

from colorgan.losses import MUTATIONS
from colorgan.models.pix2pix import Pix2Pix
from colorgan.models.snapshot import Snapshot


def rng_state() -> tuple[torch.Tensor, list[torch.Tensor]]:
    """The CPU and CUDA random states, so that a generator step can be replayed exactly."""
    return torch.random.get_rng_state(), torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []


def set_rng_state(state: tuple[torch.Tensor, list[torch.Tensor]]) -> None:
    torch.random.set_rng_state(state[0])
    if state[1]:
        torch.cuda.set_rng_state_all(state[1])


@dataclass
class Child:
    """One mutation's offspring and its scores."""

    parent: int
    mutation: str
    quality: float
    diversity: float
    fitness: float


class EGAN(Pix2Pix):
    """E-GAN on pix2pix networks (or any generator/discriminator config).

    selection: "fitness" keeps the fittest mu children; "random" keeps mu random ones (an ablation).
    eval_size: samples of the batch used to score children (None: the whole batch), scored in
    micro-batches of `micro_batch`.
    keep: "snapshot" copies the fittest child as it appears (two copies of G + Adam state in
    memory); "recompute" (mu=1) keeps only the parent and replays the winning step from it with
    the same random numbers: one copy less, one extra generator step when the winner is not the
    last child.
    """

    def __init__(
        self,
        generator: dict[str, Any],
        discriminator: dict[str, Any],
        lambda_l1: float = 100.0,
        lr: float = 2e-4,
        betas: Sequence[float] = (0.5, 0.999),
        decay_start: float = 0.5,
        mutations: Sequence[str] = ("minimax", "heuristic", "least_squares"),
        mu: int = 1,
        n_d: int = 2,
        gamma: float = 0.01,
        eval_size: int | None = None,
        micro_batch: int = 8,
        selection: str = "fitness",
        keep: str = "snapshot",
        fused_optimizer: bool = True,
        **options: Any,
    ):
        super().__init__(
            generator=generator, discriminator=discriminator, lambda_l1=lambda_l1, lr=lr, betas=betas, decay_start=decay_start,
            fused_optimizer=fused_optimizer, **options,
        )
        unknown = set(mutations) - set(MUTATIONS)
        if unknown or not mutations:
            raise ValueError(f"unknown mutations {sorted(unknown)}: choose from {', '.join(MUTATIONS)}")
        if selection not in ("fitness", "random"):
            raise ValueError(f"selection must be 'fitness' or 'random', not {selection!r}")
        if mu < 1:
            raise ValueError("mu must be at least 1")
        if keep not in ("snapshot", "recompute") or (keep == "recompute" and mu != 1):
            raise ValueError("keep must be 'snapshot', or 'recompute' with mu=1")
        self.mutations = list(mutations)
        self.register_buffer("wins", torch.zeros(len(self.mutations), dtype=torch.long))
        self._parents: list[Snapshot] = []
        self._spare: list[Snapshot] = []

    # -- fitness --------------------------------------------------------------------------------

    def _discriminator_gradients(self, L: torch.Tensor, ab: torch.Tensor, real: bool) -> tuple[list[torch.Tensor], torch.Tensor]:
        """Gradient over D's parameters of -log D(x) (real) or -log(1 - D(x)) (fake), averaged over
        samples and patches, and E[D(x)]; accumulated over micro-batches with no double-backward graph."""
        n, step = L.shape[0], self.hparams.micro_batch
        params = [p for p in self.discriminator.parameters() if p.requires_grad]
        grads = [torch.zeros_like(p) for p in params]
        mean_d = torch.zeros((), device=L.device)
        for start in range(0, n, step):
            with torch.enable_grad():
                logits = self.discriminator(L[start : start + step], ab[start : start + step])
                target = torch.full_like(logits, float(real))
                loss = F.binary_cross_entropy_with_logits(logits, target, reduction="none").flatten(1).mean(1).sum() / n
                for acc, g in zip(grads, torch.autograd.grad(loss, params)):
                    acc += g
            mean_d += torch.sigmoid(logits.detach()).flatten(1).mean(1).sum() / n
        return grads, mean_d

    @contextmanager
    def _evaluating(self):
        modes = self.generator.training, self.discriminator.training
        self.generator.eval()
        self.discriminator.eval()
        try:
            yield
        finally:
            self.generator.train(modes[0])
            self.discriminator.train(modes[1])

    def fitness(
        self, L: torch.Tensor, ab: torch.Tensor, real_grads: list[torch.Tensor] | None = None, x: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(F_q, F_d) of the current generator on (L, ab), both networks in eval mode.

        F_q = E[D(G(L))]; F_d = -log ||grad_D (-log D(real) - log(1 - D(G(L))))||. The real half of the
        gradient does not depend on the generator, so `real_grads` lets all children share it.
        """
        with self._evaluating():
            if real_grads is None:
                real_grads, _ = self._discriminator_gradients(L, ab, real=True)
            with torch.no_grad():
                fake = torch.cat([self.generate(chunk) for chunk in (L if x is None else x).split(self.hparams.micro_batch)])
            fake_grads, quality = self._discriminator_gradients(L, fake, real=False)
        norm = torch.sqrt(sum((r + f).pow(2).sum() for r, f in zip(real_grads, fake_grads)))
        return quality, -torch.log(norm)

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

    def _chosen_at_random(self, n_children: int) -> set[int]:
        generator = torch.Generator().manual_seed(int(self.global_step) * 7919 + 17)  # same choice on every rank
        return set(torch.randperm(n_children, generator=generator)[: self.hparams.mu].tolist())

    def evolve(self, L: torch.Tensor, ab: torch.Tensor, x: torch.Tensor | None = None) -> list[Child]:
        """Run every (parent, mutation) child, keep the best mu as the next parents; returns all children.

        Copies are made only when needed: the live generator already equals the first parent, a
        child is captured only when it enters the kept set (into the buffer of the one it evicts),
        and the winner is restored only if it is not the live generator already.
        """
        hp = self.hparams
        if not self._parents:
            self._parents = [self._capture() for _ in range(hp.mu)]
        n_eval = hp.eval_size or L.shape[0]
        with self._evaluating():
            real_grads, _ = self._discriminator_gradients(L[:n_eval], ab[:n_eval], real=True)
        random_pick = self._chosen_at_random(len(self._parents) * len(self.mutations)) if hp.selection == "random" else None
        recompute = hp.keep == "recompute"
        children: list[Child] = []
        kept: list[tuple[float, int, Any]] = []  # min-heap of (fitness, child index, snapshot or recipe)
        live: tuple[str, int] = ("parent", 0)
        for p, parent in enumerate(self._parents):
            for mutation in self.mutations:
                if live != ("parent", p):
                    self._restore(parent)
                recipe = (p, mutation, rng_state()) if recompute else None
                self.mutate(L, ab, mutation, x)
                index = len(children)
                live = ("child", index)
                quality, diversity = self.fitness(L[:n_eval], ab[:n_eval], real_grads, None if x is None else x[:n_eval])
                scores = self.trainer.strategy.reduce(torch.stack([quality, diversity]), reduce_op="mean")
                child = Child(p, mutation, float(scores[0]), float(scores[1]), float(scores[0] + hp.gamma * scores[1]))
                children.append(child)
                if random_pick is not None:
                    if index in random_pick:
                        kept.append((child.fitness, index, recipe or self._capture()))
                elif len(kept) < hp.mu:
                    heapq.heappush(kept, (child.fitness, index, recipe or self._capture()))
                elif child.fitness > kept[0][0]:
                    _, _, evicted = heapq.heappop(kept)
                    heapq.heappush(kept, (child.fitness, index, recipe or self._capture(into=evicted)))
        kept.sort(key=lambda item: (-item[0], item[1]))
        self.winner = kept[0][1]
        if recompute:  # mu == 1: redo the winning step from its parent with the same random numbers
            p, mutation, rng = kept[0][2]
            if live != ("child", self.winner):
                after = rng_state()
                self._restore(self._parents[p])
                set_rng_state(rng)
                self.mutate(L, ab, mutation, x)
                set_rng_state(after)  # the replay leaves the random stream as the snapshot mode would
            self._capture(into=self._parents[0])
        else:
            self._spare += self._parents
            self._parents = [snapshot for _, _, snapshot in kept]
            if live != ("child", self.winner):
                self._restore(self._parents[0])
        self.last_children = children
        return children

    # -- training -------------------------------------------------------------------------------

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        L, ab, x = self.training_inputs(batch)
        children = self.evolve(L, ab, x)
        best = children[self.winner]
        self.wins[self.mutations.index(best.mutation)] += 1

        opt_d = self.optimizers()[1]
        with self.toggled_optimizer(opt_d):
            with torch.no_grad():
                fake = self.generate(x)
            for _ in range(self.hparams.n_d):
                loss_d = self.discriminator_loss(L, ab, fake)
                self.manual_step(opt_d, loss_d)

        logged = {"train/loss_d": loss_d, "egan/winner": float(self.mutations.index(best.mutation))}
        for mutation in self.mutations:
            mine = [c for c in children if c.mutation == mutation]
            logged |= {f"egan/{mutation}/{k}": sum(getattr(c, k) for c in mine) / len(mine) for k in ("quality", "diversity", "fitness")}
        shares = self.wins.float() / self.wins.sum().clamp(min=1)
        logged |= {f"egan/share/{m}": shares[i] for i, m in enumerate(self.mutations)}
        self.log_dict(logged)
        self.log("train/loss_l1", F.l1_loss(fake, ab), prog_bar=True)
