"""Atomic file writes: a reader (or a run killed midway) sees the old file or the new one, never a part."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any


def write_text_atomic(path: Path, text: str, *, fsync: bool = False) -> Path:
    """Write ``text`` to a hidden temp file beside ``path``, then rename it over ``path``.

    ``fsync`` also forces the bytes to disk before the rename (for records that must survive a crash).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            if fsync:
                handle.flush()
                os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; results and caches are as readable as other files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_json_atomic(path: Path, data: Any, *, indent: int = 1, fsync: bool = False, **dumps: Any) -> Path:
    """``data`` as UTF-8 JSON, atomically (see ``write_text_atomic``)."""
    return write_text_atomic(path, json.dumps(data, ensure_ascii=False, indent=indent, **dumps) + "\n", fsync=fsync)
