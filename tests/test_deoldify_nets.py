import pytest
import timm
import torch

from colorgan.errors import UserError
from colorgan.nets.deoldify import DeOldifyCritic, deoldify_generator, icnr_


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


def test_preset_parameter_counts(small):
    assert count(small) == 8_017_683
    seed = deoldify_generator("deoldify_seed")
    assert count(seed) == 289_860_907


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
    assert torch.allclose(grads[0], grads[1], atol=1e-5)


def test_pretrained_encoder_loads_from_a_local_file(tmp_path):
    reference = timm.create_model("efficientnet_b0", pretrained=False)
    path = tmp_path / "efficientnet_b0.pth"
    torch.save(reference.state_dict(), path)
    net = deoldify_generator("deoldify_small", pretrained_file=str(path))
    # timm adapts the RGB stem to one channel by summing its input channels
    assert torch.allclose(net.encoder.conv_stem.weight, reference.conv_stem.weight.sum(1, keepdim=True))
    assert torch.equal(net.encoder.blocks[2][0].conv_pw.weight, reference.blocks[2][0].conv_pw.weight)


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
