"""Reading the target's files: their states and digests, the disk reader, and the manifest file.

``status`` runs at every container start (issue 11) and imports this module, so it works with :mod:`os`
paths and imports neither :mod:`pathlib` nor the planner; :mod:`sitepatch.plan` and :mod:`sitepatch.apply`
take :class:`FileState`, :func:`fingerprint` and :class:`DiskReader` from here.
"""

from __future__ import annotations

import os
import stat
import sys

from sitepatch._record import field, frozen
from sitepatch.errors import TargetError
from sitepatch.manifest import STATE_DIR, Manifest, StateReader

TYPE_CHECKING = False  # typing is not imported at start-up; type checkers take the branch below
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

__all__ = [
    "STATE_LINK_WAY_OUT",
    "DiskReader",
    "FileState",
    "file_digest",
    "fingerprint",
    "read_manifest",
    "state_problems",
]


def __dir__() -> list[str]:
    return __all__


def _builtin_sha256() -> Callable[[bytes], Any] | None:
    try:
        from _sha2 import sha256  # type: ignore[import-not-found,unused-ignore]  # noqa: PLC0415 - Python 3.12+
    except ImportError:
        try:
            from _sha256 import sha256  # type: ignore[import-not-found,no-redef,unused-ignore]  # noqa: PLC0415
        except ImportError:  # pragma: no cover - a build without it
            return None
    return sha256  # type: ignore[no-any-return,unused-ignore]


_SMALL = _builtin_sha256()
_SMALL_BUDGET = [1 << 20]
"""Bytes left to hash with the builtin sha256 before switching to hashlib's (OpenSSL)."""


def file_digest(data: bytes) -> str:
    """The hex sha256 of ``data``, the form the manifest uses.

    The first megabyte a process hashes goes through CPython's builtin sha256, unless ``hashlib`` is loaded
    already (planning loads it): ``status`` hashes only the files the manifest records, and importing
    ``hashlib`` (OpenSSL) costs it more than hashing them that way. Beyond that, hashlib's, about five times
    faster. Both give the same digest.

    >>> file_digest(b"")[:12]
    'e3b0c44298fc'
    """
    if _SMALL is not None and len(data) <= _SMALL_BUDGET[0] and "hashlib" not in sys.modules:
        _SMALL_BUDGET[0] -= len(data)
        return str(_SMALL(data).hexdigest())
    _SMALL_BUDGET[0] = 0
    from hashlib import sha256  # noqa: PLC0415 - see above

    return sha256(data).hexdigest()


@frozen
class FileState:
    """A regular file's bytes and permission bits."""

    data: bytes
    mode: int = 0o644


def fingerprint(state: FileState | None) -> tuple[str | None, int | None]:
    """A file's sha256 and mode, as the manifest records them (``None``, ``None``: absent)."""
    return (file_digest(state.data), state.mode) if state is not None else (None, None)


def _read_bytes(path: str) -> bytes:
    with open(path, "rb") as stream:
        return stream.read()


def _unreadable(path: str, err: OSError) -> TargetError:
    """The error for a target file that exists but cannot be read (EACCES, EIO, ...): exit 2, naming it."""
    msg = (
        f"{path}: cannot be read ({err.strerror or err}); run sitepatch as the user that owns this site-packages, "
        "or fix the file's permissions"
    )
    return TargetError(msg)


