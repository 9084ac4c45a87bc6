"""Where an ``hf:`` / ``st:`` model's weights are, what they are, and what they embed - without
importing torch, and without any network access unless the user allows downloads.

:func:`locate` turns a model id into :class:`Weights`: a folder, its revision (the Hugging Face
cache's commit hash of the snapshot, or ``sha256:`` of a folder's files) and the item kinds the
model embeds (from its configuration). Missing weights are a :class:`MissingWeights` error naming
the id, where embedsim looked and how to get them.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from embedsim.errors import InputError

#: Set to ``1`` to let embedsim download missing weights from the Hugging Face Hub (never when
#: ``HF_HUB_OFFLINE`` or ``TRANSFORMERS_OFFLINE`` is set).
ALLOW_DOWNLOAD_ENV = "EMBEDSIM_ALLOW_DOWNLOAD"
OFFLINE_ENV = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
#: A Hugging Face repo id: ``name`` or ``owner/name`` (letters, digits, ``-``, ``_``, ``.``).
REPO_ID = re.compile(r"[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?")
COMMIT = re.compile(r"[0-9a-f]{40}")
#: Files that do not define a model: left out of a folder's content hash.
_NOT_MODEL = re.compile(r"(?i).*\.(md|txt\.lock|lock)$|readme.*|license.*")
LIBRARIES = {"hf": "transformers", "st": "sentence-transformers"}


class MissingWeights(InputError):
    """No weights for a model id where embedsim looked (and nothing was downloaded)."""


@dataclass(frozen=True)
class Weights:
    """A located model: ``folder`` holds its files; ``repo_id`` is set for the cache."""

    model_id: str
    family: str
    folder: Path
    repo_id: str | None
    revision: str
    modalities: frozenset[str]

    @property
    def source(self) -> str:
        """``Hugging Face cache: owner/name`` or ``folder: /path``."""
        return f"Hugging Face cache: {self.repo_id}" if self.repo_id else f"folder: {self.folder}"


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def offline() -> bool:
    """True when the environment forbids the Hub (``HF_HUB_OFFLINE``, ``TRANSFORMERS_OFFLINE``)."""
    return any(_flag(name) for name in OFFLINE_ENV)


def cache_dir() -> Path:
    """The Hugging Face hub cache as the environment says now: ``HF_HUB_CACHE``, else
    ``HF_HOME/hub``, else ``$XDG_CACHE_HOME/huggingface/hub`` or ``~/.cache/huggingface/hub``."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    base = Path(os.environ["XDG_CACHE_HOME"]).expanduser() if os.environ.get("XDG_CACHE_HOME") else Path.home() / ".cache"
    return base / "huggingface" / "hub"


def split_id(model_id: str) -> tuple[str, str]:
    """``("hf", "openai/clip-vit-base-patch32")`` for ``hf:openai/clip-vit-base-patch32``."""
    family, sep, ref = model_id.partition(":")
    if not sep or family not in LIBRARIES or not ref.strip():
        raise InputError(f"{model_id!r} is not an open-weights model id: write hf:<repo id or folder> "
                         "(transformers) or st:<repo id or folder> (sentence-transformers)")
    return family, ref


def _is_path(ref: str) -> bool:
    return ref.startswith(("/", "./", "../", "~", ".\\")) or ref in (".", "..") or not REPO_ID.fullmatch(ref)


def param_id(model_id: str) -> str:
    """A test-parameter id of ``model_id`` that syrupy keeps whole as a snapshot file name:
    readable and collision-free. ``hf:openai/clip-vit-base-patch32`` -> ``hf_openai--clip-vit-base-patch32``
    (``--`` cannot occur in a repo id); a folder -> ``hf_<folder name>-<8 hex of the whole id>``."""
    family, ref = model_id.partition(":")[::2]
    if REPO_ID.fullmatch(ref) and "--" not in ref and not Path(ref).expanduser().is_dir():
        return f"{family}_{ref.replace('/', '--')}"
    name = re.sub(r"[^\w.-]+", "-", Path(ref.rstrip("/\\")).name or "folder").strip("-") or "folder"
    return f"{family}_{name}-{hashlib.sha256(model_id.encode('utf-8')).hexdigest()[:8]}"


