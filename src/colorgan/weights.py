"""Find or fetch pretrained weight files the way their libraries do.

Files named by a URL (torchvision's VGG16-BN and AlexNet, torch-fidelity's Inception-v3) live in torch hub's
cache, `torch.hub.get_dir()/checkpoints/<name>` (under $TORCH_HOME/hub), and are downloaded there on first use
with torch.hub's own `download_url_to_file`; timm encoders come through the Hugging Face hub as timm fetches
them. A local file given in the config always wins. COLORGAN_OFFLINE=1 (or the Hugging Face switch
HF_HUB_OFFLINE=1) forbids downloads: what is not on the machine is then one line saying what to put where.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import torch

from colorgan.errors import UserError

OFFLINE_SWITCHES = ("COLORGAN_OFFLINE", "HF_HUB_OFFLINE")


def offline() -> bool:
    """Whether downloads are off: COLORGAN_OFFLINE or HF_HUB_OFFLINE set to 1/true/yes/on (read at each call)."""
    return any(os.environ.get(name, "").strip().upper() in ("1", "TRUE", "YES", "ON") for name in OFFLINE_SWITCHES)


def hub_path(url: str) -> Path:
    """Where torch hub caches the download of `url` (the same name `load_state_dict_from_url` uses)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(urlparse(url).path)


def hub_file(url: str, given: str | None, what: str, option: str, check_hash: bool = False) -> Path:
    """The local weights file for `url`: `given` if set, else torch hub's cached copy, downloaded on first use.

    check_hash verifies the download against the SHA-256 prefix in its file name, as
    `load_state_dict_from_url(check_hash=True)` does for torchvision's weights.
    """
    if given:
        if not Path(given).is_file():
            raise UserError(f"no {what} at {given}: give an existing file ({option}=PATH)")
        return Path(given)
    path = hub_path(url)
    if path.is_file():
        return path
    put = f"put {path.name} (from {url}) at {path}, or give its path ({option}=PATH)"
    if offline():
        raise UserError(f"no {what} on this machine and downloads are off (COLORGAN_OFFLINE/HF_HUB_OFFLINE): {put}")
    match = torch.hub.HASH_REGEX.search(path.name) if check_hash else None
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        torch.hub.download_url_to_file(url, str(path), match.group(1) if match else None, progress=False)
    except (OSError, RuntimeError) as exc:  # unreachable host, HTTP error, hash mismatch
        raise UserError(f"could not download {what} ({' '.join(str(exc).split())}): {put}") from exc
    return path


@contextlib.contextmanager
def torch_hub_file(path: Path, url: str) -> Iterator[None]:
    """Make torch hub find `path` as its cached download of `url` (for libraries that only load from the hub)."""
    if path.resolve() == hub_path(url).resolve():
        yield
        return
    previous = torch.hub._hub_dir  # None unless set_dir was called: restoring None (not get_dir()) keeps TORCH_HOME in charge
    with tempfile.TemporaryDirectory() as hub:
        torch.hub.set_dir(hub)
        try:
            hub_path(url).parent.mkdir()
            hub_path(url).symlink_to(path.resolve())
            yield
        finally:
            torch.hub._hub_dir = previous


@contextlib.contextmanager
def timm_weights(name: str) -> Iterator[None]:
    """Let timm fetch `name`'s pretrained weights through the Hugging Face hub, offline when colorgan is, and turn a
    missing or unreachable file into one line naming the hub repository and the cache it belongs in."""
    import timm
    from huggingface_hub import constants

    was_offline = constants.HF_HUB_OFFLINE  # huggingface_hub reads HF_HUB_OFFLINE once, at import
    constants.HF_HUB_OFFLINE = was_offline or offline()
    try:
        yield
    except OSError as exc:  # offline and not cached, hub unreachable, or no such file there
        repo = timm.models.get_pretrained_cfg(name).hf_hub_id
        why = "downloads are off (COLORGAN_OFFLINE/HF_HUB_OFFLINE)" if constants.HF_HUB_OFFLINE else f"the download failed ({type(exc).__name__})"
        raise UserError(
            f"no pretrained weights for {name} in the Hugging Face hub cache ({constants.HF_HUB_CACHE}) and {why}: "
            f"run once online or `hf download {repo}` into that cache, or set model.pretrained_file=PATH, or model.pretrained=false"
        ) from exc
    finally:
        constants.HF_HUB_OFFLINE = was_offline
