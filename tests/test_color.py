import torch

from colorgan.color import model_to_rgb, rgb_to_model


def test_round_trip_keeps_colours_and_ranges():
    rgb = torch.rand(4, 3, 16, 16)
    L, ab = rgb_to_model(rgb)
    assert L.min() >= -1 and L.max() <= 1 and ab.abs().max() <= 1
    assert torch.allclose(model_to_rgb(L, ab), rgb, atol=1e-4)


def test_conversion_is_float32_under_autocast():
    rgb = torch.rand(1, 3, 8, 8)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        L, ab = rgb_to_model(rgb)
    assert L.dtype == ab.dtype == torch.float32
