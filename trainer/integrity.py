"""Is a saved file whole? Checked before a checkpoint or a cached model is trusted.

A process killed while writing, or a full disk, can leave a truncated file under a final name when the
writer did not stage it (or when it was copied by hand). A truncated safetensors file fails deep inside a
load with a traceback; its header says how long it must be, so a cheap check catches it first.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path


def safetensors_problem(path: Path) -> str | None:
    """None when ``path`` is a complete safetensors file, else what is wrong with it (one short phrase)."""
    path = Path(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as handle:
            head = handle.read(8)
            if len(head) < 8:
                return f"{path.name} is truncated ({size} bytes)"
            (header_len,) = struct.unpack("<Q", head)
            if header_len > size - 8:
                return f"{path.name} is truncated (its header alone needs {header_len} bytes, the file has {size})"
            header = json.loads(handle.read(header_len))
    except FileNotFoundError:
        return f"{path.name} is missing"
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        return f"{path.name} is unreadable ({type(exc).__name__})"
    if not isinstance(header, dict):
        return f"{path.name} has no tensor table"
    ends = [t["data_offsets"][1] for k, t in header.items() if k != "__metadata__" and isinstance(t, dict)]
    needed = 8 + header_len + max(ends, default=0)
    if size < needed:
        return f"{path.name} is truncated ({size} of {needed} bytes)"
    return None
