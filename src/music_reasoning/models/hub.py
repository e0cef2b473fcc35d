"""Hugging Face sources: ``hf.co/OWNER/REPO[:QUANT]`` as a model name.

The only module that talks to the Hub, always through ``huggingface_hub`` (which honours
``HF_ENDPOINT`` and ``HF_TOKEN``); our own downloader fetches the bytes.  A pull::

    parse_hub_spec("hf.co/OWNER/REPO:Q8_0")       pure: HubSpec(repo_id, "Q8_0")
      │  already pinned in models.toml?  ─── yes ──► store.pull downloads (or finds) it offline
      ▼ no
    locate(spec)                                  HfApi.model_info(files_metadata=True):
      │                                           the commit and every file's LFS sha256/size
      ├─ pick_file(files, "Q8_0")                 pure: the one .gguf naming that quantization
      ├─ get_hf_file_metadata(resolve URL)        HEAD: gated? the linked ETag (= sha256)
      ▼
    HubFile(url pinned to the commit, sha256, size)
      │  store.pull: download_model(url, headers=auth_headers(url)) into our store,
      │  verified before the file becomes visible
      ▼
    pin(remote)                                   models.toml: [models."hf.co/OWNER/REPO"]
                                                  variants.Q8_0 = {urls, sha256, size, filename}

Errors (all ours, each with a suggestion): a malformed spec or a quantization the
repository does not have is ``INVALID_INPUT`` (listing the ones it has); an unknown
repository is ``MODEL_UNAVAILABLE``; a gated or private one (HTTP 401/403) is
``DOWNLOAD_FAILED`` saying to set ``HF_TOKEN``; a network failure is ``DOWNLOAD_FAILED``.
The token is sent to the Hub's own origin only: never stored, never sent to a mirror,
and ``httpx`` drops it when the Hub redirects to its CDN.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from music_reasoning.errors import (
    DownloadError,
    InvalidInputError,
    ModelUnavailableError,
    MusicReasoningError,
)
from music_reasoning.redact import redact

__all__ = [
    "DEFAULT_QUANTIZATION",
    "HUB_PREFIX",
    "HubFile",
    "HubSpec",
    "RepoFile",
    "auth_headers",
    "endpoint",
    "explain_refusal",
    "hub_repo_of",
    "is_hub_spec",
    "locate",
    "parse_hub_spec",
    "pick_file",
    "quantizations",
]

logger = logging.getLogger(__name__)

HUB_PREFIX = "hf.co/"
"""How a Hub model is named in the registry: ``hf.co/OWNER/REPO``."""
DEFAULT_QUANTIZATION = "Q4_K_M"
"""The file picked when the spec names no quantization (as Ollama and llama.cpp do)."""

_PREFIXES = (HUB_PREFIX, "huggingface.co/")
_SEGMENT = r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9_])?"
_REPO_RE = re.compile(rf"^{_SEGMENT}/{_SEGMENT}$")
_TAG_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
# a quantization inside a file name: Q4_K_M, IQ3_XXS, Q8_0, F16, BF16 (bounded by - . / or ends)
_QUANT_IN_NAME = re.compile(
    r"(?<![A-Za-z0-9])((?:I?Q\d(?:_[A-Za-z0-9]+)*)|BF16|F16|F32|MXFP4)(?![A-Za-z0-9])",
    re.IGNORECASE,
)
_SHARD = re.compile(r"-(\d{5})-of-(\d{5})\.gguf$", re.IGNORECASE)
_TOKEN_HINT = (
    "If the repository is gated, accept its terms on its Hugging Face page; then create a "
    "read token (https://huggingface.co/settings/tokens) and set HF_TOKEN=hf_... "
    "(or run `hf auth login`)."
)


@dataclass(frozen=True)
class HubSpec:
    """A parsed ``hf.co/OWNER/REPO[:QUANT]``; ``quantization`` is ``None`` when not given."""

    repo_id: str
    quantization: str | None = None

    @property
    def name(self) -> str:
        """The registry name, ``hf.co/OWNER/REPO``."""
        return HUB_PREFIX + self.repo_id

    @property
    def wanted(self) -> str:
        """The quantization to pick: the one asked for, else :data:`DEFAULT_QUANTIZATION`."""
        return (self.quantization or DEFAULT_QUANTIZATION).upper()


@dataclass(frozen=True)
class RepoFile:
    """One file of a repository as the Hub lists it (``sha256`` only for LFS files)."""

    path: str
    size: int | None = None
    sha256: str | None = None


@dataclass(frozen=True)
class HubFile:
    """The file a pull fetches: where, what it must hash to, and what to pin."""

    repo_id: str
    quantization: str
    path: str  # in the repository
    url: str  # the resolve URL at ``revision`` (a commit): stable, so it can be pinned
    sha256: str
    size: int | None
    revision: str
    license: str | None = None
    context_length: int | None = None

    @property
    def name(self) -> str:
        """The registry name, ``hf.co/OWNER/REPO``."""
        return HUB_PREFIX + self.repo_id

    @property
    def filename(self) -> str:
        """The file's own name (the store keeps it, without the repository's folders)."""
        return self.path.rsplit("/", 1)[-1]


def is_hub_spec(spec: object) -> bool:
    """Whether ``spec`` names a Hugging Face model (``hf.co/…`` or ``huggingface.co/…``)."""
    return isinstance(spec, str) and spec.lower().startswith(_PREFIXES)


def parse_hub_spec(spec: str) -> HubSpec:
    """Split ``hf.co/OWNER/REPO[:QUANT]`` (``huggingface.co/`` is accepted too).

    Raises:
        InvalidInputError: not of that form, or the owner, repository or tag is not valid.
    """
    text = spec.strip()
    prefix = next((p for p in _PREFIXES if text.lower().startswith(p)), None)
    if prefix is None:
        raise _bad_spec(spec, "it does not start with hf.co/")
    rest = text[len(prefix) :]
    repo, sep, tag = rest.partition(":")
    if not _REPO_RE.match(repo) or "--" in repo or ".." in repo or len(repo) > 96:
        raise _bad_spec(spec, "OWNER/REPO must be two names of letters, digits, '-', '_', '.'")
    if sep and not _TAG_RE.match(tag):
        raise _bad_spec(spec, "the part after ':' must be a quantization such as Q4_K_M")
    return HubSpec(repo_id=repo, quantization=tag.upper() if sep else None)


def _bad_spec(spec: str, why: str) -> InvalidInputError:
    return InvalidInputError(
        f"{spec!r} is not a Hugging Face model name: {why}.",
        suggestion="Write hf.co/OWNER/REPO or hf.co/OWNER/REPO:QUANT, e.g. "
        "hf.co/bartowski/Qwen2.5-1.5B-Instruct-GGUF:Q4_K_M.",
        details={"spec": spec},
    )


def _quant_of(path: str) -> str | None:
    found = _QUANT_IN_NAME.findall(path.rsplit("/", 1)[-1])
    return found[-1].upper() if found else None


def _ggufs(files: Sequence[RepoFile]) -> list[RepoFile]:
    """Model GGUFs: not vision projectors (``mmproj``), not later shards of a split file."""
    out = []
    for f in files:
        base = f.path.rsplit("/", 1)[-1].lower()
        if not base.endswith(".gguf") or "mmproj" in base:
            continue
        shard = _SHARD.search(base)
        if shard and shard.group(1) != "00001":
            continue
        out.append(f)
    return out


def quantizations(files: Sequence[RepoFile]) -> list[str]:
    """The quantizations the repository's GGUF files are named after, sorted."""
    return sorted({q for f in _ggufs(files) if (q := _quant_of(f.path))})


