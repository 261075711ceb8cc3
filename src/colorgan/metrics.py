"""Colourisation metrics on sRGB images in [0, 1]: PSNR, SSIM, CIEDE2000 and colourfulness."""

from __future__ import annotations

import math

import torch
from torchmetrics import Metric
from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

from colorgan.color import rgb_to_lab


def ciede2000(lab1: torch.Tensor, lab2: torch.Tensor) -> torch.Tensor:
    """CIEDE2000 colour difference (Sharma, Wu and Dalal 2005) between LAB tensors (..., 3, H, W) -> (..., H, W)."""
    L1, a1, b1 = lab1.double().unbind(-3)
    L2, a2, b2 = lab2.double().unbind(-3)
    c_mean = (torch.hypot(a1, b1) + torch.hypot(a2, b2)) / 2
    g = 0.5 * (1 - torch.sqrt(c_mean**7 / (c_mean**7 + 25.0**7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = torch.hypot(a1p, b1), torch.hypot(a2p, b2)
    h1p = torch.remainder(torch.atan2(b1, a1p), 2 * math.pi)
    h2p = torch.remainder(torch.atan2(b2, a2p), 2 * math.pi)
    chroma_zero = (c1p * c2p) == 0

    dh = h2p - h1p
    dh = torch.where(dh > math.pi, dh - 2 * math.pi, torch.where(dh < -math.pi, dh + 2 * math.pi, dh))
    dh = torch.where(chroma_zero, torch.zeros_like(dh), dh)
    d_big_h = 2 * torch.sqrt(c1p * c2p) * torch.sin(dh / 2)

    l_mean = (L1 + L2) / 2
    cp_mean = (c1p + c2p) / 2
    h_sum = h1p + h2p
    h_mean = torch.where(
        (h1p - h2p).abs() <= math.pi,
        h_sum / 2,
        torch.where(h_sum < 2 * math.pi, (h_sum + 2 * math.pi) / 2, (h_sum - 2 * math.pi) / 2),
    )
    h_mean = torch.where(chroma_zero, h_sum, h_mean)

    deg = math.pi / 180
    t = (
        1
        - 0.17 * torch.cos(h_mean - 30 * deg)
        + 0.24 * torch.cos(2 * h_mean)
        + 0.32 * torch.cos(3 * h_mean + 6 * deg)
        - 0.20 * torch.cos(4 * h_mean - 63 * deg)
    )
    d_theta = 30 * deg * torch.exp(-(((h_mean / deg - 275) / 25) ** 2))
    r_c = 2 * torch.sqrt(cp_mean**7 / (cp_mean**7 + 25.0**7))
    s_l = 1 + 0.015 * (l_mean - 50) ** 2 / torch.sqrt(20 + (l_mean - 50) ** 2)
    s_c = 1 + 0.045 * cp_mean
    s_h = 1 + 0.015 * cp_mean * t
    r_t = -torch.sin(2 * d_theta) * r_c

    dl, dc, dhh = (L2 - L1) / s_l, (c2p - c1p) / s_c, d_big_h / s_h
    return torch.sqrt(dl**2 + dc**2 + dhh**2 + r_t * dc * dhh).to(lab1.dtype)


def colourfulness(rgb: torch.Tensor, signed: bool = False) -> torch.Tensor:
    """Colourfulness of sRGB images (B, 3, H, W) in [0, 1] on the 0-255 scale -> (B,):
    CF = sqrt(std_rg^2 + std_yb^2) + 0.3 sqrt(mean_rg^2 + mean_yb^2) (Hasler and Suesstrunk 2003).

    By default the opponents are absolute, rg = |R - G|, yb = |(R + G)/2 - B|, as DDColor's metric code computes
    them: the CF (and |dCF|) that colourisation papers tabulate. signed=True gives the paper's signed opponents
    rg = R - G, yb = (R + G)/2 - B; the two differ for images whose pixels take both signs (red and green, say).
    """
    r, g, b = (rgb.float() * 255).flatten(2).unbind(1)
    rg, yb = r - g, (r + g) / 2 - b
    if not signed:
        rg, yb = rg.abs(), yb.abs()
    std = torch.sqrt(rg.var(dim=1, unbiased=False) + yb.var(dim=1, unbiased=False))
    mean = torch.sqrt(rg.mean(dim=1) ** 2 + yb.mean(dim=1) ** 2)
    return std + 0.3 * mean


class ColorMetrics(Metric):
    """Mean PSNR, SSIM, CIEDE2000 and colourfulness over a dataset: `cf` with DDColor's absolute opponents (what papers
    compare), `cf_signed` with Hasler and Suesstrunk's signed ones; |dCF| compares the set means of `cf`."""

    full_state_update = False
    higher_is_better = None

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        for name in ("psnr", "ssim", "de2000", "cf", "cf_true", "cf_signed", "count"):
            self.add_state(name, default=torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")

    def update(self, pred: torch.Tensor, target: torch.Tensor) -> None:
        pred, target = pred.float().clamp(0, 1), target.float().clamp(0, 1)
        self.psnr += peak_signal_noise_ratio(pred, target, data_range=1.0, reduction="none", dim=(1, 2, 3)).sum()
        self.ssim += structural_similarity_index_measure(pred, target, data_range=1.0, reduction="none").sum()
        self.de2000 += ciede2000(rgb_to_lab(pred), rgb_to_lab(target)).flatten(1).mean(1).sum()
        self.cf += colourfulness(pred).sum()
        self.cf_true += colourfulness(target).sum()
        self.cf_signed += colourfulness(pred, signed=True).sum()
        self.count += pred.shape[0]

    def compute(self) -> dict[str, torch.Tensor]:
        n = self.count.clamp(min=1)
        cf, cf_true = self.cf / n, self.cf_true / n
        means = {
            "psnr": self.psnr / n,
            "ssim": self.ssim / n,
            "de2000": self.de2000 / n,
            "cf": cf,
            "dcf": (cf - cf_true).abs(),
            "cf_signed": self.cf_signed / n,
        }
        return {k: v.float() for k, v in means.items()}
