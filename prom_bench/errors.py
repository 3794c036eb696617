"""Errors a user can cause.

Anything the user can get wrong (a name, a path, a value) raises ``UserError`` with one line that names
the bad value and what would be valid. The CLI prints that line and exits 2, with no traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class UserError(Exception):
    """A mistake in the user's input: one line, shown as is, exit code 2."""

    exit_code = 2


def unknown(kind: str, value: str, valid: Iterable[str]) -> UserError:
    """``unknown method 'prm' (did you mean 'prom'?); valid: base, t, t+e, prom, prom-noreg``."""
    valid = list(valid)
    close = difflib.get_close_matches(value, valid, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return UserError(f"unknown {kind} '{value}'{hint}; valid: {', '.join(valid)}")
