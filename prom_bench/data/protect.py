"""Keeping code and placeholders out of machine translation.

Alpaca outputs contain fenced code blocks, inline code and template placeholders (``{name}``,
``%s``, ``<noun>``) that a translator would happily translate. A text is split into pieces: protected
pieces are never sent; the prose between them is. Inline placeholders stay inside their sentence as
numbered markers (``[#0]``) so the sentence is translated whole; when the translator damages a marker
the sentence is translated piece by piece instead, so protected text always comes back byte for byte.
"""

from __future__ import annotations

import re
from collections.abc import Callable

# Fenced code blocks are cut out entirely (never sent).
FENCE = re.compile(r"```.*?(?:```|\Z)", re.S)
# Inline spans kept verbatim inside a translated sentence.
INLINE = re.compile(
    r"`[^`\n]+`|\{\{[^{}\n]*\}\}|\{[A-Za-z_][A-Za-z0-9_]*\}|%[sd]|<[A-Za-z][A-Za-z0-9_ ]*>|https?://\S+"
)
MARKER = re.compile(r"\[#(\d+)\]")


def split_fences(text: str) -> list[tuple[bool, str]]:
    """``[(translate?, piece), ...]`` covering ``text`` exactly; code fences are ``(False, fence)``."""
    pieces, pos = [], 0
    for match in FENCE.finditer(text):
        if match.start() > pos:
            pieces.append((True, text[pos : match.start()]))
        pieces.append((False, match.group(0)))
        pos = match.end()
    if pos < len(text):
        pieces.append((True, text[pos:]))
    return pieces


def mask(prose: str) -> tuple[str, list[str]]:
    """Replace inline spans by ``[#i]`` markers; returns the masked text and the spans."""
    spans: list[str] = []

    def keep(match: re.Match) -> str:
        spans.append(match.group(0))
        return f"[#{len(spans) - 1}]"

    return INLINE.sub(keep, prose), spans


def unmask(translated: str, spans: list[str]) -> str | None:
    """Put the spans back; None when a marker is missing, repeated or invented by the translator."""
    found = [int(i) for i in MARKER.findall(translated)]
    if sorted(found) != list(range(len(spans))):
        return None
    return MARKER.sub(lambda m: spans[int(m.group(1))], translated)


def segments(text: str) -> list[str]:
    """The strings a translator must see for ``text`` (masked prose with the whitespace around it trimmed)."""
    out = []
    for translatable, piece in split_fences(text):
        if translatable and piece.strip():
            out.append(mask(piece.strip())[0])
    return out


def fallback_segments(masked: str) -> list[str]:
    """Prose pieces between markers, for when a translator damaged the markers of ``masked``."""
    return [p.strip() for p in MARKER.split(masked)[::2] if p.strip()]


def rebuild(text: str, translate: Callable[[str], str]) -> str:
    """``text`` with its prose replaced by ``translate(segment)`` and everything protected left as is.

    ``translate`` maps a segment from ``segments()`` / ``fallback_segments()`` to its translation (a
    cache lookup); leading and trailing whitespace of each piece is kept, so layout survives.
    """
    out = []
    for translatable, piece in split_fences(text):
        if not translatable or not piece.strip():
            out.append(piece)
            continue
        lead = piece[: len(piece) - len(piece.lstrip())]
        trail = piece[len(piece.rstrip()) :]
        masked, spans = mask(piece.strip())
        restored = unmask(translate(masked), spans)
        if restored is None:
            restored = _piecewise(masked, spans, translate)
        out.append(lead + restored + trail)
    return "".join(out)


def _piecewise(masked: str, spans: list[str], translate: Callable[[str], str]) -> str:
    parts = MARKER.split(masked)  # prose, index, prose, index, ...
    out = []
    for i, part in enumerate(parts):
        if i % 2:
            out.append(spans[int(part)])
        elif part.strip():
            lead = part[: len(part) - len(part.lstrip())]
            trail = part[len(part.rstrip()) :]
            out.append(lead + translate(part.strip()) + trail)
        else:
            out.append(part)
    return "".join(out)
