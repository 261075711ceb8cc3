"""Pretrained weights arrive as their libraries fetch them: from a fake hub on 127.0.0.1 that counts requests, into
TORCH_HOME (torch hub files) or HF_HOME (timm through the Hugging Face hub); offline, one line and no request."""

from __future__ import annotations

import hashlib
import http.server
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import torch

from colorgan.errors import UserError
from colorgan.weights import hub_file, hub_path, torch_hub_file
from conftest import compose_config

COMMIT = "0123456789abcdef0123456789abcdef01234567"


class FakeHub:
    """An HTTP server serving in-memory files by path (HEAD and GET, with the headers huggingface_hub reads), counting requests."""

    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.requests: list[str] = []
        hub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_HEAD(self):
                self.answer(body=False)

            def do_GET(self):
                self.answer(body=True)

            def answer(self, body: bool):
                hub.requests.append(self.path)
                data = hub.files.get(self.path)
                if data is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("ETag", f'"{hashlib.sha256(data).hexdigest()}"')
                self.send_header("X-Repo-Commit", COMMIT)
                self.end_headers()
                if body:
                    self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def serve(self, name: str, data: bytes) -> str:
        """Serve `data` at /<name>; its URL."""
        self.files[f"/{name}"] = data
        return f"{self.url}/{name}"


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """A fake hub, downloads on (no offline switch), an empty TORCH_HOME, no proxy for 127.0.0.1."""
    for name in ("HF_HUB_OFFLINE", "COLORGAN_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    server = FakeHub()
    yield server
    server.server.shutdown()
    server.server.server_close()


def weights_bytes(build) -> bytes:
    """The state dict of the network `build()` makes, in torch.save format, each tensor one stored value (0.01)
    expanded to its shape: the library's file format in a few kB (the network is built on the meta device)."""
    import io

    with torch.device("meta"):
        state = build().state_dict()
    buffer = io.BytesIO()
    torch.save({k: torch.full([1] * v.dim(), 0.01 if v.is_floating_point() else 1, dtype=v.dtype).expand(v.shape) for k, v in state.items()}, buffer)
    return buffer.getvalue()


def hashed_name(stem: str, data: bytes) -> str:
    """torchvision's file naming: the stem, then the first 8 hex digits of the SHA-256."""
    return f"{stem}-{hashlib.sha256(data).hexdigest()[:8]}.pth"


def cached(name: str, tmp_path: Path) -> Path:
    return tmp_path / "torch" / "hub" / "checkpoints" / name


def test_fetched_once_into_torch_home_with_the_hash_checked(hub, tmp_path):
    data = b"weights" * 100
    url = hub.serve(hashed_name("tiny", data), data)
    path = hub_file(url, None, "tiny weights", "tiny_weights", check_hash=True)
    assert path == cached(Path(url).name, tmp_path) and path.read_bytes() == data and len(hub.requests) == 1
    assert hub_file(url, None, "tiny weights", "tiny_weights", check_hash=True) == path and len(hub.requests) == 1


def test_a_given_file_wins_without_a_request(hub, tmp_path):
    given = tmp_path / "mine.pth"
    given.write_bytes(b"x")
    assert hub_file(hub.serve("tiny-00000000.pth", b"y"), str(given), "tiny weights", "tiny_weights") == given and not hub.requests
    with pytest.raises(UserError, match=r"^no tiny weights at /no/such.pth: give an existing file \(tiny_weights=PATH\)$"):
        hub_file(hub.url + "/tiny.pth", "/no/such.pth", "tiny weights", "tiny_weights")


def test_a_given_file_is_lent_to_torch_hub_and_torch_home_stays_in_charge(tmp_path, monkeypatch):
    """torch_hub_file (LPIPS with lpips_weights=PATH) shows the file where torch hub looks, then leaves no hub dir pinned."""
    given, url = tmp_path / "mine.pth", "https://example.org/models/alexnet-owt-7be5be79.pth"
    given.write_bytes(b"x")
    with torch_hub_file(given, url):
        assert hub_path(url).read_bytes() == b"x"
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "elsewhere"))
    assert torch.hub.get_dir() == str(tmp_path / "elsewhere" / "hub")


