"""What the interpreter would really run: each patched module's origin and its cached bytecode (issue 19).

``status`` (the container guard) compares files with the manifest; that alone passes while the interpreter runs
unpatched code when

* an unpatched copy of the package comes earlier on ``sys.path`` (``PYTHONPATH=/app`` with a LiteLLM source
  checkout), or another file wins the lookup beside the patched one (an extension module, a package directory);
* ``__pycache__`` holds bytecode of the pristine source that the interpreter still trusts: an
  *unchecked-hash* ``.pyc`` (PEP 552: never revalidated), a hash-based one of other source, or a timestamp
  ``.pyc`` whose recorded mtime and size match the patched file although it was written before it.

:func:`origin_problems` finds each module the way the import system's path finder does (:func:`find`: the
path entry finders of ``sys.path_hooks`` over the target interpreter's ``sys.path``, package by package)
without importing anything; :func:`bytecode_problems` reads the 16-byte ``.pyc`` headers. Both use only what
the interpreter has loaded at start (``_frozen_importlib_external``, ``_imp``): ``status`` runs at every
container start.

Not covered: meta-path finders other than the path finder (editable installs' import hooks),
``PYTHONPYCACHEPREFIX``, and a hash-based ``.pyc`` of another Python version (its hash cannot be checked here).
"""

from __future__ import annotations

import os
import sys

try:  # loaded at interpreter start: no import cost (importlib.util would import warnings)
    from _frozen_importlib_external import MAGIC_NUMBER
except ImportError:  # pragma: no cover - not CPython
    from importlib.util import MAGIC_NUMBER

TYPE_CHECKING = False  # typing is not imported at start-up; type checkers take the branch below
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from typing import Any

__all__ = ["PATH_QUERY_TIMEOUT", "bytecode_problems", "find", "interpreter_path", "origin_problems", "own_path"]


def __dir__() -> list[str]:
    return __all__


PATH_QUERY_TIMEOUT = 60.0
"""Seconds ``status --python`` waits for the interpreter to print its ``sys.path``."""

_ASK_PATH = "import json,sys;print(json.dumps([p for p in sys.path if p]))"
_HEADER = 16
"""A ``.pyc`` header: magic, flags, then the source hash (8 bytes) or the source's mtime and size (4 + 4)."""
_HASH_BASED = 0b01
_CHECK_SOURCE = 0b10


def own_path(root: str) -> list[str]:
    """The running interpreter's ``sys.path`` as a program it starts would see it: without sitepatch's own entries.

    The script's directory (the sitepatch checkout, also inserted by ``apply_patches.py``), its ``vendor``
    directory (the container guard's unidiff and packaging) and empty entries (a ``-c`` or ``-m`` working
    directory) are left out; ``root`` is kept even if sitepatch lives in it.
    """
    here = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
    skip = {here, os.path.join(here, "vendor")} - {os.path.realpath(root)}
    return [p for p in sys.path if p and os.path.realpath(p) not in skip]


def interpreter_path(python: str) -> list[str]:
    """Ask ``python`` (one subprocess, with this environment: ``PYTHONPATH`` counts) for its ``sys.path``.

    :raises TargetError: when it cannot be run or does not answer a list of strings.
    """
    import subprocess  # noqa: PLC0415 - only for --python

    from sitepatch._jsonload import loads  # noqa: PLC0415
    from sitepatch.errors import TargetError  # noqa: PLC0415

    try:
        done = subprocess.run(  # noqa: S603 - the user names the interpreter on purpose
            [python, "-c", _ASK_PATH], capture_output=True, text=True, check=True, timeout=PATH_QUERY_TIMEOUT
        )
        answer: Any = loads(done.stdout)
    except (OSError, subprocess.SubprocessError, ValueError) as err:
        msg = f"{python}: cannot ask this interpreter for its sys.path ({err}); check the --python path"
        raise TargetError(msg) from err
    if not isinstance(answer, list) or not all(isinstance(p, str) for p in answer):
        msg = f"{python}: answered {done.stdout.strip()[:200]!r} for its sys.path, not a list of paths"
        raise TargetError(msg)
    return answer


def _module_parts(path: str) -> list[str] | None:
    """``litellm/proxy/x.py`` -> ``["litellm", "proxy", "x"]``; ``None`` for what is not an importable module."""
    if not path.endswith(".py"):
        return None
    parts = path[:-3].split("/")
    if parts[-1] == "__init__":
        parts.pop()
    if not parts or not all(p.isidentifier() for p in parts):
        return None
    return parts


def _finder(entry: str) -> Any:  # noqa: ANN401 - a path entry finder: FileFinder, zipimporter or a hook's own
    """The path entry finder of ``entry``, as the path finder gets it (cached in ``sys.path_importer_cache``)."""
    cache = sys.path_importer_cache
    if entry in cache:
        return cache[entry]
    for hook in sys.path_hooks:
        try:
            finder = hook(entry)
        except ImportError:
            continue
        cache[entry] = finder
        return finder
    cache[entry] = None
    return None


