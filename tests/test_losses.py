import pytest
import torch
from torchvision.models import vgg16_bn

from colorgan.errors import UserError
from colorgan.losses import FEATURE_LAYERS, PerceptualLoss, heuristic_loss, least_squares_loss, minimax_loss


def test_feature_layers_are_relu3_3_relu4_3_relu5_3():
    features = vgg16_bn().features
    convs = [i for i, m in enumerate(features) if isinstance(m, torch.nn.Conv2d)]
    # relu after the 7th, 10th and 13th conv (conv, bn, relu)
    assert sorted(FEATURE_LAYERS) == [convs[6] + 2, convs[9] + 2, convs[12] + 2]
    assert all(isinstance(features[i], torch.nn.ReLU) for i in FEATURE_LAYERS)


def test_perceptual_loss_from_a_local_weights_file(vgg_file):
    loss = PerceptualLoss(weights=str(vgg_file))
    saved = torch.load(vgg_file, weights_only=True)
    assert torch.equal(loss.features[0].weight, saved["features.0.weight"])
    x = torch.rand(2, 3, 32, 32)
    y = torch.rand(2, 3, 32, 32, requires_grad=True)
    assert float(loss(x, x)) == 0.0
    value = loss(y, x)
    value.backward()
    assert value > 0 and y.grad.abs().sum() > 0
    assert not any(p.requires_grad for p in loss.features.parameters())
    loss.train()
    assert not loss.features.training


def test_missing_weights_say_where_they_were_looked_for(tmp_path):
    with pytest.raises(UserError, match="no VGG16-BN weights at"):
        PerceptualLoss(weights=str(tmp_path / "vgg.pth"))


def test_mutation_losses_match_their_formulas():
    """E-GAN's mutations: minimax 1/2 E[log(1 - D)], heuristic -1/2 E[log D] (the paper's), with D = sigmoid(logits)."""
    logits = torch.tensor([-1.0, 0.5, 2.0])
    d = torch.sigmoid(logits)
    assert torch.allclose(minimax_loss(logits), 0.5 * torch.log(1 - d).mean())
    assert torch.allclose(heuristic_loss(logits), -0.5 * torch.log(d).mean())


def test_least_squares_mutation_is_the_reference_mse_of_logits_against_one():
    """The reference code's lsgan mutation is nn.MSELoss()(D(G(z)), 1) on the discriminator's raw output, which keeps
    pulling where D rejects a sample (a squared sigmoid would be flat there)."""
    logits = torch.tensor([-10.0, -2.0, 0.0, 3.0], requires_grad=True)
    loss = least_squares_loss(logits)
    assert torch.allclose(loss, torch.nn.functional.mse_loss(logits, torch.ones(4)))
    loss.backward()
    assert torch.allclose(logits.grad, 2 * (logits.detach() - 1) / 4)
    assert logits.grad[0] == pytest.approx(-5.5)
