"""Files that lose nothing, leave nothing half-done and trust nothing they read back.

One mechanism for every write: the bytes go to a fresh, hidden staging place beside the destination
(``.<name>.stage-<pid>-<random>``) and are moved into place only when complete, so a reader, or a run killed
midway, sees the old file or the new one, never a part. A stage whose process is gone (a ``kill -9``) is
removed by the next writer of the same destination.

- ``stage``: the staging place itself (a file or a folder), moved onto the destination on success.
- ``write_text_atomic`` / ``write_json_atomic``: internal files (caches, markers) replaced whole.
- ``write_once``: exclusive create, for records that must exist once whatever the concurrency.
- ``output``: a path the user named (``--out``): refused when it would replace their files without
  ``--overwrite``, or when it is a symlink, a device or under a missing folder (one line, exit 2).
- ``check_writable``: a destination probed before any work starts.
- ``read_json_checked``: caches and markers validated on read; a bad one is reported and treated as absent.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import os
import shutil
import stat
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

from prom_bench.errors import UserError

Kind = Literal["file", "dir"]
_STAGE = ".stage-"


# ------------------------------------------------------------------------------------------------ staging
def _stage_name(dest: Path) -> str:
    return f".{dest.name}{_STAGE}{os.getpid()}-{uuid.uuid4().hex[:8]}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def clean_stale_stages(dest: Path) -> None:
    """Remove the stages of ``dest`` left by processes that no longer exist (a kill mid-write)."""
    dest = Path(dest)
    if not dest.parent.is_dir():
        return
    for leftover in dest.parent.glob(f".{dest.name}{_STAGE}*"):
        pid = _stage_pid(leftover)
        if pid is not None and not _alive(pid):
            _remove(leftover)


def _stage_pid(staged: Path) -> int | None:
    """The writer's pid in a stage's name (``.<name>.stage-<pid>-<random>``), None for any other name."""
    pid = staged.name.rsplit(_STAGE, 1)[-1].split("-", 1)[0]
    return int(pid) if _STAGE in staged.name and pid.isdigit() else None


def remove_stages_of(folders: list[Path], pids: set[int]) -> None:
    """Remove every stage under ``folders`` that one of ``pids`` left: processes killed mid-write (a run's
    workers when the run stops), whose stages would otherwise wait for the next write of the same file."""
    for folder in folders:
        if not Path(folder).is_dir():
            continue
        for leftover in Path(folder).rglob(f".*{_STAGE}*"):
            if _stage_pid(leftover) in pids:
                _remove(leftover)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


_RENAME_NOREPLACE = 1
_AT_FDCWD = -100


def _rename_noreplace(src: Path, dst: Path) -> None:
    """Rename that fails with ``FileExistsError`` when ``dst`` exists (also when it appears meanwhile)."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = getattr(libc, "renameat2", None)
        if renameat2 is not None:
            if renameat2(_AT_FDCWD, os.fsencode(src), _AT_FDCWD, os.fsencode(dst), _RENAME_NOREPLACE) == 0:
                return
            code = ctypes.get_errno()
            if code == errno.EEXIST:
                raise FileExistsError(code, os.strerror(code), str(dst))
            if code not in (errno.EINVAL, errno.ENOSYS):  # EINVAL/ENOSYS: the file system lacks the flag
                raise OSError(code, os.strerror(code), str(dst))
    if src.is_dir():
        if dst.exists() or dst.is_symlink():
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(dst))
        os.rename(src, dst)
    else:
        os.link(src, dst)  # a hard link never replaces: exclusive create
        os.unlink(src)