def pick_file(files: Sequence[RepoFile], quantization: str, *, repo_id: str = "") -> RepoFile:
    """The GGUF file whose name contains ``quantization`` (case-insensitive, as a whole word).

    Among several, a file in the repository's root wins, then the shorter path.

    Raises:
        ModelUnavailableError: the repository has no GGUF file at all.
        InvalidInputError: no file has that quantization (the message lists those that
            exist), or it is split into parts (not supported).
    """
    ggufs = _ggufs(files)
    where = repo_id or "the repository"
    if not ggufs:
        raise ModelUnavailableError(
            f"{where} has no GGUF file.",
            suggestion="Use a repository of GGUF files (their names usually end in -GGUF), "
            "or convert the model with llama.cpp's convert_hf_to_gguf.py and "
            "`music-reasoning models add NAME --path FILE`.",
            details={"repo": repo_id},
        )
    word = re.compile(rf"(?<![A-Za-z0-9]){re.escape(quantization)}(?![A-Za-z0-9_])", re.I)
    matches = sorted(
        (f for f in ggufs if word.search(f.path.rsplit("/", 1)[-1])),
        key=lambda f: (f.path.count("/"), len(f.path), f.path),
    )
    if not matches:
        have = quantizations(files)
        spec = f"hf.co/{repo_id}" if repo_id else "hf.co/OWNER/REPO"
        raise InvalidInputError(
            f"{where} has no {quantization} file; it has: {', '.join(have) or 'none named'}.",
            suggestion="Pick one of them: "
            + (", ".join(f"{spec}:{q}" for q in have) if have else f"{spec}:QUANT")
            + ".",
            details={"repo": repo_id, "quantization": quantization, "available": have},
        )
    chosen = matches[0]
    if _SHARD.search(chosen.path):
        raise InvalidInputError(
            f"{chosen.path} in {where} is split into several files, which pulls do not join yet.",
            suggestion="Pick a quantization that is one file, or download the parts and "
            "merge them with llama-gguf-split --merge, then `models add NAME --path FILE`.",
            details={"repo": repo_id, "path": chosen.path},
        )
    return chosen


