"""Token sets of a word, for any tokenizer: which vocabulary entries can start writing the word.

The logit lens reads P(word) at one position as the probability mass of the word's token set T(w): every
vocabulary token whose bytes are a non-empty prefix of ``utf8(w)`` or of ``utf8(" " + w)`` (Wendler et al.
2024). Working on bytes makes one rule cover both tokenizer families:

- SentencePiece (LLaMA, Mistral): ``▁`` marks a word start (a space); byte-fallback pieces ``<0xE0>`` are
  single bytes, so the first byte of a Thai or Tamil character counts as a prefix of a word in that script.
- byte-level BPE (GPT-2, SmolLM2, Qwen): each token is a string over the GPT-2 byte alphabet (``Ġ`` = space).
"""

from __future__ import annotations

import re
from collections import defaultdict

_BYTE_PIECE = re.compile(r"^<0x([0-9A-Fa-f]{2})>$")
SPIECE_MARKER = "\u2581"  # ▁


def _gpt2_byte_decoder() -> dict[str, int]:
    """Inverse of GPT-2's ``bytes_to_unicode``: the printable stand-in character of each byte, to the byte."""
    printable = (
        list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    )
    codes = printable[:]
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            codes.append(256 + extra)
            extra += 1
    return {chr(code): byte for byte, code in zip(printable, codes)}


def is_byte_level(tokenizer) -> bool:
    """Whether the tokenizer's pieces are GPT-2 byte-alphabet strings (its decoder is ByteLevel)."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None and backend.decoder is not None:
        return "ByteLevel" in str(backend.decoder)
    return hasattr(tokenizer, "byte_decoder")


def vocab_bytes(tokenizer) -> list[bytes | None]:
    """The bytes each token id writes; ``None`` for special and added tokens (never part of a word).

    Returns:
        One entry per id in ``range(len(tokenizer))``. A word-start marker becomes a leading space.
    """
    size = len(tokenizer)
    pieces = tokenizer.convert_ids_to_tokens(list(range(size)))
    skip = set(tokenizer.all_special_ids) | set(getattr(tokenizer, "added_tokens_decoder", {}) or {})
    out: list[bytes | None] = []
    if is_byte_level(tokenizer):
        decoder = _gpt2_byte_decoder()
        for idx, piece in enumerate(pieces):
            if idx in skip or piece is None or any(ch not in decoder for ch in piece):
                out.append(None)
            else:
                out.append(bytes(decoder[ch] for ch in piece))
        return out
    for idx, piece in enumerate(pieces):
        if idx in skip or piece is None:
            out.append(None)
            continue
        byte = _BYTE_PIECE.match(piece)
        out.append(bytes([int(byte.group(1), 16)]) if byte else piece.replace(SPIECE_MARKER, " ").encode("utf-8"))
    return out


class TokenSets:
    """T(w) for one tokenizer; the vocabulary is read once and indexed by bytes."""

    def __init__(self, tokenizer) -> None:
        self._by_bytes: dict[bytes, list[int]] = defaultdict(list)
        for idx, raw in enumerate(vocab_bytes(tokenizer)):
            # A token that is only whitespace (a bare "▁" or "Ġ") is a prefix of every word: not evidence of one.
            if raw and raw.strip():
                self._by_bytes[raw].append(idx)

    def of(self, word: str) -> list[int]:
        """Sorted ids of every token whose bytes are a non-empty prefix of ``word`` or of ``" " + word``."""
        word = word.strip()
        ids: set[int] = set()
        for text in (word, " " + word):
            raw = text.encode("utf-8")
            for end in range(1, len(raw) + 1):
                ids.update(self._by_bytes.get(raw[:end], ()))
        return sorted(ids)