def _commit(staged: Path, dest: Path, *, replace: bool | Literal["empty"]) -> None:
    if replace == "empty" and dest.is_dir() and not dest.is_symlink():
        try:  # POSIX renames a folder over an empty one atomically, and refuses a non-empty one
            os.rename(staged, dest)
        except OSError as exc:
            if exc.errno in (errno.ENOTEMPTY, errno.EEXIST):
                raise FileExistsError(exc.errno, exc.strerror, str(dest)) from None
            raise
        return
    if replace is not True:
        _rename_noreplace(staged, dest)
        return
    if staged.is_dir() and (dest.exists() or dest.is_symlink()):
        # a folder cannot be renamed over a non-empty one: move the old aside, put the new in, drop the old
        old = dest.with_name(_stage_name(dest) + ".old")
        os.rename(dest, old)
        os.rename(staged, dest)
        _remove(old)
    else:
        os.replace(staged, dest)


@contextlib.contextmanager
def stage(
    dest: Path, *, kind: Kind = "file", replace: bool | Literal["empty"] = True, parents: bool = True
) -> Iterator[Path]:
    """A fresh staging place beside ``dest``; when the block ends without error it is moved onto ``dest``.

    Args:
        kind: ``"file"`` (the staged path does not exist yet; write it) or ``"dir"`` (an empty folder).
        replace: replace an existing ``dest`` (internal files); False raises ``FileExistsError`` instead,
            atomically, even against a concurrent writer; ``"empty"`` replaces only an empty folder.
        parents: create ``dest``'s missing parent folders.
    On an error (or a signal turned into an exception) the stage is removed and ``dest`` is untouched.
    """
    dest = Path(dest)
    if parents:
        dest.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_stages(dest)
    staged = dest.with_name(_stage_name(dest))
    if kind == "dir":
        staged.mkdir(mode=0o755)
    try:
        yield staged
        _commit(staged, dest, replace=replace)
    except BaseException:
        _remove(staged)
        raise


def _write_bytes(path: Path, data: bytes, *, fsync: bool) -> None:
    with open(path, "xb") as handle:
        handle.write(data)
        if fsync:
            handle.flush()
            os.fsync(handle.fileno())


@contextlib.contextmanager
def _naming(path: Path) -> Iterator[None]:
    """A failed write (ENOSPC, EROFS) names the destination, not the hidden stage or nothing at all."""
    try:
        yield
    except OSError as exc:
        if isinstance(exc, FileExistsError) or exc.errno is None:
            raise
        raise OSError(exc.errno, exc.strerror, str(path)) from None


def write_text_atomic(path: Path, text: str, *, fsync: bool = False) -> Path:
    """Write ``text`` beside ``path`` and rename it over ``path`` (``fsync``: force the bytes to disk first)."""
    path = Path(path)
    with _naming(path), stage(path) as staged:
        _write_bytes(staged, text.encode("utf-8"), fsync=fsync)
    return path


def write_json_atomic(path: Path, data: Any, *, indent: int = 1, fsync: bool = False, **dumps: Any) -> Path:
    """``data`` as UTF-8 JSON, atomically (see ``write_text_atomic``)."""
    return write_text_atomic(path, json.dumps(data, ensure_ascii=False, indent=indent, **dumps) + "\n", fsync=fsync)


def write_once(path: Path, text: str, *, fsync: bool = True) -> bool:
    """Create ``path`` with ``text`` unless it exists; True when this call wrote it.

    Complete or absent (staged, then linked into place), and exclusive: of two writers racing for the same
    path exactly one creates it, so a record named by its identity is written once.
    """
    path = Path(path)
    try:
        with _naming(path), stage(path, replace=False) as staged:
            _write_bytes(staged, text.encode("utf-8"), fsync=fsync)
    except FileExistsError:
        return False
    return True


# ---------------------------------------------------------------------------------------- user outputs
def _kind_of(path: Path) -> str | None:
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(mode):
        return "a symlink"
    if stat.S_ISDIR(mode):
        return "dir"
    if stat.S_ISREG(mode):
        return "file"
    return "a device, socket or pipe"


