"""The conditional PatchGAN discriminator of pix2pix: (L, ab) -> a grid of real/fake logits."""

from __future__ import annotations

import torch
from torch import nn

from colorgan.nets.layers import init_gan_weights, norm_layer


class PatchDiscriminator(nn.Module):
    """n_layers=3, ndf=64 gives 64(s2)-128(s2)-256(s2)-512(s1)-1(s1): 70x70 patches, 30x30 logits at 256."""

    def __init__(self, in_channels: int = 3, ndf: int = 64, n_layers: int = 3, norm: str = "batch"):
        super().__init__()
        bias = norm not in ("batch", "syncbatch")
        layers: list[nn.Module] = [nn.Conv2d(in_channels, ndf, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True)]
        ch = ndf
        for n in range(1, n_layers + 1):
            out = ndf * min(2**n, 8)
            stride = 2 if n < n_layers else 1
            layers += [nn.Conv2d(ch, out, 4, stride, 1, bias=bias), norm_layer(norm, out), nn.LeakyReLU(0.2, inplace=True)]
            ch = out
        layers.append(nn.Conv2d(ch, 1, 4, 1, 1))
        self.net = nn.Sequential(*layers)
        init_gan_weights(self)

    def forward(self, L: torch.Tensor, ab: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([L, ab], dim=1))