def endpoint() -> str:
    """The Hub's address: ``HF_ENDPOINT`` (read now, not at import), else huggingface.co."""
    from huggingface_hub import constants

    return (os.environ.get("HF_ENDPOINT") or constants.ENDPOINT).rstrip("/")


def _on_hub(url: str) -> bool:
    a, b = urlsplit(url), urlsplit(endpoint())
    return (a.scheme, a.netloc.lower()) == (b.scheme, b.netloc.lower())


def hub_repo_of(urls: Sequence[str]) -> str | None:
    """``OWNER/REPO`` when every URL is a file on the Hub (``…/OWNER/REPO/resolve/…``)."""
    if not urls or not all(_on_hub(u) for u in urls):
        return None
    parts = urlsplit(urls[0]).path.strip("/").split("/")
    return "/".join(parts[:2]) if len(parts) > 3 and parts[2] == "resolve" else None


def auth_headers(urls: Sequence[str]) -> dict[str, str]:
    """``Authorization`` from ``HF_TOKEN`` (or the saved token) when every URL is the Hub's.

    A URL elsewhere (a mirror, a user's own server) never gets the token.
    """
    if not urls or not all(_on_hub(u) for u in urls):
        return {}
    from huggingface_hub.utils import build_hf_headers  # type: ignore[attr-defined]

    headers = build_hf_headers()
    return {k: v for k, v in headers.items() if k.lower() == "authorization"}


def _token_set() -> bool:
    from huggingface_hub import get_token

    return get_token() is not None


def _access_denied(repo_id: str, status: int | None, reason: str) -> DownloadError:
    has_token = _token_set()
    why = "your token does not give access to it" if has_token else "no HF_TOKEN is set"
    return DownloadError(
        f"Hugging Face refused access to {repo_id} (HTTP {status}): it is gated or private "
        f"and {why}.",
        suggestion=_TOKEN_HINT,
        details={"repo": repo_id, "reason": reason, "hf_token_set": has_token},
        url=f"{endpoint()}/{repo_id}",
        status_code=status,
    )


def explain_refusal(exc: DownloadError, repo_id: str) -> MusicReasoningError:
    """A download refused with 401/403 from the Hub, as the error that says to set HF_TOKEN."""
    if exc.status_code in (401, 403):
        return _access_denied(repo_id, exc.status_code, "download refused")
    return exc


@contextmanager
def _hub_errors(repo_id: str) -> Iterator[None]:
    """Turn ``huggingface_hub`` and transport errors raised inside the block into ours."""
    import httpx2
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        OfflineModeIsEnabled,
        RemoteEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    name = HUB_PREFIX + repo_id
    try:
        yield
    except GatedRepoError as exc:
        raise _access_denied(repo_id, _status(exc), "gated") from exc
    except RepositoryNotFoundError as exc:
        status = _status(exc)
        hint = "Check OWNER/REPO on https://huggingface.co (the name is as in its URL)."
        if status == 401 and not _token_set():
            hint += " If the repository is private, set HF_TOKEN to a token that can read it."
        raise ModelUnavailableError(
            f"No Hugging Face repository {repo_id} (HTTP {status}).",
            suggestion=hint,
            details={"repo": repo_id, "status_code": status},
        ) from exc
    except (RevisionNotFoundError, RemoteEntryNotFoundError) as exc:
        raise ModelUnavailableError(
            f"{name}: the file or revision is no longer on the Hub (HTTP {_status(exc)}).",
            suggestion=f"Pull again to pick the repository's current file: "
            f"`music-reasoning models pull {name}`.",
            details={"repo": repo_id},
        ) from exc
    except HfHubHTTPError as exc:
        status = _status(exc)
        if status in (401, 403):
            raise _access_denied(repo_id, status, "refused") from exc
        raise DownloadError(
            f"The Hugging Face Hub answered HTTP {status} for {repo_id}.",
            suggestion="Try again later; if it persists, check HF_ENDPOINT.",
            details={"repo": repo_id},
            url=f"{endpoint()}/{repo_id}",
            status_code=status,
            transient=status is None or status >= 500 or status == 429,
        ) from exc
    except (OfflineModeIsEnabled, httpx2.HTTPError) as exc:
        raise DownloadError(
            f"Cannot reach the Hugging Face Hub at {endpoint()}: {type(exc).__name__}: "
            f"{redact(str(exc))}",
            suggestion="Check the network connection, HF_ENDPOINT and HF_HUB_OFFLINE, then "
            "run the command again (a started download resumes).",
            details={"repo": repo_id},
            url=endpoint(),
            transient=True,
        ) from exc


