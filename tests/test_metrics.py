import numpy as np
import torch
from skimage.color import deltaE_ciede2000

from colorgan.metrics import ColorMetrics, ciede2000, colourfulness


def test_ciede2000_matches_scikit_image():
    rng = np.random.default_rng(0)
    lab1 = rng.uniform([0, -100, -100], [100, 100, 100], (500, 3))
    lab2 = lab1 + rng.normal(0, 8, (500, 3))
    lab2[:20] = lab1[:20]
    lab1[20:30, 1:] = 0  # achromatic pairs take the special branches
    expected = deltaE_ciede2000(lab1, lab2)
    ours = ciede2000(torch.tensor(lab1.T[:, :, None]), torch.tensor(lab2.T[:, :, None]))[:, 0].numpy()
    np.testing.assert_allclose(ours, expected, atol=1e-9)


def test_ciede2000_published_pair():
    # Sharma, Wu and Dalal (2005), Table 1, pair 1
    lab1 = torch.tensor([50.0, 2.6772, -79.7751]).view(3, 1, 1)
    lab2 = torch.tensor([50.0, 0.0, -82.7485]).view(3, 1, 1)
    assert abs(float(ciede2000(lab1.double(), lab2.double())) - 2.0425) < 1e-4


def test_colourfulness_follows_the_published_formula():
    grey = torch.full((1, 3, 8, 8), 0.5)
    assert float(colourfulness(grey)) == 0.0
    red = torch.zeros(1, 3, 8, 8)
    red[:, 0] = 1.0  # rg = 255, yb = 127.5 everywhere: no spread, only the mean term
    assert abs(float(colourfulness(red)) - 0.3 * np.hypot(255, 127.5)) < 1e-3
    halves = torch.zeros(1, 3, 2, 2)
    halves[0, 0, 0] = 1.0  # half the pixels red, half black: rg std 127.5, yb std 63.75
    expected = np.hypot(127.5, 63.75) + 0.3 * np.hypot(127.5, 63.75)
    assert abs(float(colourfulness(halves)) - expected) < 1e-3


def test_metrics_of_a_perfect_prediction():
    rgb = torch.rand(3, 3, 32, 32)
    metric = ColorMetrics()
    metric.update(rgb, rgb)
    out = metric.compute()
    assert out["de2000"] < 1e-4 and out["dcf"] < 1e-4 and out["ssim"] > 0.999
    grey = rgb.mean(1, keepdim=True).expand_as(rgb)
    metric.reset()
    metric.update(grey, rgb)
    assert metric.compute()["de2000"] > 1