@pytest.mark.parametrize("switch", ["COLORGAN_OFFLINE", "HF_HUB_OFFLINE"])
def test_offline_says_what_to_put_where_without_a_request(hub, tmp_path, monkeypatch, switch):
    monkeypatch.setenv(switch, "1")
    url = hub.serve("tiny-00000000.pth", b"y")
    with pytest.raises(UserError) as error:
        hub_file(url, None, "tiny weights", "tiny_weights")
    message = str(error.value)
    assert "\n" not in message and not hub.requests
    assert f"put tiny-00000000.pth (from {url}) at {cached('tiny-00000000.pth', tmp_path)}, or give its path (tiny_weights=PATH)" in message


def test_failed_downloads_are_one_line(hub, tmp_path):
    wrong = hub.serve("tiny-00000000.pth", b"not what the name promises")
    with pytest.raises(UserError, match=r"^could not download tiny weights \(.*invalid hash value.*\): put tiny-00000000.pth") as error:
        hub_file(wrong, None, "tiny weights", "tiny_weights", check_hash=True)
    assert "\n" not in str(error.value) and not cached("tiny-00000000.pth", tmp_path).exists()
    hub.server.shutdown()
    hub.server.server_close()  # nothing listens there now: as a machine without network
    with pytest.raises(UserError, match=r"^could not download tiny weights \(.*\): put tiny.pth .* \(tiny_weights=PATH\)$") as error:
        hub_file(hub.url + "/tiny.pth", None, "tiny weights", "tiny_weights")
    assert "\n" not in str(error.value)


@pytest.fixture
def vgg_url(hub, monkeypatch) -> str:
    """torchvision's VGG16-BN weights URL pointed at the fake hub, which serves a VGG16-BN file (named by its hash)."""
    from torchvision.models import VGG16_BN_Weights, vgg16_bn

    data = weights_bytes(vgg16_bn)
    url = hub.serve(hashed_name("vgg16_bn", data), data)
    monkeypatch.setattr(VGG16_BN_Weights.IMAGENET1K_V1.value, "url", url)
    return url


def test_perceptual_loss_fetches_vgg16_bn(vgg_url, hub, tmp_path):
    from hydra.utils import instantiate

    model = instantiate(compose_config(tmp_path, "model=deoldify").model)
    model.setup("fit")  # where the DeOldify model builds its perceptual loss
    path = cached(Path(vgg_url).name, tmp_path)
    assert path.is_file() and hub.requests == [f"/{path.name}"]
    expected = torch.load(path, weights_only=True)["features.0.weight"]
    assert torch.equal(model.perceptual.features[0].weight, expected)


def test_perceptual_loss_offline_is_one_line_without_a_request(vgg_url, hub, monkeypatch):
    from colorgan.losses import PerceptualLoss

    monkeypatch.setenv("COLORGAN_OFFLINE", "1")
    with pytest.raises(
        UserError, match=rf"^no VGG16-BN weights on this machine and downloads are off .*\(from {vgg_url}\) at .*/checkpoints/vgg16_bn-\w+\.pth"
    ) as error:
        PerceptualLoss()
    assert "\n" not in str(error.value) and not hub.requests


@pytest.fixture
def metric_urls(hub, monkeypatch) -> dict[str, str]:
    """torchvision's AlexNet URL (LPIPS) and torch-fidelity's Inception-v3 URL (FID) pointed at the fake hub."""
    from torch_fidelity import feature_extractor_inceptionv3 as fidelity
    from torchvision.models import AlexNet_Weights, alexnet

    with pytest.MonkeyPatch.context() as building:  # the network alone, no weights loaded
        building.setattr(fidelity, "load_state_dict_from_url", lambda *a, **k: {})
        building.setattr(fidelity.FeatureExtractorInceptionV3, "load_state_dict", lambda self, state: None)
        inception = weights_bytes(lambda: fidelity.FeatureExtractorInceptionV3("inception-v3-compat", ["2048"]))
    alex = weights_bytes(alexnet)
    monkeypatch.setattr(AlexNet_Weights.IMAGENET1K_V1.value, "url", hub.serve(hashed_name("alexnet", alex), alex))
    monkeypatch.setattr(fidelity, "URL_INCEPTION_V3", hub.serve("weights-inception-2015-12-05-6726825d.pth", inception))
    return {"lpips": AlexNet_Weights.IMAGENET1K_V1.url, "fid": fidelity.URL_INCEPTION_V3}


