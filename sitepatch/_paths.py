"""The one rule for every path sitepatch writes; imported by ``status``, so it imports nothing."""

from __future__ import annotations

__all__ = ["path_problem"]


def __dir__() -> list[str]:
    return __all__


_METADATA_SUFFIXES = (".dist-info", ".egg-info", ".data")
_STATE_DIR = ".sitepatch"


def path_problem(path: str) -> str | None:
    """Why ``path`` may not name a file sitepatch writes, or ``None`` when it may.

    One rule for every path that reaches the writer, from a patch, the manifest or the journal: relative
    to site-packages, POSIX, no empty, ``.`` or ``..`` component, no backslash or control character, and
    never inside a ``.dist-info``/``.egg-info``/``.data`` directory (the installer's own records) or
    sitepatch's state directory.

    >>> path_problem("litellm/proxy/x.py") is None
    True
    >>> path_problem("../x.py")
    "empty, '.' and '..' components are refused"
    >>> path_problem("litellm-1.0.dist-info/RECORD")
    "the installer's metadata (litellm-1.0.dist-info) is never patched"
    """
    if not path:
        return "the path is empty"
    if path.startswith("/") or (len(path) > 1 and path[1] == ":"):
        return "absolute paths are refused: paths are relative to site-packages"
    if "\\" in path or any(ord(c) < 32 or c == "\x7f" for c in path):
        return "backslashes and control characters are refused"
    if any("\udc80" <= c <= "\udcff" for c in path):
        return "the name is not valid UTF-8"
    parts = path.split("/")
    if any(part in ("", ".", "..") for part in parts):
        return "empty, '.' and '..' components are refused"
    if parts[0] == _STATE_DIR:
        return f"sitepatch's own state directory ({_STATE_DIR}) is never patched"
    if parts[0].endswith(_METADATA_SUFFIXES):
        return f"the installer's metadata ({parts[0]}) is never patched"
    return None
