"""Which distributions a site-packages directory holds, read with :mod:`os` alone.

:class:`sitepatch.dist.Target` is built on this, and ``status`` (every container start, issue 11) uses it
directly: it imports neither :mod:`pathlib` nor :mod:`re` nor ``packaging`` (each of them costs more at
start-up than the rest of ``status``). A version is kept in its normal form, the string
``str(packaging.version.Version(text))``; plain release versions (``1.80.10``) are recognised without
``packaging``, anything else is parsed by it.
"""

from __future__ import annotations

import os

from sitepatch._jsonload import loads
from sitepatch._record import frozen
from sitepatch.errors import TargetError

TYPE_CHECKING = False  # typing is not imported at start-up; type checkers take the branch below
if TYPE_CHECKING:
    from collections.abc import Collection

__all__ = ["Installed", "canonicalize_name", "normal_version", "read_metadata", "scan"]


def __dir__() -> list[str]:
    return __all__


def canonicalize_name(name: str) -> str:
    """The normalized form of a distribution name (PEP 503): runs of ``-``, ``_`` and ``.`` become ``-``, lower case.

    The same result as :func:`packaging.utils.canonicalize_name`, without regular expressions.

    >>> canonicalize_name("LiteLLM_Enterprise"), canonicalize_name("a._-B")
    ('litellm-enterprise', 'a-b')
    """
    text = name.replace("_", "-").replace(".", "-")
    while "--" in text:
        text = text.replace("--", "-")
    return text.lower()


def normal_version(text: str) -> str | None:
    """``str(Version(text))``, or ``None`` when ``text`` is not a valid version.

    A release of plain numbers without leading zeros is its own normal form; only other versions need
    ``packaging`` (imported then).

    >>> normal_version("1.80.10"), normal_version("1.80.010"), normal_version("1.0-post1"), normal_version("x")
    ('1.80.10', '1.80.10', '1.0.post1', None)
    """
    if text and all(part.isascii() and part.isdigit() and (part[0] != "0" or part == "0") for part in text.split(".")):
        return text
    from packaging.version import InvalidVersion, Version  # noqa: PLC0415 - only for versions that need it

    try:
        return str(Version(text))
    except InvalidVersion:
        return None


@frozen
class Installed:
    """One installed distribution, as its ``.dist-info`` (or legacy ``.egg-info``) directory says."""

    name: str
    """The canonical name."""
    version: str
    """The version in its normal form."""
    dist_info: str
    """The path of the ``.dist-info`` (or ``.egg-info``, ``.egg-link``) entry."""
    editable: bool
    """An editable install (``direct_url.json`` says so) or a legacy source install (``.egg-info``)."""


def read_metadata(dist_info: str, name: str = "METADATA") -> tuple[str, str]:
    """The ``Name`` and ``Version`` of a ``METADATA`` (or ``PKG-INFO``) file's header (``""`` when absent).

    :raises OSError: when the file cannot be read.
    """
    # Only the header's Name and Version: stop at the first blank line or once both are seen (LiteLLM's
    # METADATA carries its whole README after the header).
    found: dict[str, str] = {}
    with open(os.path.join(dist_info, name), "rb") as stream:
        for raw in stream:
            line = raw.decode("utf-8", "replace")
            if not line.strip():
                break
            key, _, value = line.partition(":")
            key = key.lower()
            if key in ("name", "version") and key not in found:
                found[key] = value.strip()
                if len(found) == 2:
                    break
    return found.get("name", ""), found.get("version", "")


def _is_editable(dist_info: str) -> bool:
    try:
        with open(os.path.join(dist_info, "direct_url.json"), encoding="utf-8") as stream:
            data = loads(stream.read())
    except (FileNotFoundError, ValueError):
        return False
    dir_info = data.get("dir_info") if isinstance(data, dict) else None
    return bool(isinstance(dir_info, dict) and dir_info.get("editable"))


def _stem(name: str) -> str:
    """``pathlib.PurePath(name).stem``."""
    dot = name.rfind(".")
    return name[:dot] if 0 < dot < len(name) - 1 else name


def scan(root: str, *, only: Collection[str] | None = None) -> tuple[dict[str, Installed], tuple[str, ...]]:
    """Read the distributions installed in the directory ``root``: one listing and each ``METADATA`` header.

    :param only: read just these distributions (any spelling), found by their ``.dist-info`` directory
        names; when one is not found that way, every distribution is read.
    :returns: the distributions by canonical name, and the problems: distributions that could not be read,
        or are installed twice.
    :raises OSError: when ``root`` cannot be listed.
    :raises TargetError: when a ``METADATA`` exists but this user may not read it.
    """
    found: dict[str, Installed] = {}
    problems: list[str] = []
    names = sorted(os.listdir(root))
    if only is not None:
        wanted = {canonicalize_name(n) for n in only}
        chosen = [n for n in names if canonicalize_name(n.split("-", 1)[0]) in wanted]
        if {canonicalize_name(n.split("-", 1)[0]) for n in chosen if n.endswith(".dist-info")} >= wanted:
            names = chosen
    for entry in (n for n in names if n.endswith((".egg-info", ".egg-link"))):
        egg_info = os.path.join(root, entry)
        # A legacy source or develop install: no RECORD to check against, often not even the files here.
        has_meta = os.path.isdir(egg_info) and os.path.exists(os.path.join(egg_info, "PKG-INFO"))
        raw_name = ""
        try:
            raw_name, raw_version = read_metadata(egg_info, "PKG-INFO") if has_meta else ("", "")
            version = normal_version(raw_version or _stem(entry).split("-")[1]) or "0"
        except (OSError, IndexError):
            version = "0"
        name = canonicalize_name(raw_name or _stem(entry).split("-", 1)[0])
        found[name] = Installed(name, version, egg_info, editable=True)
    for entry in (n for n in names if n.endswith(".dist-info")):
        dist_info = os.path.join(root, entry)
        try:
            raw_name, raw_version = read_metadata(dist_info)
        except PermissionError as err:
            # Not "not installed": a distribution this user cannot read would be dropped from the manifest.
            msg = (
                f"{os.path.join(dist_info, 'METADATA')}: cannot be read ({err.strerror or err}); run sitepatch as "
                "the user that owns this site-packages, or fix the file's permissions"
            )
            raise TargetError(msg) from err
        except OSError as err:
            problems.append(f"{entry}: unreadable METADATA ({err.strerror or err})")
            continue
        normal = normal_version(raw_version)
        if normal is None:
            problems.append(f"{entry}: METADATA has no valid Version ({raw_version!r})")
            continue
        name = canonicalize_name(raw_name or entry.split("-", 1)[0])
        if name in found:
            other = os.path.basename(found[name].dist_info)
            problems.append(f"{name} is installed twice ({other} and {entry}); reinstall it cleanly before patching")
        found[name] = Installed(name, normal, dist_info, _is_editable(dist_info))
    return found, tuple(problems)
