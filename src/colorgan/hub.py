"""Colourisers on the Hugging Face Hub: `hf://owner/name[@revision]` wherever a checkpoint is taken, and the push.

A hub repository of a colouriser is a colorgan-export folder (config.json + generator.safetensors, with a model
card as README.md). Reading one pins the revision to a commit once (huggingface_hub's resolve_revision), then
fetches config.json and generator.safetensors at that commit into huggingface_hub's own cache (HF_HOME,
HF_HUB_CACHE) and loads the model from that snapshot folder like any export folder. Only safetensors and JSON
are read: a repository that offers a pickle (.ckpt, .pt, .bin, ...) is refused before anything is fetched, and
a config.json may only name code from colorgan or its model's own package. Offline (COLORGAN_OFFLINE=1 or
HF_HUB_OFFLINE=1) nothing is requested: the cached copy is used, or one line names the repository.
The hub's address comes from HF_ENDPOINT, the token from HF_TOKEN or `hf auth login`, as for every hub tool.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from colorgan.errors import UserError
from colorgan.export_format import EXPORT_CONFIG, EXPORT_WEIGHTS
from colorgan.weights import offline

PREFIX = "hf://"
EXPORT_FILES = (EXPORT_CONFIG, EXPORT_WEIGHTS)
PICKLE_SUFFIXES = (".ckpt", ".pt", ".pth", ".bin", ".pkl", ".pickle", ".joblib")
REPO_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*")
SHARE_HINT = "a colouriser is shared with colorgan-export CKPT --push-to-hub OWNER/NAME"


def is_reference(source: str | Path) -> bool:
    """Whether `source` names a hub repository (hf://owner/name[@revision]) rather than a local path."""
    return isinstance(source, str) and source.startswith(PREFIX)


def parse_reference(reference: str) -> tuple[str, str | None]:
    """(repo id, revision or None) of `hf://owner/name[@revision]`; a malformed one is a one-line error."""
    repo_id, _, revision = reference.removeprefix(PREFIX).partition("@")
    check_repo_id(repo_id, reference)
    if "@" in reference and not revision:
        raise UserError(f"{reference} names no revision after @: write hf://{repo_id}@REVISION (a branch, tag or commit), or leave @ out")
    return repo_id, revision or None


def check_repo_id(repo_id: str, given: str | None = None) -> None:
    """A one-line error unless `repo_id` is owner/name as the hub spells repository ids."""
    if not REPO_ID.fullmatch(repo_id) or ".." in repo_id or repo_id.endswith((".git", ".")):
        raise UserError(f"{given or repo_id} does not name a hub repository: write owner/name (hf://owner/name[@revision] where a checkpoint is taken)")


def local_source(source: str | Path) -> Path:
    """`source` as a local path: an hf:// reference becomes its snapshot folder in the hub cache (fetched if need
    be); anything else is returned as it is."""
    return fetch(source) if is_reference(source) else Path(source)


def fetch(reference: str) -> Path:
    """The local snapshot folder of `hf://owner/name[@revision]`: config.json and generator.safetensors at one
    commit, from huggingface_hub's cache or fetched into it. Offline, only the cache is looked at."""
    from huggingface_hub import HfApi, constants, hf_hub_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError, RepositoryNotFoundError, RevisionNotFoundError, RevisionResolutionError
    from huggingface_hub.utils import httpx

    repo_id, revision = parse_reference(reference)
    cache_only = offline() or constants.HF_HUB_OFFLINE
    api = HfApi()
    try:
        pinned = api.resolve_revision(repo_id, revision=revision, local_files_only=cache_only)  # from the cache when the hub is unreachable
        if not cache_only:
            try:
                check_listing(reference, [s.rfilename for s in api.model_info(repo_id, revision=pinned.resolved).siblings or []])
            except httpx.TransportError:
                cache_only = True  # unreachable since: what the cache holds was checked when it was fetched
        paths = [hf_hub_download(repo_id, name, revision=pinned, local_files_only=cache_only) for name in EXPORT_FILES]
    except (RevisionResolutionError, LocalEntryNotFoundError) as exc:
        why = (
            "downloads are off (COLORGAN_OFFLINE/HF_HUB_OFFLINE)"
            if offline() or constants.HF_HUB_OFFLINE
            else f"the hub at {constants.ENDPOINT} could not be reached"
        )
        raise UserError(
            f"{reference} is not in the Hugging Face hub cache ({constants.HF_HUB_CACHE}) and {why}: "
            f"run the command once online, or `hf download {repo_id} {' '.join(EXPORT_FILES)}{f' --revision {revision}' if revision else ''}`"
        ) from exc
    except RevisionNotFoundError as exc:
        raise UserError(f"{repo_id} has no revision {revision!r} on the hub: give a branch, tag or commit it has, or leave @{revision} out") from exc
    except RepositoryNotFoundError as exc:
        raise UserError(
            f"no model repository {repo_id} on the hub at {constants.ENDPOINT} that this token may read: check the name, or for a private one log in (`hf auth login`) or set HF_TOKEN"
        ) from exc
    except (HfHubHTTPError, httpx.HTTPError, OSError) as exc:
        raise UserError(f"could not fetch {reference} ({one_line(exc)}): try again, or work offline from the cache (COLORGAN_OFFLINE=1)") from exc
    folder = Path(paths[0]).parent
    check_config(reference, folder / EXPORT_CONFIG)
    return folder


def one_line(exc: BaseException, limit: int = 200) -> str:
    """An exception's message on one line, cut to `limit` characters."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_listing(reference: str, files: list[str]) -> None:
    """Refuse a repository that offers pickled files, or that is not a colorgan export, before fetching anything."""
    pickles = sorted(f for f in files if f.lower().endswith(PICKLE_SUFFIXES))
    if pickles:
        raise UserError(
            f"refusing {reference}: it offers pickled files ({', '.join(pickles[:3])}{', ...' if len(pickles) > 3 else ''}), which can run code when loaded, "
            f"and colorgan reads only safetensors and JSON from the hub: {SHARE_HINT}"
        )
    missing = [name for name in EXPORT_FILES if name not in files]
    if missing:
        raise UserError(f"{reference} is not a colorgan export: it has no {' or '.join(missing)} ({SHARE_HINT})")


def targets(node: Any) -> Iterator[str]:
    """Every `_target_` (code Hydra would import and call) in a nested config."""
    if isinstance(node, dict):
        if isinstance(node.get("_target_"), str):
            yield node["_target_"]
        for value in node.values():
            yield from targets(value)
    elif isinstance(node, list):
        for value in node:
            yield from targets(value)


def check_config(reference: str, path: Path) -> None:
    """Refuse a hub config.json that is not JSON, or that names code outside colorgan and its model's package."""
    try:
        config = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise UserError(f"{reference}'s {EXPORT_CONFIG} is not JSON ({exc.__class__.__name__}): {SHARE_HINT}") from exc
    model_target = str(config.get("target", ""))
    packages = {"colorgan", model_target.split(".")[0]}
    foreign = sorted({t for t in (model_target, *targets(config.get("hyper_parameters"))) if t.split(".")[0] not in packages})
    if foreign:
        raise UserError(
            f"refusing {reference}: its {EXPORT_CONFIG} names code outside colorgan and its model's package ({', '.join(foreign)}), which would run when loaded"
        )


def check_can_push(repo_id: str) -> None:
    """Before anything is written: a valid repository id, the network allowed, and a token to push with."""
    from huggingface_hub import get_token

    check_repo_id(repo_id)
    if offline():
        raise UserError(
            "--push-to-hub needs the network and downloads are off (COLORGAN_OFFLINE/HF_HUB_OFFLINE): unset them to push, or export without --push-to-hub"
        )
    if not get_token():
        raise UserError("--push-to-hub needs a Hugging Face token with write access: log in with `hf auth login`, or set HF_TOKEN")


def push(folder: str | Path, repo_id: str, private: bool = False) -> str:
    """Upload an export folder (weights, config, ONNX, model card) to `repo_id`, creating the repository if need be;
    returns the commit's URL. `private` applies to a repository created here."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError
    from huggingface_hub.utils import httpx

    check_can_push(repo_id)
    api = HfApi()
    try:
        api.create_repo(repo_id, private=private, exist_ok=True)
        commit = api.upload_folder(
            repo_id=repo_id,
            folder_path=str(folder),
            allow_patterns=["*.json", "*.safetensors", "*.onnx", "README.md"],
            commit_message="colorgan-export: generator weights, config and model card",
        )
    except (HfHubHTTPError, httpx.HTTPError, OSError) as exc:
        raise UserError(
            f"could not push {folder} to {repo_id} ({one_line(exc)}): check that the token may write to {repo_id.split('/')[0]}, then run again"
        ) from exc
    return str(commit.commit_url)
