"""GAN objectives on discriminator logits."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def gan_loss(logits: torch.Tensor, real: bool) -> torch.Tensor:
    """Binary cross-entropy of PatchGAN logits against all-real or all-fake targets."""
    target = torch.ones_like(logits) if real else torch.zeros_like(logits)
    return F.binary_cross_entropy_with_logits(logits, target)


def minimax_loss(logits: torch.Tensor) -> torch.Tensor:
    """E-GAN minimax mutation: 1/2 E[log(1 - D(G(z)))], with D the sigmoid of the logits."""
    return -0.5 * F.softplus(logits).mean()


def heuristic_loss(logits: torch.Tensor) -> torch.Tensor:
    """E-GAN heuristic (non-saturating) mutation: -1/2 E[log D(G(z))]."""
    return 0.5 * F.softplus(-logits).mean()


def least_squares_loss(logits: torch.Tensor) -> torch.Tensor:
    """E-GAN least-squares mutation: E[(D(G(z)) - 1)^2]."""
    return (torch.sigmoid(logits) - 1).pow(2).mean()


MUTATIONS = {"minimax": minimax_loss, "heuristic": heuristic_loss, "least_squares": least_squares_loss}
