import pytest
import timm
import torch
from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD

from colorgan.color import model_to_rgb
from colorgan.errors import UserError
from colorgan.nets.deoldify import DeOldifyCritic, ReplicationBlur, deoldify_generator, icnr_


def count(module):
    return sum(p.numel() for p in module.parameters())


@pytest.fixture(scope="module")
def small():
    return deoldify_generator("deoldify_small").eval()


@pytest.mark.parametrize("shape", [(336, 336), (560, 560), (80, 112), (336, 560), (64, 64)])
def test_any_multiple_of_16_works(small, shape):
    with torch.no_grad():
        ab = small(torch.rand(1, 1, *shape) * 2 - 1)
    assert ab.shape == (1, 2, *shape) and ab.abs().max() <= 1


@pytest.mark.slow
def test_preset_parameter_counts(small):
    assert count(small) == 8_018_259  # the encoder keeps its RGB stem (ImageNet input), 576 more than a summed 1-channel stem
    seed = deoldify_generator("deoldify_seed")
    assert count(seed) == 289_862_059


def test_training_step_with_gradient_checkpointing():
    torch.manual_seed(0)
    plain = deoldify_generator("deoldify_small")
    checkpointed = deoldify_generator("deoldify_small", gradient_checkpointing=True)
    checkpointed.load_state_dict(plain.state_dict())
    L = torch.rand(2, 1, 48, 48) * 2 - 1
    grads = []
    for net in (plain, checkpointed):
        net.train()
        net(L).square().mean().backward()
        grads.append(torch.cat([p.grad.flatten() for p in net.decoder.parameters() if p.grad is not None]))
    # the recomputation runs spectral norm's power iteration once more: equal up to that (gradients here are up to ~1e-2)
    assert torch.allclose(grads[0], grads[1], atol=1e-4)


def test_pretrained_encoder_loads_from_a_local_file(tmp_path):
    reference = timm.create_model("efficientnet_b0", pretrained=False)
    path = tmp_path / "efficientnet_b0.pth"
    torch.save(reference.state_dict(), path)
    net = deoldify_generator("deoldify_small", pretrained_file=str(path))
    assert torch.equal(net.encoder.conv_stem.weight, reference.conv_stem.weight)  # the RGB stem as trained
    assert torch.equal(net.encoder.blocks[2][0].conv_pw.weight, reference.blocks[2][0].conv_pw.weight)


def test_encoder_sees_the_grey_photo_normalised_as_imagenet(tmp_path):
    """The encoder's features equal those of the 3-channel ImageNet encoder fed the grey photo (g, g, g), each channel
    normalised with ImageNet's mean and std, as DeOldify feeds it (not L/50 - 1 through a summed 1-channel stem)."""
    torch.manual_seed(0)
    path = tmp_path / "efficientnet_b0.pth"
    torch.save(timm.create_model("efficientnet_b0").state_dict(), path)
    reference = timm.create_model("efficientnet_b0", features_only=True, pretrained=True, pretrained_cfg_overlay={"file": str(path)}).eval()
    net = deoldify_generator("deoldify_small", pretrained_file=str(path)).eval()
    L = torch.rand(2, 1, 64, 48) * 2 - 1
    g = model_to_rgb(L, torch.zeros(2, 2, 64, 48)).mean(1, keepdim=True)  # the sRGB grey of lightness L
    rgb = (g.expand(-1, 3, -1, -1) - torch.tensor(IMAGENET_DEFAULT_MEAN).view(1, 3, 1, 1)) / torch.tensor(IMAGENET_DEFAULT_STD).view(1, 3, 1, 1)
    with torch.no_grad():
        ours, theirs = net.encoder(net.encoder_input(L)), reference(rgb)
    assert len(ours) == len(theirs) and all(torch.allclose(a, b, atol=1e-5) for a, b in zip(ours, theirs))


def test_extra_input_channels_start_at_zero_and_keep_the_one_channel_output():
    """A 4-channel generator (L + hint map) with the 1-channel one's weights gives its output whatever the extra channels hold."""
    torch.manual_seed(0)
    one, four = deoldify_generator("deoldify_small").eval(), deoldify_generator("deoldify_small", in_channels=4).eval()
    stem = four.encoder.conv_stem.weight
    assert stem.shape[1] == 6 and not stem[:, 3:].any()  # RGB + 3 extra channels, the extra ones zero
    state = one.state_dict()
    state["encoder.conv_stem.weight"] = torch.cat([state["encoder.conv_stem.weight"], torch.zeros_like(stem[:, 3:])], dim=1)
    four.load_state_dict(state)
    L = torch.rand(2, 1, 32, 48) * 2 - 1
    with torch.no_grad():
        assert torch.equal(four(torch.cat([L, torch.randn(2, 3, 32, 48)], dim=1)), one(L))


