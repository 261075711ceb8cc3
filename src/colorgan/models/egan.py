"""Evolutionary GAN (Wang et al. 2019) for colourisation, with memory close to pix2pix's.

Each iteration, every parent generator is restored in place (weights and Adam state) and takes one
step under each mutation of the generator objective (minimax, heuristic, least-squares, each plus
lambda * L1). Children are scored by fitness F = F_q + gamma * F_d on an evaluation batch, with
F_q = E[D(G(L))] and F_d = -log ||grad_D of the discriminator loss||, computed in micro-batches
without a double-backward graph. The best mu children become the parents; then the discriminator
takes n_d steps. Snapshots are reused buffers, so memory grows by 2 * mu copies of G and its Adam
state rather than one per child.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import Any, Sequence

import torch
import torch.nn.functional as F

from colorgan.losses import MUTATIONS, gan_loss
from colorgan.models.pix2pix import Pix2Pix
from colorgan.models.snapshot import Snapshot


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
    ):
        super().__init__(generator, discriminator, lambda_l1, lr, betas, decay_start)
        unknown = set(mutations) - set(MUTATIONS)
        if unknown or not mutations:
            raise ValueError(f"unknown mutations {sorted(unknown)}: choose from {', '.join(MUTATIONS)}")
        if selection not in ("fitness", "random"):
            raise ValueError(f"selection must be 'fitness' or 'random', not {selection!r}")
        if mu < 1:
            raise ValueError("mu must be at least 1")
        self.mutations = list(mutations)
        self.register_buffer("wins", torch.zeros(len(self.mutations), dtype=torch.long))
        self._parents: list[Snapshot] = []
        self._spare: list[Snapshot] = []

    # -- fitness --------------------------------------------------------------------------------

    def discriminator_loss_sum(self, L: torch.Tensor, ab: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """-log D(real) - log(1 - D(fake)), averaged over patches and summed over samples."""
        real = self.discriminator(L, ab)
        fake = self.discriminator(L, fake)
        per_sample = F.binary_cross_entropy_with_logits(real, torch.ones_like(real), reduction="none").flatten(1).mean(1)
        per_sample = per_sample + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake), reduction="none").flatten(1).mean(1)
        return per_sample.sum()

    def fitness(self, L: torch.Tensor, ab: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(F_q, F_d) of the current generator on (L, ab), in micro-batches, both networks in eval mode."""
        n = L.shape[0]
        d_params = [p for p in self.discriminator.parameters() if p.requires_grad]
        grads = [torch.zeros_like(p) for p in d_params]
        quality = torch.zeros((), device=L.device)
        g_mode, d_mode = self.generator.training, self.discriminator.training
        self.generator.eval()
        self.discriminator.eval()
        try:
            for start in range(0, n, self.hparams.micro_batch):
                l_mb, ab_mb = L[start : start + self.hparams.micro_batch], ab[start : start + self.hparams.micro_batch]
                with torch.no_grad():
                    fake = self.generator(l_mb)
                with torch.enable_grad():
                    loss = self.discriminator_loss_sum(l_mb, ab_mb, fake) / n
                    for acc, g in zip(grads, torch.autograd.grad(loss, d_params)):
                        acc += g
                with torch.no_grad():
                    quality += torch.sigmoid(self.discriminator(l_mb, fake)).flatten(1).mean(1).sum() / n
        finally:
            self.generator.train(g_mode)
            self.discriminator.train(d_mode)
        norm = torch.sqrt(sum(g.pow(2).sum() for g in grads))
        return quality, -torch.log(norm)

    # -- evolution ------------------------------------------------------------------------------

    def _snapshot(self) -> Snapshot:
        return (self._spare.pop() if self._spare else Snapshot()).capture(self.generator, self.optimizers()[0].optimizer)

    def _restore(self, snapshot: Snapshot) -> None:
        snapshot.restore(self.generator, self.optimizers()[0].optimizer)

    def mutate(self, L: torch.Tensor, ab: torch.Tensor, mutation: str) -> None:
        """One generator step under `mutation` + lambda * L1."""
        opt_g = self.optimizers()[0]
        self.toggle_optimizer(opt_g)
        fake = self.generator(L)
        loss = MUTATIONS[mutation](self.discriminator(L, fake)) + self.hparams.lambda_l1 * F.l1_loss(fake, ab)
        opt_g.zero_grad(set_to_none=True)
        self.manual_backward(loss)
        opt_g.step()
        self.untoggle_optimizer(opt_g)

    def _chosen_at_random(self, n_children: int) -> set[int]:
        generator = torch.Generator().manual_seed(int(self.global_step) * 7919 + 17)  # same choice on every rank
        return set(torch.randperm(n_children, generator=generator)[: self.hparams.mu].tolist())

    def evolve(self, L: torch.Tensor, ab: torch.Tensor) -> list[Child]:
        """Run every (parent, mutation) child, keep the best mu as the next parents; returns all children."""
        hp = self.hparams
        if len(self._parents) != hp.mu or hp.mu == 1:
            self._spare += self._parents
            self._parents = [self._snapshot() for _ in range(hp.mu)]
        n_eval = hp.eval_size or L.shape[0]
        children: list[Child] = []
        random_pick = self._chosen_at_random(len(self._parents) * len(self.mutations)) if hp.selection == "random" else None
        kept: list[tuple[float, int, Snapshot]] = []  # min-heap of (fitness, child index, snapshot)
        for p, parent in enumerate(self._parents):
            for mutation in self.mutations:
                self._restore(parent)
                self.mutate(L, ab, mutation)
                quality, diversity = self.fitness(L[:n_eval], ab[:n_eval])
                scores = self.trainer.strategy.reduce(torch.stack([quality, diversity]), reduce_op="mean")
                child = Child(p, mutation, float(scores[0]), float(scores[1]), float(scores[0] + hp.gamma * scores[1]))
                index = len(children)
                children.append(child)
                if random_pick is not None:
                    if index in random_pick:
                        kept.append((child.fitness, index, self._snapshot()))
                elif len(kept) < hp.mu:
                    heapq.heappush(kept, (child.fitness, index, self._snapshot()))
                elif child.fitness > kept[0][0]:
                    _, _, evicted = heapq.heapreplace(kept, (child.fitness, index, self._snapshot()))
                    self._spare.append(evicted)
        kept.sort(key=lambda item: (-item[0], item[1]))
        self._spare += self._parents
        self._parents = [snapshot for _, _, snapshot in kept]
        self._restore(self._parents[0])
        self.winner = kept[0][1]
        self.last_children = children
        return children

    # -- training -------------------------------------------------------------------------------

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        L, ab = batch
        children = self.evolve(L, ab)
        best = children[self.winner]
        self.wins[self.mutations.index(best.mutation)] += 1

        opt_d = self.optimizers()[1]
        self.toggle_optimizer(opt_d)
        with torch.no_grad():
            fake = self.generator(L)
        for _ in range(self.hparams.n_d):
            loss_d = self.discriminator_loss(L, ab, fake)
            opt_d.zero_grad(set_to_none=True)
            self.manual_backward(loss_d)
            opt_d.step()
        self.untoggle_optimizer(opt_d)

        logged = {"train/loss_d": loss_d, "egan/winner": float(self.mutations.index(best.mutation))}
        for mutation in self.mutations:
            mine = [c for c in children if c.mutation == mutation]
            logged |= {f"egan/{mutation}/{k}": sum(getattr(c, k) for c in mine) / len(mine) for k in ("quality", "diversity", "fitness")}
        shares = self.wins.float() / self.wins.sum().clamp(min=1)
        logged |= {f"egan/share/{m}": shares[i] for i, m in enumerate(self.mutations)}
        self.log_dict(logged)
        self.log("train/loss_l1", F.l1_loss(fake, ab), prog_bar=True)
