"""What a model *is*, for the results store: a hub id and revision, or the content hash of a local folder.

Two records of "the same" model name but different weights are different results, so a record carries
the model's identity, not just its display name. A local folder is identified by the SHA-256 of every
file's name, size and bytes; the per-file hashes are cached on disk keyed by (path, size, mtime), so a
folder of several GB is read once, not on every run (a 540 MB model takes about a second the first time).
Names and sizes alone would not do: two fine-tunes of one architecture have identical safetensors headers.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
from pathlib import Path
from typing import Any

from prom_bench.fileio import write_json_atomic
from prom_bench.paths import cache_dir

CACHE_FILE = "file-hashes.json"
# Files that say nothing about the weights or the tokenizer (cards and run logs written beside them).
IGNORED = {"README.md", "train_log.jsonl", "card.json"}
_CHUNK = 1 << 22


def _cache_path() -> Path:
    return cache_dir() / CACHE_FILE


def _read_cache() -> dict[str, Any]:
    try:
        return json.loads(_cache_path().read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}


def file_hash(path: Path, cache: dict[str, Any] | None = None) -> str:
    """SHA-256 of one file's bytes; taken from ``cache`` when its size and mtime are unchanged."""
    stat = path.stat()
    key = str(path.resolve())
    entry = (cache or {}).get(key)
    if entry and entry.get("size") == stat.st_size and entry.get("mtime_ns") == stat.st_mtime_ns:
        return entry["sha256"]
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(_CHUNK):
            digest.update(block)
    value = digest.hexdigest()
    if cache is not None:
        cache[key] = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": value}
    return value


def folder_hash(folder: Path) -> str:
    """Content hash of a model (or adapter) folder: every file's relative name and SHA-256, in name order.

    Hidden files and cards/logs (``IGNORED``) are left out, so writing a card beside the weights does not
    change what the weights are.
    """
    folder = Path(folder)
    files = sorted(
        p
        for p in folder.rglob("*")
        if p.is_file()
        and p.name not in IGNORED
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
        and "checkpoints" not in p.relative_to(folder).parts
    )
    lock = cache_dir() / f".{CACHE_FILE}.lock"
    with open(lock, "w") as handle:  # parallel workers share the cache file
        fcntl.flock(handle, fcntl.LOCK_EX)
        cache = _read_cache()
        before = dict(cache)
        digest = hashlib.sha256()
        for path in files:
            digest.update(f"{path.relative_to(folder).as_posix()}\0{file_hash(path, cache)}\n".encode())
        if cache != before:
            write_json_atomic(_cache_path(), cache)
    return digest.hexdigest()


def identity(ref: Any, *, adapter: str | Path | None = None, name: str | None = None) -> dict[str, Any]:
    """The identity of a resolved model (``models.ModelRef``), optionally with an adapter on top.

    Returns:
        ``{"name", "source": "local"|"hub", "hub_id", "revision", "content_hash", "adapter_hash", "key"}``;
        ``key`` is a short hash of the base model's identity (two names for one model are one model), and
        ``name`` is the user-given name when there is one, else the resolved display name.
    """
    path = Path(ref.path)
    local = path.is_dir()
    out: dict[str, Any] = {
        "name": name or ref.display,
        "source": "local" if local else "hub",
        "hub_id": None if local else ref.path,
        "revision": getattr(ref, "revision", None),
        "content_hash": folder_hash(path) if local else None,
        "adapter_hash": folder_hash(Path(adapter)) if adapter else None,
    }
    # The adapter is identified by the record's training settings and seed (it is recorded here as provenance):
    # keyed on it, every seed's adapter would be another model and seeds could never be aggregated.
    keyed = {k: v for k, v in out.items() if k not in ("name", "adapter_hash")}
    out["key"] = hashlib.sha256(json.dumps(keyed, sort_keys=True).encode()).hexdigest()[:10]
    return out
