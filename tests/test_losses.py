import pytest
import torch
from torchvision.models import vgg16_bn

from colorgan.errors import UserError
from colorgan.losses import FEATURE_LAYERS, PerceptualLoss


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