def _status(exc: Any) -> int | None:
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    return int(status) if isinstance(status, int) else None


def locate(spec: HubSpec, *, filename: str | None = None, revision: str = "main") -> HubFile:
    """Find the file to pull, its published SHA-256 and size, on the Hub.

    ``filename`` names the exact file (a curated registry entry); otherwise the GGUF
    matching ``spec``'s quantization is picked.

    Raises:
        InvalidInputError: no file of that quantization (those that exist are listed).
        ModelUnavailableError: no such repository, or no GGUF file in it.
        DownloadError: gated or private (set HF_TOKEN), or the Hub cannot be reached.
    """
    from huggingface_hub import HfApi, get_hf_file_metadata, hf_hub_url

    base = endpoint()
    with _hub_errors(spec.repo_id):
        info = HfApi(endpoint=base).model_info(spec.repo_id, revision=revision, files_metadata=True)
        files = [
            RepoFile(
                path=s.rfilename,
                size=s.lfs.size if s.lfs else s.size,
                sha256=s.lfs.sha256 if s.lfs else None,
            )
            for s in info.siblings or ()
        ]
        if filename is not None:
            chosen = next((f for f in files if f.path == filename), None)
            if chosen is None:
                raise ModelUnavailableError(
                    f"hf.co/{spec.repo_id} has no file {filename}.",
                    suggestion="The repository changed: pick a quantization with "
                    f"`music-reasoning models pull hf.co/{spec.repo_id}:QUANT`.",
                    details={"repo": spec.repo_id, "available": quantizations(files)},
                )
        else:
            chosen = pick_file(files, spec.wanted, repo_id=spec.repo_id)
        commit = info.sha or revision
        repo_id = info.id or spec.repo_id  # as the Hub spells it
        url = hf_hub_url(repo_id, chosen.path, revision=commit, endpoint=base)
        meta = get_hf_file_metadata(url, endpoint=base)
    published = (chosen.sha256 or meta.etag or "").lower()
    if not re.fullmatch(r"[0-9a-f]{64}", published) or (
        meta.etag and re.fullmatch(r"[0-9a-f]{64}", meta.etag) and meta.etag != published
    ):
        raise DownloadError(
            f"The Hub publishes no usable SHA-256 for {chosen.path} in {repo_id} "
            f"(listing {chosen.sha256!r}, linked ETag {meta.etag!r}).",
            suggestion="Only files stored with Git LFS carry a checksum to verify; "
            "download it yourself and `music-reasoning models add NAME --path FILE`.",
            details={"repo": repo_id, "path": chosen.path},
        )
    card = getattr(info, "card_data", None)
    license_ = getattr(card, "license", None) if card is not None else None
    gguf = info.gguf if isinstance(info.gguf, dict) else {}
    context = gguf.get("context_length")
    found = HubFile(
        repo_id=repo_id,
        quantization=spec.wanted
        if filename is None
        else (spec.quantization or _quant_of(chosen.path) or spec.wanted).upper(),
        path=chosen.path,
        url=url,
        sha256=published,
        size=chosen.size if chosen.size is not None else meta.size,
        revision=commit,
        license=str(license_) if isinstance(license_, str) else None,
        context_length=int(context) if isinstance(context, int) and context > 0 else None,
    )
    logger.info(
        "%s: %s (%s bytes, sha256 %s) at %s",
        found.name,
        found.path,
        found.size,
        found.sha256,
        commit,
    )
    return found
