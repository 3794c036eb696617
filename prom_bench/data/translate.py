"""Translating Alpaca records (instruction, input, output) through a backend, with a cache and progress.

Only segments missing from the cache are sent, in batches; each batch is written to the cache as soon
as it returns. A run killed midway and started again sends exactly the segments that are still
missing. Code blocks and placeholders never reach the backend (``prom_bench.data.protect``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from prom_bench.data import protect
from prom_bench.data.cache import TranslationCache
from prom_bench.data.files import INSTRUCTION_FIELDS
from prom_bench.fileio import output, write_text_atomic

SOURCE_LANG = "en"


def needed_segments(records: list[dict]) -> list[str]:
    """Every distinct string to translate, in first-seen order, including the piecewise fallbacks' pieces later."""
    seen: dict[str, None] = {}
    for record in records:
        for name in INSTRUCTION_FIELDS:
            for segment in protect.segments(record[name]):
                seen.setdefault(segment, None)
    return list(seen)


def _run_batches(
    texts: list[str], lang: str, backend, cache: TranslationCache, progress: Callable[[int, int], None] | None
) -> None:
    batch_size = max(1, int(getattr(backend, "batch_size", 32)))
    done = 0
    for start in range(0, len(texts), batch_size):
        batch = texts[start : start + batch_size]
        translated = backend.translate(batch, SOURCE_LANG, lang)
        cache.put_many(list(zip(batch, translated)))
        done += len(batch)
        if progress:
            progress(done, len(texts))


def translate_records(
    records: list[dict],
    lang: str,
    backend,
    *,
    cache: TranslationCache | None = None,
    progress: Callable[[int, int], None] | None = None,
    console: Console | None = None,
) -> list[dict]:
    """The records with instruction, input and output translated into ``lang``; ids kept.

    Args:
        records: ``{"id", "instruction", "input", "output"}`` dicts in English.
        lang: target language code.
        backend: from ``prom_bench.data.backends.make_backend``.
        cache: defaults to the backend's cache under ``cache_dir()/translate``.
        progress: called as ``progress(done, total)`` after every batch; when None a rich bar with ETA
            is shown on ``console`` (stderr by default).

    Returns:
        New records ``{"id", "instruction", "input", "output"}`` in ``lang``.
    """
    cache = cache or TranslationCache(backend.id, lang)
    missing = [s for s in needed_segments(records) if s not in cache]

    def translate_all(texts: list[str]) -> None:
        if not texts:
            return
        if progress is not None:
            _run_batches(texts, lang, backend, cache, progress)
            return
        columns = (
            TextColumn("translating en->{task.fields[lang]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("segments"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=console or Console(stderr=True), transient=False) as bar:
            task = bar.add_task("translate", total=len(texts), lang=lang)
            _run_batches(texts, lang, backend, cache, lambda done, total: bar.update(task, completed=done))

    translate_all(missing)
    # Sentences whose markers the backend damaged are translated piece by piece: fetch those pieces too.
    fallback: dict[str, None] = {}
    for segment in needed_segments(records):
        masked_spans = protect.MARKER.findall(segment)
        if masked_spans and protect.unmask(cache.get(segment), [""] * len(masked_spans)) is None:
            for piece in protect.fallback_segments(segment):
                if piece not in cache:
                    fallback.setdefault(piece, None)
    translate_all(list(fallback))
    return [
        {"id": r["id"], **{name: protect.rebuild(r[name], cache.get) for name in INSTRUCTION_FIELDS}} for r in records
    ]


def write_jsonl(records: list[dict], path: Path, *, overwrite: bool = True) -> Path:
    """Write records as JSON Lines atomically; ``overwrite=False`` refuses an existing file (``fileio.output``)."""
    text = "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)
    if overwrite:
        return write_text_atomic(path, text)
    with output(path, kind="file") as staged:
        staged.write_text(text, encoding="utf-8")
    return Path(path)