def check_destination(dest: Path, *, kind: Kind, overwrite: bool = False, option: str = "--out") -> None:
    """Refuse, in one line and before any work, a user-named output that would lose or misplace data.

    An existing file or non-empty folder is replaced only with ``--overwrite`` (an empty folder is taken
    as it is); symlinks, devices, a file where a folder is wanted (or the reverse) and a missing parent
    folder are always refused.
    """
    dest = Path(dest)
    found = _kind_of(dest)
    noun = "folder" if kind == "dir" else "file"
    if found in ("a symlink", "a device, socket or pipe"):
        raise UserError(f"{option} '{dest}' is {found}; give the path of a regular {noun} to write")
    if found is not None and found != kind:
        raise UserError(
            f"{option} '{dest}' is an existing {'folder' if found == 'dir' else 'file'}; give a {noun} path"
        )
    empty_dir = found == "dir" and not any(dest.iterdir())
    if found is not None and not empty_dir and not overwrite:
        raise UserError(
            f"{option} '{dest}' already exists; give --overwrite to replace it, or a path that does not exist yet"
        )
    parent = dest.parent
    if not parent.is_dir():
        raise UserError(f"{option} '{dest}': its folder '{parent}' does not exist; create it first")
    check_writable(parent, f"{option} folder")


@contextlib.contextmanager
def output(dest: Path, *, kind: Kind, overwrite: bool = False, option: str = "--out") -> Iterator[Path]:
    """Stage a user-named output and move it into place when complete (see ``check_destination``)."""
    dest = Path(dest)
    check_destination(dest, kind=kind, overwrite=overwrite, option=option)
    try:
        with stage(dest, kind=kind, replace=True if overwrite else "empty", parents=False) as staged:
            yield staged
    except FileExistsError:
        raise UserError(f"{option} '{dest}' appeared while it was being written; nothing was replaced") from None


def check_writable(folder: Path, what: str) -> None:
    """Probe that files can be created in ``folder``; one line naming it when not. Leaves nothing behind.

    A folder that does not exist yet is probed at its nearest existing ancestor (where it would be made),
    so bad input found later still finds nothing written.
    """
    folder = Path(folder)
    probe_in = folder
    while not probe_in.exists() and not probe_in.is_symlink() and probe_in != probe_in.parent:
        probe_in = probe_in.parent
    if not probe_in.is_dir():
        raise UserError(f"{what} '{folder}': '{probe_in}' is a file, not a folder; give a folder")
    try:
        fd, probe = tempfile.mkstemp(dir=probe_in, prefix=".write-probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise UserError(f"{what} '{folder}' is not writable ({exc.strerror}); give a folder you can write to") from None


# ----------------------------------------------------------------------------------------------- reading
def warn(message: str) -> None:
    """One line on stderr (under a rich progress display it is printed above the bars)."""
    print(f"warning: {message}", file=sys.stderr, flush=True)


def read_json_checked(path: Path, check: Callable[[Any], str | None], *, what: str) -> Any | None:
    """The JSON in ``path`` when it is there and passes ``check``; None when absent or bad.

    ``check(data)`` returns None when ``data`` has the expected shape, else a short reason. A file that is
    not valid UTF-8 JSON or fails the check is reported in one line (naming ``what`` and the path) and
    treated as absent, so the caller rebuilds it; it is never trusted.
    """
    path = Path(path)
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        problem = check(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        problem = f"not valid JSON: {exc.msg if isinstance(exc, json.JSONDecodeError) else 'not UTF-8'}"
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        problem = f"unexpected content ({type(exc).__name__}: {exc})"
    except OSError as exc:
        problem = f"unreadable ({exc.strerror})"
    if problem is None:
        return data
    warn(f"{what} {path} is corrupt ({problem}); ignoring it and redoing that work")
    return None


def shape(data: Any, kind: type, **fields: type | tuple[type, ...]) -> str | None:
    """A check for ``read_json_checked``: ``data`` is a ``kind`` (dict/list) whose named keys have these types."""
    if not isinstance(data, kind):
        return f"a JSON {'object' if kind is dict else 'array'} was expected, found {type(data).__name__}"
    for key, types in fields.items():
        if key not in data:
            return f"'{key}' is missing"
        if not isinstance(data[key], types):
            return f"'{key}' is {type(data[key]).__name__}"
    return None
