"""User hints: the simulated training distribution, coordinates at any size, the baselines and the hint path end to end."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from PIL import Image

from colorgan.color import rgb_to_lab, rgb_to_model
from colorgan.hints import Hint, HintSampler, generator_input, hints_from_json, hints_in_input, input_channels, parse_hint, rasterize
from colorgan.inference import Colorizer
from colorgan.propagation import METHODS, propagate, push_pull


def test_simulated_hints_follow_the_reference_distribution():
    sampler, size, n = HintSampler(), 64, 3000
    generator = torch.Generator().manual_seed(0)
    patches = [sampler.patches(size, size, generator) for _ in range(n)]
    counts = np.array([len(p) for p in patches])
    assert np.mean(counts == 0) == pytest.approx(1 / 8, abs=0.02)  # geometric: stop with p = 1/8 before each hint
    assert counts.mean() == pytest.approx(7, rel=0.06)  # mean (1 - p) / p
    sides = np.array([side for p in patches for _, _, side in p])
    assert set(sides) == set(range(1, 10)) and np.bincount(sides)[1:].min() / len(sides) > 0.1  # uniform over 1..9
    for side in (1, 9):  # start ~ N((free + 1) / 2, (free + 1) / 4), clipped to the image
        tops = np.array([top for p in patches for top, _, s in p if s == side])
        free = size - side
        assert tops.min() >= 0 and tops.max() <= free
        assert tops.mean() == pytest.approx((free + 1) / 2 - 0.5, abs=1.0) and tops.std() == pytest.approx((free + 1) / 4, rel=0.15)


def test_each_hint_is_the_mean_true_colour_of_its_patch_and_seeded():
    ab = torch.rand(2, 2, 40, 30) - 0.5
    first = HintSampler().sample(ab, torch.Generator().manual_seed(3))
    assert torch.equal(first, HintSampler().sample(ab, torch.Generator().manual_seed(3)))
    exact = HintSampler(patch_sizes=(4,)).sample(ab, torch.Generator().manual_seed(1), count=1)
    ys, xs = exact[0, 2].nonzero(as_tuple=True)
    top, left = ys.min(), xs.min()
    assert exact[0, 2].sum() == 16 and torch.allclose(exact[0, :2, top, left], ab[0, :, top : top + 4, left : left + 4].mean(dim=(1, 2)))


@pytest.mark.parametrize("photo, render_factor", [((480, 640), 4), ((640, 480), 7), ((100, 1000), 16), ((333, 77), 3)])
def test_hints_land_where_they_are_in_the_photo_at_any_aspect_and_render_factor(photo, render_factor):
    H, W = photo
    colorizer = Colorizer.__new__(Colorizer)
    colorizer.default_render_factor = 4
    h, w = colorizer.render_shape(H, W, render_factor)
    rng = np.random.default_rng(H * W)
    for _ in range(20):
        x, y = rng.uniform(0, W), rng.uniform(0, H)
        mask = rasterize([Hint(x, y, "#ff0000")], (H, W), (h, w))[0, 2]
        assert mask.sum() == 1
        row, col = (int(i) for i in mask.nonzero()[0])  # the render pixel that holds the photo pixel's centre
        assert row == min(h - 1, math.floor((y + 0.5) * h / H)) and col == min(w - 1, math.floor((x + 0.5) * w / W))


def test_hint_colours_and_sizes():
    red = Hint(0, 0, "#ff0000").ab()
    lab = rgb_to_lab(torch.tensor([1.0, 0.0, 0.0]).view(1, 3, 1, 1))[0, 1:, 0, 0] / 110
    assert red == pytest.approx(lab.tolist(), abs=1e-5)
    assert Hint(0, 0, (22.0, -11.0)).ab() == pytest.approx((0.2, -0.1))
    big = rasterize([Hint(50, 50, "#00ff00", size=20)], (100, 100), (10, 10))
    assert big[0, 2].sum() == 4  # 20 photo pixels = 2 render pixels a side
    assert parse_hint("12,5.5,#3060C0") == Hint(12.0, 5.5, "#3060C0")
    assert hints_from_json([{"x": 1, "y": 2, "color": "#000000"}]) == [Hint(1.0, 2.0, "#000000")]


@pytest.mark.parametrize("text", ["12,5", "a,b,#ffffff", "1,2,#ggg000"])
def test_bad_hints_are_one_line_errors(text):
    from colorgan.errors import UserError

    with pytest.raises(UserError, match="#"):
        parse_hint(text).ab()


def test_a_generator_input_holds_l_and_the_hint_map_it_was_made_from():
    L, hints = torch.rand(2, 1, 8, 8), HintSampler().sample(torch.rand(2, 2, 8, 8) - 0.5, torch.Generator().manual_seed(0), count=3)
    x = generator_input(L, hints)
    assert x.shape[1] == input_channels(True) and input_channels(False) == 1
    assert torch.equal(x[:, :1], L) and torch.equal(hints_in_input(x), hints)
    assert torch.equal(hints_in_input(generator_input(L, None)), torch.zeros(2, 3, 8, 8))  # no hints: an empty map


def test_baselines_reproduce_the_hints_and_spread_them():
    L = torch.zeros(1, 1, 24, 24)
    L[..., 12:] = 0.8  # two regions of different lightness
    hints = torch.zeros(1, 3, 24, 24)
    hints[0, :2, 5, 5], hints[0, 2, 5, 5] = torch.tensor([0.4, 0.1]), 1
    hints[0, :2, 5, 20], hints[0, 2, 5, 20] = torch.tensor([-0.3, 0.2]), 1
    for method in METHODS:  # IDW's 1 / (1 + d)^2 weights do not interpolate exactly: the other hint still counts a little
        ab, atol = propagate(method, L, hints), 0.01 if method == "idw" else 1e-4
        assert torch.allclose(ab[0, :, 5, 5], torch.tensor([0.4, 0.1]), atol=atol) and torch.allclose(ab[0, :, 5, 20], torch.tensor([-0.3, 0.2]), atol=atol)
    levin = propagate("levin", L, hints)
    assert levin[0, 0, 20, 2] > 0.2 and levin[0, 0, 20, 22] < -0.1  # each side keeps the colour of its own hint
    assert torch.equal(propagate("idw", L, torch.zeros_like(hints)), torch.zeros(1, 2, 24, 24))  # no hints: grey
    assert torch.allclose(push_pull(hints)[0, :, 5, 5], torch.tensor([0.4, 0.1]))
    nearest = propagate("nearest", L, hints)
    assert torch.allclose(nearest[0, :, 23, 0], torch.tensor([0.4, 0.1])) and torch.allclose(nearest[0, :, 23, 23], torch.tensor([-0.3, 0.2]))


def test_a_model_with_a_hint_prior_starts_as_the_propagation_and_follows_a_hint():
    from hydra.utils import instantiate

    from colorgan.config import compose

    cfg = compose("train", ["experiment=hints", "debug=tiny", "paths.output_dir=."])
    model = instantiate(cfg.model).eval()
    model.image_size = 64
    colorizer = Colorizer(model)
    grey = Image.fromarray(np.full((90, 160), 128, dtype=np.uint8))
    blue = Hint(20, 30, "#3050c8", size=8)
    out = np.asarray(colorizer.colorize(grey, hints=[blue]), dtype=np.float32) / 255
    _, ab = rgb_to_model(torch.from_numpy(out).permute(2, 0, 1)[None])
    hue = math.atan2(ab[0, 1, 30, 20], ab[0, 0, 30, 20])
    assert abs(hue - math.atan2(*reversed(blue.ab()))) < 0.2 and ab[0, :, 30, 20].norm() > 0.1
    assert torch.allclose(torch.from_numpy(np.asarray(colorizer.colorize(grey), dtype=np.float32)), torch.full((90, 160, 3), 128.0), atol=1)
