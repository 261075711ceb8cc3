import pytest
import torch

from colorgan.nets import PatchDiscriminator, UNetGenerator


def count(module):
    return sum(p.numel() for p in module.parameters())


def test_pix2pix_reference_sizes():
    generator, discriminator = UNetGenerator(image_size=256), PatchDiscriminator()
    assert generator.depth == 8
    assert round(count(generator) / 1e6, 1) == 54.4
    assert round(count(discriminator) / 1e6, 2) == 2.77
    with torch.no_grad():
        discriminator.eval()
        logits = discriminator(torch.zeros(1, 1, 256, 256), torch.zeros(1, 2, 256, 256))
    assert logits.shape == (1, 1, 30, 30)


@pytest.mark.parametrize("size", [32, 64])
@pytest.mark.parametrize("norm", ["batch", "instance", "none"])
def test_unet_depth_follows_image_size(size, norm):
    generator = UNetGenerator(image_size=size, ngf=8, norm=norm)
    out = generator(torch.randn(2, 1, size, size))
    assert generator.depth == size.bit_length() - 1
    assert out.shape == (2, 2, size, size) and out.abs().max() <= 1


def test_unknown_norm_is_rejected():
    with pytest.raises(ValueError, match="unknown norm"):
        UNetGenerator(image_size=32, norm="group")


@pytest.mark.parametrize(("size", "blocks"), [(256, [4, 5, 6]), (128, [4, 5]), (64, [4]), (32, [])])
def test_dropout_where_the_reference_puts_it(size, blocks):
    """pix2pix's reference: dropout in the num_downs - 5 ngf*8 blocks outside the innermost one, never near the output."""
    generator = UNetGenerator(image_size=size, ngf=8)
    with_dropout = [i for i, block in enumerate(generator.up) if any(isinstance(m, torch.nn.Dropout) for m in block)]
    assert with_dropout == blocks