def find(name: str, locations: Sequence[str]) -> tuple[str | None, list[str]] | None:
    """Where the path finder would find module ``name`` in ``locations``, without importing anything.

    ``(origin, [])`` for a module, ``(origin, [directory])`` for a package, ``(None, portions)`` for a namespace
    package, ``None`` when it is not found. As ``PathFinder.find_spec`` does, the first entry holding a module or
    package wins and namespace portions count only when none does; unlike it, a namespace package below the top
    level needs no imported parent (``PathFinder`` reads the parent's ``__path__`` from ``sys.modules``).
    """
    portions: list[str] = []
    for entry in locations:
        finder = _finder(entry)
        if finder is None or not hasattr(finder, "find_spec"):
            continue
        try:
            spec = finder.find_spec(name)
        except (ImportError, OSError, ValueError, KeyError):
            continue
        if spec is None:
            continue
        if spec.loader is not None:
            origin = str(spec.origin) if spec.has_location and spec.origin else f"{entry} ({name})"
            return origin, list(spec.submodule_search_locations or ())
        portions.extend(spec.submodule_search_locations or ())
    return (None, portions) if portions else None


def origin_problems(
    files: Iterable[str], root: str, search: Sequence[str], *, who: str = "the interpreter"
) -> list[str]:
    """Each patched module (``files``, relative to ``root``) the interpreter would import from elsewhere.

    :param search: the interpreter's ``sys.path``.
    :param who: the interpreter, as the messages name it.
    """
    real_root = os.path.realpath(root)
    found: dict[str, tuple[str | None, list[str]] | None] = {}
    problems: list[str] = []
    reported: set[str] = set()
    for rel in files:
        parts = _module_parts(rel)
        if parts is None:
            continue
        locations: Sequence[str] = search
        for depth in range(1, len(parts) + 1):
            name = ".".join(parts[:depth])
            if name in reported:
                break
            if name not in found:
                found[name] = find(name, locations)
            spec = found[name]
            patched = os.path.join(root, rel)
            if spec is None:
                if depth == 1:
                    reported.add(name)
                    problems.append(
                        f"{name}: {who} would not find it on its sys.path, so it cannot import the patched "
                        f"{patched}; put {root} on its sys.path"
                    )
                break
            origin, locations = spec
            where = origin or ", ".join(locations)
            if depth == len(parts):
                if origin is None or os.path.realpath(origin) != os.path.realpath(patched):
                    reported.add(name)
                    problems.append(
                        f"{name}: {who} would import {where}, not the patched {patched}; "
                        + _remedy(origin or locations[0], depth, real_root)
                    )
                break
            if os.path.join(real_root, *parts[:depth]) not in {os.path.realpath(p) for p in locations}:
                reported.add(name)
                problems.append(
                    f"{name}: {who} would import the package from {where}, not the patched one in {root} "
                    f"(so {'.'.join(parts)} would be unpatched); " + _remedy(origin or locations[0], depth, real_root)
                )
                break
    return problems


def _remedy(location: str, depth: int, real_root: str) -> str:
    if depth == 1 and not os.path.realpath(location).startswith(real_root + os.sep):
        entry = os.path.dirname(location.rstrip(os.sep))
        if os.path.basename(location) == "__init__.py":
            entry = os.path.dirname(entry)
        return f"an unpatched copy earlier on sys.path: take {entry} out of PYTHONPATH (or sys.path), or remove it"
    return f"remove {location}, which comes before the patched file"


def bytecode_problems(root: str, rel: str) -> list[str]:
    """The cached bytecode beside the patched ``root/rel`` that the interpreter would run instead of it.

    Every ``__pycache__/<stem>.*.pyc`` (any interpreter tag and optimization level) is read: a hash-based one
    whose source hash is not the patched file's (checked or unchecked: the former is recompiled only unless
    ``--check-hash-based-pycs never``); a timestamp one whose recorded mtime and size match the patched file
    but that was written before it (so compiled from the pristine file). A header too short or of another
    source mtime or size is recompiled by the interpreter, and left alone.
    """
    source = os.path.join(root, rel)
    directory, base = os.path.split(source)
    if not base.endswith(".py"):
        return []
    stem = base[:-3]
    cache = os.path.join(directory, "__pycache__")
    try:
        names = os.listdir(cache)
        stat = os.stat(source)
    except OSError:
        return []
    problems: list[str] = []
    data: bytes | None = None
    for name in sorted(names):
        if not (name.endswith(".pyc") and name.split(".")[0] == stem and name.count(".") >= 2):
            continue
        pyc = os.path.join(cache, name)
        try:
            with open(pyc, "rb") as stream:
                head = stream.read(_HEADER)
            written = os.stat(pyc).st_mtime_ns
        except OSError:
            continue
        if len(head) < _HEADER:
            continue
        flags = int.from_bytes(head[4:8], "little")
        why = ""
        if flags & _HASH_BASED:
            if head[:4] != MAGIC_NUMBER:
                continue  # another Python version's: its hash is not computed the same way here
            if data is None:
                try:
                    with open(source, "rb") as stream:
                        data = stream.read()
                except OSError:
                    return problems  # the file comparison reports an unreadable file
            import _imp  # noqa: PLC0415 - built in and loaded at start

            if _imp.source_hash(int.from_bytes(MAGIC_NUMBER, "little"), data) != head[8:16]:
                kind = "a checked-hash" if flags & _CHECK_SOURCE else "an unchecked-hash (never revalidated)"
                why = f"{kind} .pyc compiled from other source than the patched file"
        else:
            mtime = int.from_bytes(head[8:12], "little")
            size = int.from_bytes(head[12:16], "little")
            matches = mtime == int(stat.st_mtime) & 0xFFFFFFFF and size == stat.st_size & 0xFFFFFFFF
            if matches and written < stat.st_mtime_ns:
                why = "a timestamp .pyc whose recorded mtime and size match the patched file, written before it"
        if why:
            problems.append(f"{rel}: stale bytecode {pyc}: {why}; the interpreter would run it: remove it (rm {pyc})")
    return problems
