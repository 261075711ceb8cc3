"""The pix2pix U-Net generator (Isola et al. 2017), L -> ab, its depth following the image size."""

from __future__ import annotations

import math

import torch
from torch import nn

from colorgan.errors import UserError
from colorgan.nets.layers import init_gan_weights, norm_layer


class UNetGenerator(nn.Module):
    """U-Net of stride-2 4x4 convs down to 1x1 and transposed convs back, with skip connections.

    `unet_256` is `UNetGenerator(image_size=256)`: 8 levels, channels 64-128-256-512x5, BatchNorm
    except on the first and innermost convs, tanh out. Dropout sits where the reference puts it: in the
    `depth - 5` decoder blocks between the innermost one and the four outer ones (3 at 256 px, 1 at 64, none at 32).
    Inputs must have sides divisible by `2 ** depth`.
    """

    def __init__(
        self,
        in_channels: int = 1,
        out_channels: int = 2,
        image_size: int = 256,
        ngf: int = 64,
        max_mult: int = 8,
        norm: str = "batch",
        dropout: float = 0.5,
        depth: int | None = None,
    ):
        super().__init__()
        if type(image_size) is not int or image_size < 4:
            raise UserError(f"image_size={image_size} is not a U-Net size: use a power of two such as 64 or 256")
        self.depth = depth or int(math.log2(image_size))
        self.size_multiple = 2**self.depth  # input sides must be multiples of this
        if self.depth < 2:
            raise UserError(f"model.generator.depth={self.depth} is too small for a U-Net: use 2 or more, or leave it null")
        if image_size % self.size_multiple:
            raise UserError(f"image_size={image_size} is not a multiple of {self.size_multiple}, the U-Net's size step: use a power of two such as 64 or 256")
        chans = [ngf * min(2**i, max_mult) for i in range(self.depth)]
        bias = norm != "batch" and norm != "syncbatch"
        innermost = self.depth - 1

        self.down = nn.ModuleList()
        for i, ch in enumerate(chans):
            layers: list[nn.Module] = [] if i == 0 else [nn.LeakyReLU(0.2, inplace=True)]
            layers.append(nn.Conv2d(in_channels if i == 0 else chans[i - 1], ch, 4, 2, 1, bias=bias))
            if 0 < i < innermost:
                layers.append(norm_layer(norm, ch))
            self.down.append(nn.Sequential(*layers))

        self.up = nn.ModuleList()
        for i, ch in enumerate(chans):
            c_in = ch if i == innermost else 2 * ch
            c_out = out_channels if i == 0 else chans[i - 1]
            layers = [nn.ReLU(inplace=True), nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=bias or i == 0)]
            if i == 0:
                layers.append(nn.Tanh())
            else:
                layers.append(norm_layer(norm, c_out))
                if dropout and 4 <= i < innermost:  # the reference's num_downs - 5 ngf*8 blocks around the innermost one
                    layers.append(nn.Dropout(dropout))
            self.up.append(nn.Sequential(*layers))
        init_gan_weights(self)

    def forward(self, L: torch.Tensor) -> torch.Tensor:
        skips = []
        x = L
        for block in self.down:
            x = block(x)
            skips.append(x)
        y = self.up[-1](skips[-1])
        for i in range(self.depth - 2, -1, -1):
            y = self.up[i](torch.cat([y, skips[i]], dim=1))
        return y
