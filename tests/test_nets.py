import pytest
import torch

from colorgan.errors import UserError
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


def untrained_taps(generator: UNetGenerator, size: int) -> dict[str, torch.Tensor]:
    """Per conv weight, the kernel taps that training at `size` cannot change: zero gradient for every channel pair on
    every one of a few batches (taps that only ever multiply zero padding), as a mask of the weight's shape."""
    generator.train()
    grads: dict[str, torch.Tensor] = {}
    for seed in range(3):
        generator.zero_grad()
        generator(torch.randn(16, 1, size, size, generator=torch.Generator().manual_seed(seed))).square().mean().backward()
        for name, p in generator.named_parameters():
            if p.dim() == 4:
                grads[name] = grads.get(name, 0) + p.grad.abs()
    taps = {name: (g.sum((0, 1)) == 0).expand_as(g) for name, g in grads.items()}
    return {name: mask for name, mask in taps.items() if mask.any()}


@pytest.mark.parametrize("global_levels", [0, 1, 3])
def test_output_at_four_times_the_training_size_uses_only_trained_weights(global_levels):
    """Issue #14.1: with the innermost level at 1x1, its 4x4 kernels only ever use their central 2x2 taps in training
    (the others multiply zero padding) and those weights keep their random init. The reference network (global_levels=0)
    uses them as soon as the input is larger; with the innermost levels on their training grid, nothing does."""
    torch.manual_seed(0)
    generator = UNetGenerator(image_size=32, ngf=8, global_levels=global_levels)
    never = untrained_taps(generator, 32)
    assert set(never) == {"down.4.1.weight", "up.4.1.weight"}  # the innermost conv and transposed conv: 12 of 16 taps
    assert all(mask.sum() == mask.numel() * 12 // 16 for mask in never.values())
    generator.eval()
    photo = torch.rand(1, 1, 128, 128) * 2 - 1
    with torch.no_grad():
        before = generator(photo)
        for name, p in generator.named_parameters():
            if name in never:
                p[never[name]] = 1.0
        after = generator(photo)
    changed = (after - before).abs().max().item()
    assert changed == 0.0 if global_levels else changed > 0.1


@pytest.mark.parametrize("global_levels", [1, 3, 5])
def test_global_levels_are_the_reference_network_at_the_training_size(global_levels):
    """Same weights, same output at the training size; any multiple of the training size works."""
    torch.manual_seed(0)
    reference = UNetGenerator(image_size=32, ngf=8, global_levels=0).eval()
    ours = UNetGenerator(image_size=32, ngf=8, global_levels=global_levels).eval()
    ours.load_state_dict(reference.state_dict())
    L = torch.rand(2, 1, 32, 32) * 2 - 1
    with torch.no_grad():
        assert torch.equal(ours(L), reference(L))
        assert ours(torch.rand(1, 1, 64, 96)).shape == (1, 2, 64, 96)
    assert ours.size_multiple == 32
    with pytest.raises(UserError, match="global_levels=6 is not between 0 and the U-Net's depth 5"):
        UNetGenerator(image_size=32, global_levels=6)


def periodic_peaks(ab: torch.Tensor, period: int, harmonics: int = 4) -> float:
    """How far ab (1, 2, H, W) repeats with `period` pixels: the mean, over the low harmonics of the period (up to
    `harmonics` cycles per period in each direction), of the spectrum's magnitude there divided by the median magnitude
    on a ring around it. About 1 for a picture with no such pattern; a repeating pattern makes isolated peaks."""
    a = ab[0].double() - ab[0].double().mean((1, 2), keepdim=True)
    h, w = a.shape[-2:]
    window = torch.outer(torch.hann_window(h, periodic=False, dtype=torch.double), torch.hann_window(w, periodic=False, dtype=torch.double))
    magnitude = torch.fft.fft2(a * window).abs().sum(0)
    ratios = []
    for my in range(harmonics + 1):
        for mx in range(-harmonics, harmonics + 1):
            if my == 0 and mx <= 0:
                continue
            ky, kx = my * h // period, (mx * w // period) % w
            around = magnitude[[(ky + d) % h for d in range(-3, 4)]][:, [(kx + d) % w for d in range(-3, 4)]]
            ring = torch.cat([around[0], around[-1], around[1:-1, 0], around[1:-1, -1]])
            ratios.append(magnitude[ky, kx] / ring.median())
    return float(torch.stack(ratios).mean())


@pytest.fixture(scope="module")
def tiny_samples_generator(tmp_path_factory) -> UNetGenerator:
    """The demo's model in miniature: pix2pix briefly trained on the bundled photos at 32 px."""
    from colorgan.checkpoint import load_model
    from colorgan.train import train
    from conftest import compose_config

    out = tmp_path_factory.mktemp("samples32")
    overrides = [
        "logger=none",
        "data.image_size=32",
        "debug=tiny",
        "data.batches_per_epoch=20",
        "trainer.limit_val_batches=1",
    ]
    return load_model(train(compose_config(out, *overrides))["last_checkpoint"]).generator


@pytest.mark.slow
def test_no_periodic_pattern_at_four_times_the_training_size(tiny_samples_generator):
    """Issue #14.1: a model applied at 4x its training size paints a pattern that repeats every 2 ** depth pixels (the
    reference network, global_levels=0, with the same weights); with the innermost levels on their training grid (the
    default) the spectrum of its ab has no such peaks."""
    import skimage.data

    from colorgan.color import rgb_to_model

    ours = tiny_samples_generator
    reference = UNetGenerator(image_size=32, ngf=8, global_levels=0).eval()
    reference.load_state_dict(ours.state_dict())
    peaks = {"ours": [], "reference": []}
    for name in ("coffee", "chelsea", "astronaut", "rocket"):
        rgb = torch.from_numpy(getattr(skimage.data, name)()).permute(2, 0, 1)[None].float() / 255
        L = rgb_to_model(torch.nn.functional.interpolate(rgb, size=(128, 128), mode="area"))[0]
        with torch.no_grad():
            for key, generator in (("ours", ours), ("reference", reference)):
                peaks[key].append(periodic_peaks(generator(L), period=32))
    mean = {key: sum(values) / len(values) for key, values in peaks.items()}
    assert mean["reference"] > 2.5 and mean["ours"] < 1.6, peaks  # measured: about 4.5 and 1.35
