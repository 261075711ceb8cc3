"""GAN objectives on discriminator logits."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def gan_loss(logits: torch.Tensor, real: bool) -> torch.Tensor:
    """Binary cross-entropy of PatchGAN logits against all-real or all-fake targets."""
    target = torch.ones_like(logits) if real else torch.zeros_like(logits)
    return F.binary_cross_entropy_with_logits(logits, target)


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Half the BCE of real samples as real plus generated samples as fake."""
    return 0.5 * (gan_loss(real_logits, True) + gan_loss(fake_logits, False))


def minimax_loss(logits: torch.Tensor) -> torch.Tensor:
    """E-GAN minimax mutation: 1/2 E[log(1 - D(G(z)))], with D the sigmoid of the logits."""
    return -0.5 * F.softplus(logits).mean()


def heuristic_loss(logits: torch.Tensor) -> torch.Tensor:
    """E-GAN heuristic (non-saturating) mutation: -1/2 E[log D(G(z))]."""
    return 0.5 * F.softplus(-logits).mean()


def least_squares_loss(logits: torch.Tensor) -> torch.Tensor:
    """E-GAN least-squares mutation E[(D(G(z)) - 1)^2] as the reference code computes it: the mean squared error of
    the discriminator's raw output (here its logits) against 1. On the sigmoid it would be flat where D rejects."""
    return (logits - 1).pow(2).mean()


MUTATIONS = {"minimax": minimax_loss, "heuristic": heuristic_loss, "least_squares": least_squares_loss}


# vgg16_bn.features indices of relu3_3, relu4_3, relu5_3 and DeOldify's weights for them
FEATURE_LAYERS = {22: 20.0, 32: 70.0, 42: 10.0}


def vgg16_bn_state_dict(weights: str | None = None) -> dict:
    """VGG16-BN ImageNet weights from a local file, else torchvision's file in the torch hub cache (fetched on first use)."""
    from torchvision.models import VGG16_BN_Weights

    from colorgan.weights import hub_file

    path = hub_file(VGG16_BN_Weights.IMAGENET1K_V1.url, weights, "VGG16-BN weights", "model.perceptual_weights", check_hash=True)
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    return torch.load(path, map_location="cpu", weights_only=True)


class PerceptualLoss(torch.nn.Module):
    """DeOldify's feature loss on RGB in [0, 1]: L1(pixels) + 20 L1(relu3_3) + 70 L1(relu4_3) + 10 L1(relu5_3) of VGG16-BN."""

    def __init__(self, weights: str | None = None, pixel_weight: float = 1.0):
        super().__init__()
        from torchvision.models import vgg16_bn

        features = vgg16_bn().features[: max(FEATURE_LAYERS) + 1]
        state = vgg16_bn_state_dict(weights)  # the classifier's weights, if present, are not needed
        features.load_state_dict({k.removeprefix("features."): v for k, v in state.items() if k.startswith("features.")})
        self.features = features.eval().requires_grad_(False)
        self.pixel_weight = pixel_weight
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))

    def train(self, mode: bool = True) -> PerceptualLoss:
        super().train(mode)
        self.features.eval()  # BatchNorm statistics stay ImageNet's
        return self

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        loss = self.pixel_weight * F.l1_loss(pred, target)
        x, y = (pred - self.mean) / self.std, (target - self.mean) / self.std
        for index, layer in enumerate(self.features):
            x, y = layer(x), layer(y)
            if index in FEATURE_LAYERS:
                loss = loss + FEATURE_LAYERS[index] * F.l1_loss(x, y.detach())
        return loss
