"""DeOldify-style networks: a U-Net decoder on any timm `features_only` encoder, and its critic.

Decoder blocks upsample with an ICNR-initialised 1x1 conv + pixel shuffle + blur, concatenate the
batch-normalised skip, and apply spectral-norm conv layers (conv, ReLU, BN). One SAGAN
self-attention layer follows the stride-8 block. When a skip's size differs from the upsampled
map (inputs that are multiples of 16 but not of 32), the map is interpolated to the skip's size.
"""

from __future__ import annotations

from pathlib import Path

import timm
import torch
import torch.nn.functional as F
from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm
from torch.utils.checkpoint import checkpoint

from colorgan.color import model_to_rgb
from colorgan.nets.layers import resize_like, widen_first_conv


def sn_conv(c_in: int, c_out: int, kernel: int = 3, stride: int = 1, padding: int | None = None, bias: bool = True) -> nn.Module:
    """A spectral-normalised conv with 'same' padding by default."""
    conv = nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2 if padding is None else padding, bias=bias)
    nn.init.kaiming_normal_(conv.weight)
    return spectral_norm(conv)


def conv_layer(c_in: int, c_out: int, kernel: int = 3) -> nn.Sequential:
    """DeOldify's layer order: spectral-norm conv, ReLU, BatchNorm."""
    return nn.Sequential(sn_conv(c_in, c_out, kernel, bias=False), nn.ReLU(inplace=True), nn.BatchNorm2d(c_out))


