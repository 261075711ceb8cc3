"""Colourfulness both ways: `cf` with DDColor's absolute opponents (what papers tabulate, |dCF| on it) and `cf_signed`
with Hasler and Suesstrunk's signed ones, each against an independent numpy computation."""

import numpy as np
import pytest
import torch

from colorgan.metrics import ColorMetrics, colourfulness


def numpy_colourfulness(rgb: np.ndarray, absolute: bool) -> float:
    """CF of one uint8-scale image (H, W, 3), as DDColor's basicsr/metrics/colorfulness.py computes it when absolute."""
    r, g, b = (rgb[..., c].astype(np.float64) for c in range(3))
    rg, yb = r - g, 0.5 * (r + g) - b
    if absolute:
        rg, yb = np.absolute(rg), np.absolute(yb)
    return float(np.sqrt(np.std(rg) ** 2 + np.std(yb) ** 2) + 0.3 * np.sqrt(np.mean(rg) ** 2 + np.mean(yb) ** 2))


@pytest.fixture
def images() -> torch.Tensor:
    """Random photos whose opponents take both signs (where the two variants differ), and one pure red-green split."""
    batch = torch.rand(4, 3, 24, 32, generator=torch.Generator().manual_seed(0))
    batch[3] = 0
    batch[3, 0, :, :16] = 1  # left half red, right half green: rg = +255 | -255
    batch[3, 1, :, 16:] = 1
    return batch


@pytest.mark.parametrize("signed", [False, True])
def test_each_variant_matches_numpy(images, signed):
    ours = colourfulness(images, signed=signed).double().numpy()
    expected = [numpy_colourfulness(image.permute(1, 2, 0).double().numpy() * 255, absolute=not signed) for image in images]
    np.testing.assert_allclose(ours, expected, rtol=1e-5)


def test_the_variants_differ_where_opponents_change_sign(images):
    absolute, signed = colourfulness(images), colourfulness(images, signed=True)
    # red | green: yb = 127.5 everywhere; |rg| = 255 everywhere (no spread), signed rg = +-255 (spread 255, mean 0)
    assert float(absolute[3]) == pytest.approx(0.3 * np.hypot(255, 127.5), rel=1e-5)
    assert float(signed[3]) == pytest.approx(255 + 0.3 * 127.5, rel=1e-5)
    assert (absolute - signed).abs().min() > 1


def test_dcf_compares_the_set_means_of_the_absolute_variant(images):
    pred, true = images[:2], images[2:]
    metric = ColorMetrics()
    metric.update(pred, true)
    out = metric.compute()
    to_numpy = [[image.permute(1, 2, 0).double().numpy() * 255 for image in half] for half in (pred, true)]
    cf_pred, cf_true = (np.mean([numpy_colourfulness(image, absolute=True) for image in half]) for half in to_numpy)
    cf_signed = np.mean([numpy_colourfulness(image, absolute=False) for image in to_numpy[0]])
    assert float(out["cf"]) == pytest.approx(cf_pred, rel=1e-5) and float(out["dcf"]) == pytest.approx(abs(cf_pred - cf_true), rel=1e-4)
    assert float(out["cf_signed"]) == pytest.approx(cf_signed, rel=1e-5)