@frozen
class DiskReader:
    """Reads the target for the planner (see :class:`sitepatch.plan.Reader`).

    :param root: the target directory (a :class:`~pathlib.Path` or a string).
    """

    root: str | os.PathLike[str]
    _directories: set[str] = field(default_factory=set, compare=False, repr=False)

    def read(self, path: str) -> FileState | None:
        """The file's bytes and mode, or ``None`` when it does not exist."""
        full = os.path.join(self.root, path)
        try:
            info = os.lstat(full)
        except (FileNotFoundError, NotADirectoryError):
            return None
        if not stat.S_ISREG(info.st_mode):
            return None
        try:
            data = _read_bytes(full)
        except FileNotFoundError:
            return None  # removed since the lstat
        except OSError as err:
            raise _unreadable(full, err) from err
        return FileState(data, stat.S_IMODE(info.st_mode))

    def pristine(self, path: str) -> bytes | None:
        """The pristine copy kept in ``.sitepatch/pristine`` (``None``: missing, or not a regular file).

        :raises TargetError: when a symbolic link is on the way (the copy is read only from real directories), or
            when there is a copy that cannot be read.
        """
        current = os.fspath(self.root)
        parts = [STATE_DIR, "pristine", *path.split("/")]
        for index, part in enumerate(parts):
            current = os.path.join(current, part)
            try:
                info = os.lstat(current)
            except OSError:
                return None
            if stat.S_ISLNK(info.st_mode):
                raise TargetError(f"{current}: a symbolic link in sitepatch's state directory; {STATE_LINK_WAY_OUT}")
            if not (stat.S_ISDIR(info.st_mode) if index < len(parts) - 1 else stat.S_ISREG(info.st_mode)):
                return None
        full = current
        try:
            return _read_bytes(full)
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return None
        except OSError as err:
            raise _unreadable(full, err) from err

    def unsafe(self, path: str) -> str | None:
        """Why ``path`` must not be written: a symlink on the way or for its ``__pycache__``, or outside the root."""
        return self.unsafe_path(path) or self._unsafe_bytecode(path)

    def _unsafe_bytecode(self, path: str) -> str | None:
        """Why the stale bytecode of module ``path`` cannot be removed: its ``__pycache__`` is a symbolic link.

        Refused rather than skipped: removing ``mod.*.pyc`` through the link would delete files elsewhere, and
        leaving it could let the interpreter (which follows the link) run the old code of an unchecked-hash
        ``.pyc``. Refused while planning, so nothing is written (``check`` says so too).
        """
        if not path.endswith(".py"):
            return None
        directory = path.rpartition("/")[0]
        cache = f"{directory}/__pycache__" if directory else "__pycache__"
        try:
            info = os.lstat(os.path.join(self.root, cache))
        except OSError:
            return None
        if not stat.S_ISLNK(info.st_mode):
            return None
        return (
            f"{path}: refusing to write through the symbolic link {cache} (removing the module's stale bytecode "
            "would delete files in the link's target); remove the link (Python makes the directory again)"
        )

    def unsafe_path(self, path: str) -> str | None:
        """Why ``path`` itself must not be written: a symlink on the way, or resolving outside the root."""
        current = os.fspath(self.root)
        parts = path.split("/")
        for index, part in enumerate(parts):
            current = os.path.join(current, part)
            prefix = "/".join(parts[: index + 1])
            if index < len(parts) - 1 and prefix in self._directories:
                continue
            try:
                info = os.lstat(current)
            except FileNotFoundError:
                break
            except NotADirectoryError:
                return f"{path}: {'/'.join(parts[:index])} is not a directory"
            if stat.S_ISLNK(info.st_mode):
                return f"{path}: refusing to write through the symbolic link {'/'.join(parts[: index + 1])}"
            if index < len(parts) - 1 and not stat.S_ISDIR(info.st_mode):
                return f"{path}: {'/'.join(parts[: index + 1])} is not a directory"
            if index == len(parts) - 1 and not stat.S_ISREG(info.st_mode):
                return f"{path}: not a regular file"
            if index < len(parts) - 1:
                self._directories.add(prefix)  # a real directory: other paths through it need no new lstat
        root = os.path.realpath(self.root)
        resolved = os.path.realpath(os.path.join(self.root, path))
        if resolved != root and not resolved.startswith(os.path.join(root, "")):
            return f"{path}: resolves outside the target {self.root}"
        return None


STATE_LINK_WAY_OUT = (
    "sitepatch never makes one there and refuses to read or write through it: remove it (if it held the pristine "
    "copies, reinstall the patched distributions and remove the .sitepatch directory too), then run again"
)
"""What to do about a symbolic link (or a special file) inside the state directory, quoted in every error about one."""

_STATE_DIRS = ("pristine", "txn")


def state_problems(state: str) -> list[str]:
    """Everything in the state directory ``state`` that is not a real directory or a regular file.

    The whole tree is walked without following a link: a symbolic link anywhere below ``.sitepatch`` (the
    pristine store, a package inside it, ``txn/``, the lock) would send sitepatch's reads, writes and
    deletions elsewhere. Entries that vanish meanwhile are no problem. An empty list: nothing to refuse.

    >>> state_problems("/nonexistent/.sitepatch")
    []
    """
    try:
        info = os.lstat(state)
    except FileNotFoundError:
        return []
    except OSError as err:
        return [f"{state}: cannot be read ({err.strerror or err})"]
    if not stat.S_ISDIR(info.st_mode):
        return [f"{state}: not a directory (a symbolic link or a file)"]
    problems: list[str] = []
    pending = [state]
    while pending:
        directory = pending.pop()
        try:
            with os.scandir(directory) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except FileNotFoundError:
            continue
        except OSError as err:
            problems.append(f"{directory}: cannot be read ({err.strerror or err})")
            continue
        for entry in entries:
            top = directory == state
            try:
                mode = entry.stat(follow_symlinks=False).st_mode
            except FileNotFoundError:
                continue
            except OSError as err:
                problems.append(f"{entry.path}: cannot be read ({err.strerror or err})")
                continue
            if stat.S_ISLNK(mode):
                problems.append(f"{entry.path}: a symbolic link")
            elif stat.S_ISDIR(mode):
                pending.append(entry.path)
            elif not stat.S_ISREG(mode):
                problems.append(f"{entry.path}: neither a regular file nor a directory")
            elif top and entry.name in _STATE_DIRS:
                problems.append(f"{entry.path}: a file where sitepatch keeps a directory")
    return problems


def read_manifest(path: str) -> Manifest | None:
    """The manifest at ``path``, or ``None`` when sitepatch never wrote one there.

    :raises ManifestError: when it exists but cannot be read.
    :raises TargetError: when the state directory holding it is a symbolic link.
    """
    reader = StateReader(path)
    parent = os.path.dirname(path)
    if os.path.basename(parent) == STATE_DIR and os.path.islink(parent):
        raise TargetError(f"{parent}: not a directory (a symbolic link); {STATE_LINK_WAY_OUT}")
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as err:
        raise reader.fail("(file)", f"cannot be read ({err.strerror or err})") from err
    if not stat.S_ISREG(info.st_mode):
        raise reader.fail("(file)", "not a regular file")
    try:
        text = _read_bytes(path).decode("utf-8")
    except UnicodeDecodeError as err:
        raise reader.fail("(file)", f"not UTF-8 text ({err.reason} at byte {err.start})") from err
    except OSError as err:
        raise reader.fail("(file)", f"cannot be read ({err.strerror or err})") from err
    return Manifest.from_json(text, where=path)