def icnr_(weight: torch.Tensor, scale: int = 2) -> None:
    """ICNR init (Aitken et al. 2017): every pixel-shuffle sub-kernel starts equal, so no checkerboard."""
    out_c, in_c, kh, kw = weight.shape
    sub = torch.empty(out_c // scale**2, in_c, kh, kw)
    nn.init.kaiming_normal_(sub)
    with torch.no_grad():
        weight.copy_(sub.repeat_interleave(scale**2, dim=0))


class ReplicationBlur(nn.Module):
    """DeOldify's blur, ReplicationPad2d((1, 0, 1, 0)) then AvgPool2d(2, stride=1): each pixel averaged with its upper,
    left and upper-left neighbours, the first row and column repeated at the border.

    The padding is done by concatenating the first row and column, the same values and gradients as replication
    padding: torch.compile's backward of aten.replication_pad2d fails on CPU when its gradient is channels-last
    (a stride assertion; see experiments/compile/repro_replication_pad.py), concatenation compiles everywhere.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.cat([x[:, :, :1], x], dim=2)
        x = torch.cat([x[:, :, :, :1], x], dim=3)
        return F.avg_pool2d(x, 2, stride=1)


class PixelShuffleUp(nn.Module):
    """x2 upsampling: ICNR 1x1 conv to 4x channels, pixel shuffle, ReLU, blur (replication pad + 2x2 average)."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        conv = nn.Conv2d(c_in, c_out * 4, 1)
        icnr_(conv.weight)
        nn.init.zeros_(conv.bias)
        self.conv = spectral_norm(conv)
        self.shuffle = nn.PixelShuffle(2)
        self.blur = ReplicationBlur()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.blur(F.relu(self.shuffle(self.conv(x))))


class SelfAttention(nn.Module):
    """SAGAN self-attention (Zhang et al. 2019); its output weight gamma starts at 0."""

    def __init__(self, channels: int):
        super().__init__()
        self.query = sn_conv(channels, max(1, channels // 8), 1, bias=False)
        self.key = sn_conv(channels, max(1, channels // 8), 1, bias=False)
        self.value = sn_conv(channels, channels, 1, bias=False)
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        q, k, v = self.query(x).flatten(2), self.key(x).flatten(2), self.value(x).flatten(2)
        out = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), scale=1.0)
        return x + self.gamma * out.transpose(1, 2).reshape(b, c, h, w)


class DecoderBlock(nn.Module):
    """Upsample, join the normalised skip, then one ('wide') or two ('deep') conv layers."""

    def __init__(self, c_up: int, c_skip: int, c_out: int, deep: bool = True, attention: bool = False):
        super().__init__()
        self.up = PixelShuffleUp(c_up, c_up // 2)
        self.skip_norm = nn.BatchNorm2d(c_skip)
        layers = [conv_layer(c_up // 2 + c_skip, c_out)] + ([conv_layer(c_out, c_out)] if deep else [])
        self.convs = nn.Sequential(*layers, *([SelfAttention(c_out)] if attention else []))

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        up = resize_like(self.up(x), skip)
        return self.convs(F.relu(torch.cat([up, self.skip_norm(skip)], dim=1)))


def make_encoder(name: str, pretrained: bool = False, pretrained_file: str | None = None, extra_channels: int = 0) -> nn.Module:
    """A timm `features_only` encoder for RGB input as ImageNet-trained (its stem untouched), plus `extra_channels`
    input channels whose stem weights start at zero; pretrained weights come through timm (fetched from the Hugging Face
    hub into its cache unless offline: colorgan.weights), or from a local file."""
    from contextlib import nullcontext

    from colorgan.errors import UserError
    from colorgan.weights import timm_weights

    if pretrained_file and not Path(pretrained_file).is_file():
        raise UserError(
            f"no pretrained weights for {name} at {pretrained_file}: give an existing .pth/.safetensors file (model.pretrained_file=PATH), or model.pretrained=false"
        )
    overlay = {"file": str(pretrained_file)} if pretrained_file else None
    fetching = timm_weights(name) if pretrained and not pretrained_file else nullcontext()
    try:
        with fetching:
            encoder = timm.create_model(name, features_only=True, pretrained=pretrained or bool(pretrained_file), pretrained_cfg_overlay=overlay)
    except RuntimeError as exc:
        if "Unknown model" in str(exc):
            raise UserError(f"timm has no model {name!r}: see timm.list_models()") from exc
        raise
    except OSError as exc:  # the local file is unreadable
        raise UserError(f"no pretrained weights for {name} in {pretrained_file}: set model.pretrained_file=PATH, or model.pretrained=false") from exc
    if extra_channels:
        widen_first_conv(encoder, extra_channels)
    return encoder


PRESETS = {
    "deoldify_small": {"encoder": "efficientnet_b0", "blocks": "wide", "width": 1.0, "middle_factor": 2},  # 8,018,259 parameters
    "deoldify_seed": {"encoder": "efficientnet_b7", "blocks": "deep", "width": 8.0, "middle_factor": 16},  # 289,862,059 parameters
}


def deoldify_generator(preset: str = "deoldify_small", **overrides) -> DeOldifyGenerator:
    """A generator from a named preset; keyword arguments override the preset's."""
    return DeOldifyGenerator(**{**PRESETS[preset], **overrides})


class DeOldifyGenerator(nn.Module):
    """L (B, 1, H, W) -> ab (B, 2, H, W) through a timm encoder and a DeOldify decoder; H, W multiples of 16.

    The encoder sees what it was trained on: the grey photo (the sRGB grey of L) as (g, g, g), normalised with
    ImageNet's per-channel mean and std, as DeOldify feeds it. With `in_channels` > 1 (L first, then e.g. a hint
    map), the extra channels enter the encoder's first conv with weights that start at zero, so a pretrained
    encoder starts out computing exactly what it computes for L alone; the tail joins L alone.

    width scales the decoder's channels (DeOldify's nf_factor); middle_factor widens the bottleneck
    conv pair (the 'stable' model's 151 M-parameter middle); blocks='deep' uses two conv layers per
    decoder block, 'wide' one. `pretrained` loads encoder weights through timm (hub cache, or
    `pretrained_file` for a local .pth/.safetensors).
    """

    size_multiple = 16

    def __init__(
        self,
        in_channels: int = 1,
        encoder: str = "efficientnet_b0",
        pretrained: bool = False,
        pretrained_file: str | None = None,
        width: float = 1.0,
        middle_factor: int = 2,
        blocks: str = "deep",
        self_attention: bool = True,
        out_channels: int = 2,
        gradient_checkpointing: bool = False,
    ):
        super().__init__()
        if blocks not in ("deep", "wide"):
            raise ValueError(f"blocks must be 'deep' or 'wide', not {blocks!r}")
        self.encoder = make_encoder(encoder, pretrained, pretrained_file, extra_channels=in_channels - 1)
        self.register_buffer("rgb_mean", torch.tensor(IMAGENET_DEFAULT_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("rgb_std", torch.tensor(IMAGENET_DEFAULT_STD).view(1, 3, 1, 1), persistent=False)
        channels, reductions = self.encoder.feature_info.channels(), self.encoder.feature_info.reduction()
        c = channels[-1]
        self.middle = nn.Sequential(conv_layer(c, c * middle_factor), conv_layer(c * middle_factor, c))
        self.decoder = nn.ModuleList()
        for level in reversed(range(len(channels) - 1)):  # deepest skip first
            c_out = 2 * round(width * channels[level + 1] / 4)  # half the encoder's channels one level deeper, x width
            attention = self_attention and reductions[level] == 8
            self.decoder.append(DecoderBlock(c, channels[level], c_out, deep=blocks == "deep", attention=attention))
            c = c_out
        self.final_up = PixelShuffleUp(c, c // 2)
        c_tail = c // 2 + 1
        self.tail = nn.Sequential(conv_layer(c_tail, c_tail), conv_layer(c_tail, c_tail))
        self.head = nn.Conv2d(c_tail, out_channels, 1)
        self.gradient_checkpointing = gradient_checkpointing
        if gradient_checkpointing and hasattr(self.encoder, "set_grad_checkpointing"):
            self.encoder.set_grad_checkpointing(True)

    def _run(self, module: nn.Module, *args: torch.Tensor) -> torch.Tensor:
        if self.gradient_checkpointing and self.training:
            return checkpoint(module, *args, use_reentrant=False)
        return module(*args)

    def encoder_input(self, x: torch.Tensor) -> torch.Tensor:
        """The encoder's input for a generator input: the grey photo of L as ImageNet-normalised RGB, then the extra channels."""
        L = x[:, :1]
        grey = model_to_rgb(L, L.new_zeros(L.shape[0], 2, *L.shape[2:])).mean(1, keepdim=True)  # R = G = B for a = b = 0
        return torch.cat([((grey - self.rgb_mean) / self.rgb_std).to(x.dtype), x[:, 1:]], dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        L = x[:, :1]
        features = self.encoder(self.encoder_input(x))
        x = self._run(self.middle, features[-1])
        for block, skip in zip(self.decoder, reversed(features[:-1])):
            x = self._run(block, x, skip)
        x = torch.cat([resize_like(self.final_up(x), L), L], dim=1)
        x = x + self._run(self.tail, x)  # residual tail on the joined input
        return torch.tanh(self.head(x))


class DeOldifyCritic(nn.Module):
    """Spectral-norm patch critic with LeakyReLU, dropout and one self-attention layer: (L, ab) -> logits
    at 1/2^(n_blocks+1) of the input size."""

    def __init__(self, in_channels: int = 3, nf: int = 64, n_blocks: int = 3, dropout: float = 0.15, self_attention: bool = True):
        super().__init__()
        layers: list[nn.Module] = [sn_conv(in_channels, nf, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True), nn.Dropout2d(dropout / 2)]
        for i in range(n_blocks):
            layers += [sn_conv(nf, nf, 3, 1), nn.LeakyReLU(0.2, inplace=True), nn.Dropout2d(dropout)]
            layers += [sn_conv(nf, nf * 2, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True)]
            nf *= 2
            if i == 0 and self_attention:
                layers.append(SelfAttention(nf))
        layers.append(sn_conv(nf, 1, 3, bias=False))  # one logit per 16x16 patch, at any input size from 16 up
        self.net = nn.Sequential(*layers)

    def forward(self, L: torch.Tensor, ab: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([L, ab], dim=1))