def locate(model_id: str, *, download: bool | None = None) -> Weights:
    """The weights of ``model_id`` (see the module docstring); :class:`MissingWeights` if none.

    ``download``: allow fetching a repo id missing from the cache (default: ``EMBEDSIM_ALLOW_DOWNLOAD``);
    ignored when the environment is offline."""
    family, ref = split_id(model_id)
    path = Path(ref).expanduser()
    if path.is_dir() or _is_path(ref):
        if not path.is_dir():
            raise MissingWeights(f"{model_id}: no folder {path.resolve()} (a model id naming a folder uses it as "
                                 f"it is; a repo id is written owner/name)")
        folder = path.resolve()
        return _describe(model_id, family, folder, None, folder_revision(folder))
    allowed = (_flag(ALLOW_DOWNLOAD_ENV) if download is None else download) and not offline()
    cache = cache_dir()
    candidates = [ref] + ([f"sentence-transformers/{ref}"] if family == "st" and "/" not in ref else [])
    for repo_id in candidates:
        snapshot = cached_snapshot(cache, repo_id)
        if snapshot is not None:
            return _describe(model_id, family, snapshot, repo_id, snapshot.name)
    if allowed:
        from huggingface_hub import snapshot_download

        snapshot = Path(snapshot_download(candidates[-1] if "/" not in ref else ref, cache_dir=str(cache)))
        return _describe(model_id, family, snapshot, ref, snapshot.name)
    raise MissingWeights(missing_message(model_id, family, candidates, cache))


def missing_message(model_id: str, family: str, candidates: list[str], cache: Path) -> str:
    looked = " and ".join(str(cache / repo_folder(r)) for r in candidates)
    repo_id = candidates[-1] if len(candidates) > 1 else candidates[0]
    return (f"{model_id}: no weights in the Hugging Face cache (looked for {looked}, and for a folder "
            f"{Path(candidates[0]).expanduser().resolve()}); embedsim never downloads them on its own. On a machine "
            f"with a network run `hf download {repo_id}` (huggingface_hub's command; add --cache-dir DIR to choose "
            f"where) and copy that cache here, point HF_HOME (or HF_HUB_CACHE) at a cache that holds it, or use a "
            f"folder of its files: {family}:/path/to/{repo_id.rpartition('/')[2]}. "
            f"{ALLOW_DOWNLOAD_ENV}=1 lets embedsim download it"
            + (" (not now: HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE is set)." if offline() else "."))


def repo_folder(repo_id: str) -> str:
    """The cache's folder of a model repo: ``models--owner--name``."""
    return "models--" + repo_id.replace("/", "--")


def cached_snapshot(cache: Path, repo_id: str, revision: str = "main") -> Path | None:
    """The cached snapshot folder of ``repo_id`` at ``revision`` (a branch in ``refs/`` or a
    commit), read from the cache's layout alone; ``None`` when it is not there."""
    repo = cache / repo_folder(repo_id)
    ref = repo / "refs" / revision
    commit = ref.read_text(encoding="utf-8").strip() if ref.is_file() else revision
    snapshot = repo / "snapshots" / commit
    return snapshot if COMMIT.fullmatch(commit) and snapshot.is_dir() else None


def folder_revision(folder: Path) -> str:
    """``sha256:<16 hex>`` of a folder's model files: every file below it (relative path and
    bytes) but hidden ones, READMEs, licences and ``*.md``. Cached per file sizes and times."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and not _NOT_MODEL.fullmatch(p.name)
                   and not any(part.startswith(".") for part in p.relative_to(folder).parts))
    stamp = tuple((p.relative_to(folder).as_posix(), p.stat().st_size, p.stat().st_mtime_ns) for p in files)
    return _hash_files(folder, stamp)


@lru_cache(maxsize=32)
def _hash_files(folder: Path, stamp: tuple[tuple[str, int, int], ...]) -> str:
    digest = hashlib.sha256()
    for relative, _size, _time in stamp:
        digest.update(relative.encode("utf-8") + b"\0")
        with open(folder / relative, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        digest.update(b"\0")
    return "sha256:" + digest.hexdigest()[:16]


def _describe(model_id: str, family: str, folder: Path, repo_id: str | None, revision: str) -> Weights:
    return Weights(model_id, family, folder, repo_id, revision, modalities(family, folder))


def _json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def modalities(family: str, folder: Path) -> frozenset[str]:
    """The kinds a model embeds, from its files: a transformers model with a ``vision_config``
    embeds images (and texts with a ``text_config``); a sentence-transformers model embeds texts,
    and images when one of its modules is a ``CLIPModel``."""
    if family == "st":
        try:
            listed = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            listed = []
        types = [str(m.get("type", "")) for m in listed if isinstance(m, dict)] if isinstance(listed, list) else []
        return frozenset({"text", "image"}) if any(t.endswith("CLIPModel") for t in types) else frozenset({"text"})
    config = _json(folder / "config.json")
    kinds = {"image"} if "vision_config" in config else set()
    if "text_config" in config or not kinds:
        kinds.add("text")
    return frozenset(kinds)
