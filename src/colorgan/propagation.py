"""Colour from hints without learning: the baselines a hint-taking model has to beat, and its prior.

Each takes normalised L (B, 1, H, W) and a hint map (B, 3, H, W, see colorgan.hints) and returns
normalised ab (B, 2, H, W); every hinted pixel is a point (a hint patch weighs as its area).

- nearest: each pixel takes the colour of the nearest hinted pixel.
- idw: inverse-distance weighting of the hinted pixels' colours, weights 1 / (1 + d)^2.
- levin: Levin, Lischinski and Weiss 2004, "Colorization using Optimization": neighbouring pixels of
  similar lightness get similar colours (a sparse linear solve on the L image, hints fixed).
No hints: grey (ab = 0).

`push_pull` is the cheap one models may start from (model.hint_prior=push_pull): hints averaged down an
image pyramid and pulled back up, hinted pixels keeping their own colour; plain tensor ops at any size,
so it exports to ONNX with the generator.
"""

from __future__ import annotations

import numpy as np
import torch

METHODS = ("nearest", "idw", "levin")


def _points(hints: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Coordinates (n, 2) and ab (n, 2) of one image's hinted pixels."""
    where = hints[2].nonzero().float()
    return where, hints[:2, hints[2] > 0].T


def _distance_weighted(L: torch.Tensor, hints: torch.Tensor, nearest: bool, chunk: int = 16384) -> torch.Tensor:
    B, _, H, W = L.shape
    out = torch.zeros(B, 2, H, W, device=L.device)
    grid = torch.stack(torch.meshgrid(torch.arange(H, device=L.device), torch.arange(W, device=L.device), indexing="ij"), -1).view(-1, 2).float()
    for b in range(B):
        points, colours = _points(hints[b].float())
        if len(points) == 0:
            continue
        rows = []
        for part in grid.split(chunk):
            d = torch.cdist(part, points)
            if nearest:
                rows.append(colours[d.argmin(1)])
            else:
                w = (1 + d).pow(-2)
                rows.append(w @ colours / w.sum(1, keepdim=True))
        out[b] = torch.cat(rows).T.view(2, H, W)
    return out


def nearest(L: torch.Tensor, hints: torch.Tensor) -> torch.Tensor:
    """Each pixel coloured as its nearest hinted pixel."""
    return _distance_weighted(L, hints, nearest=True)


def idw(L: torch.Tensor, hints: torch.Tensor) -> torch.Tensor:
    """Inverse-distance weighting (1 / (1 + d)^2) of the hinted pixels' colours."""
    return _distance_weighted(L, hints, nearest=False)


def levin(L: torch.Tensor, hints: torch.Tensor, eps: float = 1e-4) -> torch.Tensor:
    """Levin et al. 2004: minimise sum_r (U(r) - sum_s w_rs U(s))^2 over 3x3 neighbourhoods, with
    w_rs proportional to exp(-(Y(r) - Y(s))^2 / (2 sigma_r^2)) and hinted pixels fixed."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.linalg import spsolve

    B, _, H, W = L.shape
    out = torch.zeros(B, 2, H, W)
    index = np.arange(H * W).reshape(H, W)
    offsets = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy, dx) != (0, 0)]
    for b in range(B):
        mask = hints[b, 2].cpu().numpy() > 0
        if not mask.any():
            continue
        Y = (L[b, 0].double().cpu().numpy() + 1) / 2
        padded = np.pad(Y, 1, mode="edge")
        neighbours = np.stack([padded[1 + dy : 1 + dy + H, 1 + dx : 1 + dx + W] for dy, dx in offsets])
        window = np.concatenate([neighbours, Y[None]])
        sigma2 = np.maximum(window.var(0) * 0.6, eps)  # the authors' code scales the window variance by 0.6
        weights = np.exp(-((neighbours - Y[None]) ** 2) / (2 * sigma2[None]))
        valid = np.stack(
            [
                (np.arange(H)[:, None] + dy >= 0) & (np.arange(H)[:, None] + dy < H) & (np.arange(W)[None] + dx >= 0) & (np.arange(W)[None] + dx < W)
                for dy, dx in offsets
            ]
        )
        weights = weights * valid
        weights /= np.maximum(weights.sum(0, keepdims=True), 1e-12)
        weights[:, mask] = 0  # hinted rows are identities
        rows = np.broadcast_to(index, (len(offsets), H, W))
        cols = np.stack([np.clip(index + dy * W + dx, 0, H * W - 1) for dy, dx in offsets])
        keep = weights > 0
        A = coo_matrix(
            (np.concatenate([np.ones(H * W), -weights[keep]]), (np.concatenate([index.ravel(), rows[keep]]), np.concatenate([index.ravel(), cols[keep]]))),
            shape=(H * W, H * W),
        ).tocsr()
        for c in range(2):
            target = np.where(mask, hints[b, c].double().cpu().numpy(), 0.0).ravel()
            out[b, c] = torch.from_numpy(spsolve(A, target).reshape(H, W)).float()
    return out.to(L.device)


def push_pull(hints: torch.Tensor, levels: int = 11) -> torch.Tensor:
    """Push-pull interpolation of a hint map (B, 3, H, W) -> ab (B, 2, H, W): each pixel without a hint takes
    the bilinear upsampling of the next coarser level's mean hint colour (Gortler et al. 1996)."""
    import torch.nn.functional as F

    mask = hints[:, 2:3].float()
    values = hints[:, :2].float() * mask
    pyramid = [(values, mask)]
    for _ in range(levels - 1):  # a fixed depth (1024 px reach a single pixel): traced graphs serve every size
        values, mask = F.avg_pool2d(values, 2, ceil_mode=True), F.avg_pool2d(mask, 2, ceil_mode=True)
        pyramid.append((values, mask))
    estimate = torch.zeros_like(pyramid[-1][0])
    for values, mask in reversed(pyramid):
        coarse = F.interpolate(estimate, size=values.shape[-2:], mode="bilinear", align_corners=False)
        estimate = torch.where(mask > 0, values / mask.clamp(min=1e-6), coarse)
    return estimate


def propagate(method: str, L: torch.Tensor, hints: torch.Tensor) -> torch.Tensor:
    """ab from hints by one of METHODS."""
    return {"nearest": nearest, "idw": idw, "levin": levin}[method](L, hints)
