"""Small building blocks shared by the networks."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize

NORMS = {"batch": nn.BatchNorm2d, "instance": nn.InstanceNorm2d, "syncbatch": nn.SyncBatchNorm, "none": None}


def norm_layer(kind: str, channels: int) -> nn.Module:
    """A 2-d normalisation layer by name: batch, instance (affine), syncbatch (needs DDP) or none."""
    if kind not in NORMS:
        raise ValueError(f"unknown norm {kind!r}: choose one of {', '.join(NORMS)}")
    if kind == "none":
        return nn.Identity()
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    return NORMS[kind](channels)


def init_gan_weights(module: nn.Module, std: float = 0.02) -> None:
    """pix2pix / DCGAN initialisation: convs N(0, std), norm scales N(1, std), biases 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.SyncBatchNorm, nn.InstanceNorm2d)) and m.weight is not None:
            nn.init.normal_(m.weight, 1.0, std)
            nn.init.zeros_(m.bias)


def grid_means(x: torch.Tensor, n: int) -> torch.Tensor:
    """(B, C, H, W) with H and W multiples of n -> (B, C, n, n): the means of an n x n grid of equal cells (the
    identity on an n x n map). A reshape, so that an exported ONNX graph pools correctly at every input size."""
    b, c, h, w = x.shape
    return x.reshape(b, c, n, h // n, n, w // n).mean((3, 5))


def resize_like(x: torch.Tensor, reference: torch.Tensor, mode: str = "nearest") -> torch.Tensor:
    """x resized to reference's height and width where they differ; always while exporting to ONNX, where sizes are
    symbolic and the exported graph must serve every input size."""
    if torch.onnx.is_in_onnx_export() or x.shape[-2:] != reference.shape[-2:]:
        return F.interpolate(x, size=reference.shape[-2:], mode=mode, **({"align_corners": False} if mode == "bilinear" else {}))
    return x


def fold_spectral_norm(module: nn.Module) -> nn.Module:
    """Replace spectral-normalised weights by their current normalised values (hook or parametrization style)."""
    for m in module.modules():
        if parametrize.is_parametrized(m, "weight"):
            parametrize.remove_parametrizations(m, "weight", leave_parametrized=True)
        elif hasattr(m, "weight_orig"):
            nn.utils.remove_spectral_norm(m)
    return module


def zero_last_layer(module: nn.Module) -> None:
    """Zero the weights and bias of a network's last convolution (its output starts at zero through tanh)."""
    last = [m for m in module.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))][-1]
    with torch.no_grad():
        last.weight.zero_()  # spectral-norm parametrised convs expose their weight the same way
        if last.bias is not None:
            last.bias.zero_()


def widen_first_conv(module: nn.Module, extra: int) -> None:
    """Give a network's first conv `extra` more input channels whose weights start at zero (so it computes what it did)."""
    conv = next(m for m in module.modules() if isinstance(m, nn.Conv2d))
    with torch.no_grad():
        weight = torch.cat([conv.weight, conv.weight.new_zeros(conv.weight.shape[0], extra, *conv.weight.shape[2:])], dim=1)
    conv.weight = nn.Parameter(weight)
    conv.in_channels += extra
