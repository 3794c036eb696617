"""A content-addressed, append-only translation cache: nothing is ever paid for twice.

Key = SHA-256 of (backend id, source language, target language, segment). Entries are appended to one
JSON Lines file per (backend, target language) and flushed to disk after every batch, so a crash or a
kill loses at most the batch in flight; a torn last line (killed mid-write) is ignored on reading.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from prom_bench.fileio import warn
from prom_bench.paths import cache_dir


def segment_key(backend_id: str, source_lang: str, target_lang: str, text: str) -> str:
    payload = json.dumps([backend_id, source_lang, target_lang, text], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class TranslationCache:
    """Translations of one backend into one language; ``get``/``put_many`` by segment text."""

    def __init__(self, backend_id: str, target_lang: str, source_lang: str = "en", root: Path | None = None):
        self.backend_id, self.source_lang, self.target_lang = backend_id, source_lang, target_lang
        root = Path(root) if root is not None else cache_dir() / "translate"
        slug = hashlib.sha256(backend_id.encode()).hexdigest()[:12]
        self.path = root / f"{source_lang}-{target_lang}.{slug}.jsonl"
        self._entries: dict[str, str] = {}
        if self.path.is_file():
            lines = self.path.read_bytes().splitlines()
            damaged = 0
            for number, line in enumerate(lines, 1):
                try:
                    entry = json.loads(line.decode("utf-8"))
                    if not (isinstance(entry, dict) and isinstance(entry.get("key"), str)):
                        raise ValueError("not an entry")
                    if not isinstance(entry.get("target"), str):
                        raise ValueError("not an entry")
                except ValueError:  # JSON and UTF-8 errors are ValueErrors too
                    damaged += number < len(lines)  # a torn last line is the normal trace of a killed run
                    continue  # never trusted: the segment is translated again
                self._entries[entry["key"]] = entry["target"]
            if damaged:
                warn(f"translation cache {self.path}: {damaged} damaged line(s) ignored; those segments are redone")

    def key(self, text: str) -> str:
        return segment_key(self.backend_id, self.source_lang, self.target_lang, text)

    def get(self, text: str) -> str | None:
        return self._entries.get(self.key(text))

    def __contains__(self, text: str) -> bool:
        return self.key(text) in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def put_many(self, pairs: list[tuple[str, str]]) -> None:
        """Record ``(segment, translation)`` pairs and make them durable before returning."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        torn = False
        if self.path.is_file() and self.path.stat().st_size:
            with self.path.open("rb") as handle:
                handle.seek(-1, os.SEEK_END)
                torn = handle.read(1) != b"\n"
        with self.path.open("a", encoding="utf-8") as handle:
            if torn:
                handle.write("\n")  # end a line torn by a killed run, so the next entry stays readable
            for text, target in pairs:
                key = self.key(text)
                self._entries[key] = target
                handle.write(json.dumps({"key": key, "source": text, "target": target}, ensure_ascii=False) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
