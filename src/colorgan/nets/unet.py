"""The pix2pix U-Net generator (Isola et al. 2017), L -> ab, its depth following the image size."""

from __future__ import annotations

import math

import torch
from torch import nn

from colorgan.errors import UserError
from colorgan.nets.layers import grid_means, init_gan_weights, norm_layer, resize_like


def unet_depth(image_size: int, depth: int | None, global_levels: int) -> int:
    """The U-Net's number of levels (log2 of image_size unless given), checked against the size and global levels."""
    if type(image_size) is not int or image_size < 4:
        raise UserError(f"image_size={image_size} is not a U-Net size: use a power of two such as 64 or 256")
    depth = depth or int(math.log2(image_size))
    if depth < 2:
        raise UserError(f"model.generator.depth={depth} is too small for a U-Net: use 2 or more, or leave it null")
    if image_size % 2**depth:
        raise UserError(f"image_size={image_size} is not a multiple of {2**depth}, the U-Net's size step: use a power of two such as 64 or 256")
    if not 0 <= global_levels <= depth:
        raise UserError(f"model.generator.global_levels={global_levels} is not between 0 and the U-Net's depth {depth}")
    return depth


class UNetGenerator(nn.Module):
    """U-Net of stride-2 4x4 convs down to 1x1 and transposed convs back, with skip connections.

    `unet_256` is `UNetGenerator(image_size=256)`: 8 levels, channels 64-128-256-512x5, BatchNorm
    except on the first and innermost convs, tanh out. Dropout sits where the reference puts it: in the
    `depth - 5` decoder blocks between the innermost one and the four outer ones (3 at 256 px, 1 at 64, none at 32).
    Input sides must be multiples of `size_multiple`: the training size (`2 ** depth` with the default depth).

    `global_levels` (default 3) makes the network see the whole image the same way at any input size: the innermost
    `global_levels` levels run on the grid they had at the training size, their input average-pooled to it and their
    output resized (bilinear) back, while the outer levels run at the input's own resolution. At the training size
    pooling and resizing are the identity: this *is* the reference network there, with the same weights. With
    `global_levels=0` (the reference at every size) a larger input gives the innermost levels a larger grid: their
    cells see part of the image only, through kernel taps that multiplied zero padding in every training step (the
    innermost 4x4 kernels use 4 of their 16 taps on a 2x2 map; the other 12 keep their random init), and the colours
    drift and blotch at render sizes above the training size (issue #14.1; experiments/render_factor).
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
        global_levels: int = 3,
    ):
        super().__init__()
        self.depth = unet_depth(image_size, depth, global_levels)
        self.size_multiple = 2**self.depth  # input sides must be multiples of this
        self.first_global = self.depth - global_levels if global_levels else None  # index of the first level on the fixed grid
        self.grid = image_size >> (self.depth - global_levels)  # that level's input side at the training size
        if global_levels:
            self.size_multiple = image_size  # the pooled levels' inputs must divide evenly into the grid
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

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips, full = [], x
        for i, block in enumerate(self.down):
            if i == self.first_global:
                full, x = x, grid_means(x, self.grid)
            x = block(x)
            skips.append(x)
        y = skips[-1]
        for i in range(self.depth - 1, -1, -1):
            y = self.up[i](y if i == self.depth - 1 else torch.cat([y, skips[i]], dim=1))
            if i == self.first_global:
                y = resize_like(y, full, mode="bilinear")
        return y