@pytest.mark.slow
def test_eval_fetches_lpips_and_fid_weights(metric_urls, hub, tmp_path):
    from colorgan.evaluate.metric_weights import fid_info, fid_metric, lpips_info, lpips_metric

    infos = {"lpips": lpips_info(None), "fid": fid_info(None)}
    for metric, url in metric_urls.items():
        assert infos[metric]["available"] and infos[metric]["weights"] == str(cached(Path(url).name, tmp_path))
    assert sorted(hub.requests) == sorted(f"/{Path(url).name}" for url in metric_urls.values())
    assert lpips_metric(infos["lpips"]) is not None and fid_metric(infos["fid"]) is not None  # torchvision and torch-fidelity load them
    assert len(hub.requests) == 2


def test_eval_offline_reports_the_metrics_unavailable_without_a_request(metric_urls, hub, monkeypatch):
    from colorgan.evaluate.scoring import evaluate

    monkeypatch.setenv("COLORGAN_OFFLINE", "1")
    result = evaluate({}, [torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8)], torch.device("cpu"))
    for metric, url in metric_urls.items():
        reason = result[metric]["reason"]
        assert not result[metric]["available"] and "\n" not in reason and f"(from {url}) at {result[metric]['weights']}" in reason
    assert result["rows"][0]["lpips"] is None and result["rows"][0]["fid"] is None and not hub.requests


ENCODER = """
from colorgan.errors import UserError
from colorgan.nets.deoldify import make_encoder
try:
    print(float(make_encoder("efficientnet_b0", pretrained=True).conv_stem.weight.sum()))
except UserError as error:
    print(error)
"""


def encoder_in_subprocess(hub: FakeHub, home: Path, **env: str) -> str:
    """make_encoder(pretrained=True) in a fresh interpreter (huggingface_hub reads HF_ENDPOINT at import): what it prints."""
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "COLORGAN_OFFLINE")} | {"HF_ENDPOINT": hub.url, "HF_HOME": str(home)} | env
    result = subprocess.run([sys.executable, "-c", ENCODER], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.strip()


@pytest.fixture
def timm_hub(hub) -> tuple[FakeHub, float]:
    """The fake hub serving efficientnet_b0's timm weights (random) where the Hugging Face hub keeps them; their conv_stem sum."""
    import timm
    from safetensors.torch import save

    torch.manual_seed(0)
    state = timm.create_model("efficientnet_b0").state_dict()
    hub.serve("timm/efficientnet_b0.ra_in1k/resolve/main/model.safetensors", save({k: v.contiguous() for k, v in state.items()}))
    return hub, float(state["conv_stem.weight"].sum())


@pytest.mark.slow
def test_timm_encoder_fetches_through_the_hugging_face_hub(timm_hub, tmp_path):
    hub, stem_sum = timm_hub
    assert float(encoder_in_subprocess(hub, tmp_path / "hf")) == pytest.approx(stem_sum)
    assert any(hub.requests) and list((tmp_path / "hf" / "hub" / "models--timm--efficientnet_b0.ra_in1k").rglob("model.safetensors"))


@pytest.mark.slow
def test_timm_encoder_offline_is_one_line_without_a_request(timm_hub, tmp_path):
    """COLORGAN_OFFLINE alone keeps the Hugging Face hub offline too (HF_HUB_OFFLINE=1 is conftest's, see test_cli)."""
    hub, _ = timm_hub
    message = encoder_in_subprocess(hub, tmp_path / "hf", COLORGAN_OFFLINE="1")
    assert message.startswith(f"no pretrained weights for efficientnet_b0 in the Hugging Face hub cache ({tmp_path / 'hf' / 'hub'}) and downloads are off")
    assert "`hf download timm/efficientnet_b0.ra_in1k`" in message and "\n" not in message and not hub.requests