def test_seed_critic_is_deoldifys(tmp_path):
    """experiment=deoldify_nogan's critic has DeOldify's width, nf=256 (custom_gan_critic)."""
    from hydra.utils import instantiate

    from conftest import compose_config

    critic = instantiate(compose_config(tmp_path, "experiment=deoldify_nogan", "data.root=/nonexistent").model.critic)
    assert critic.net[0].weight.shape[0] == 256 and count(critic) == 56_790_529
    assert count(DeOldifyCritic()) == 3_556_225  # nf=64, the CPU-scale model's


def test_missing_weights_file_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="pretrained"):
        deoldify_generator("deoldify_small", pretrained_file=str(tmp_path / "missing.pth"))


def test_icnr_makes_pixel_shuffle_sub_kernels_equal():
    weight = torch.empty(8, 3, 1, 1)
    icnr_(weight)
    assert torch.equal(weight[0], weight[1]) and torch.equal(weight[0], weight[3]) and not torch.equal(weight[0], weight[4])


def test_critic_gives_patch_logits():
    critic = DeOldifyCritic(nf=16)
    logits = critic(torch.rand(2, 1, 128, 128), torch.rand(2, 2, 128, 128))
    assert logits.shape == (2, 1, 8, 8)  # 128 -> 64 -> 32 -> 16 -> 8: one logit per 16x16 patch
    assert critic(torch.rand(1, 1, 48, 80), torch.rand(1, 2, 48, 80)).shape == (1, 1, 3, 5)


@pytest.mark.parametrize("memory_format", [torch.contiguous_format, torch.channels_last])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float64])
def test_blur_computes_what_replication_pad_and_average_pool_did(memory_format, dtype):
    """ReplicationBlur replaced DeOldify's nn.Sequential(ReplicationPad2d((1, 0, 1, 0)), AvgPool2d(2, stride=1)): same outputs,
    same gradients (bitwise inside; at the first row and column the border's gradients are summed in another order)."""
    old = torch.nn.Sequential(torch.nn.ReplicationPad2d((1, 0, 1, 0)), torch.nn.AvgPool2d(2, stride=1))
    torch.manual_seed(0)
    x = torch.randn(3, 5, 7, 9, dtype=dtype).to(memory_format=memory_format)
    grad = torch.randn(3, 5, 7, 9, dtype=dtype)
    x_old, x_new = x.clone().requires_grad_(), x.clone().requires_grad_()
    y_old, y_new = old(x_old), ReplicationBlur()(x_new)
    y_old.backward(grad)
    y_new.backward(grad)
    assert torch.equal(y_old, y_new) and y_new.stride() == y_old.stride()
    assert torch.equal(x_old.grad[..., 1:, 1:], x_new.grad[..., 1:, 1:])
    torch.testing.assert_close(x_new.grad, x_old.grad, rtol=0, atol=4 * torch.finfo(dtype).eps * grad.abs().max().item())


def test_upsampling_blocks_use_the_blur_and_keep_their_weights(small):
    blurs = [m.blur for m in small.modules() if hasattr(m, "blur")]
    assert len(blurs) == 5 and all(isinstance(b, ReplicationBlur) and not list(b.parameters()) for b in blurs)


@pytest.mark.slow
def test_blur_compiles_with_a_channels_last_gradient():
    """experiments/compile/repro_replication_pad.py: the padding DeOldify's blur used failed here under torch.compile."""
    conv = torch.nn.Conv2d(6, 6, 3, padding=1)
    blur = ReplicationBlur()
    x = torch.randn(2, 6, 32, 32).to(memory_format=torch.channels_last).requires_grad_()
    torch.compile(lambda t: conv(blur(t)))(x).sum().backward()
    compiled = x.grad.clone()
    x.grad = None
    conv(blur(x)).sum().backward()
    torch.testing.assert_close(compiled, x.grad, rtol=1e-4, atol=1e-5)
