"""Read the target environment: where site-packages is, which distributions it holds, their RECORDs.

Versions come from ``*.dist-info/METADATA``; nothing here imports the packages (LiteLLM takes seconds to
import, and importing runs code we are about to patch). This module only reads.

``status`` runs at every container start and imports this module, so it reads only what it needs: one listing
of site-packages, the header lines of each ``METADATA``, and a RECORD only when a run asks for it.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, cast

from packaging.version import Version

from sitepatch._installed import canonicalize_name as _canonical
from sitepatch._installed import scan
from sitepatch._record import field, frozen
from sitepatch.disk import file_digest
from sitepatch.errors import TargetError

if TYPE_CHECKING:
    # packaging.utils imports packaging.tags (platform, sysconfig, logging, ...): too much for start-up.
    from packaging.utils import NormalizedName
else:
    NormalizedName = str

__all__ = [
    "Distribution",
    "NormalizedName",
    "Target",
    "canonicalize_name",
    "file_digest",
    "record_digest",
    "site_packages_of",
]


def __dir__() -> list[str]:
    return __all__


def canonicalize_name(name: str) -> NormalizedName:
    """The normalized form of a distribution name (PEP 503): runs of ``-``, ``_`` and ``.`` become ``-``, lower case.

    The same result as :func:`packaging.utils.canonicalize_name`, without importing ``packaging.utils``.

    >>> canonicalize_name("LiteLLM_Enterprise")
    'litellm-enterprise'
    """
    return cast("NormalizedName", _canonical(name))


def record_digest(data: bytes) -> str:
    """The RECORD form of a sha256: ``sha256=<urlsafe base64 without padding>``.

    >>> record_digest(b"")
    'sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU'
    """
    raw = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return "sha256=" + raw.decode("ascii")


@frozen
class Distribution:
    """One installed distribution, read from its ``.dist-info`` directory."""

    name: NormalizedName
    version: Version
    dist_info: Path
    editable: bool
    """True for an editable install (``direct_url.json`` says so) or a legacy source install (``.egg-info``):
    its files are not the wheel's, so sitepatch refuses to write to them."""
    _loaded: dict[str, dict[str, str]] = field(default_factory=dict, repr=False, hash=False, compare=False)
    _tops: dict[str, frozenset[str]] = field(default_factory=dict, repr=False, hash=False, compare=False)

    @classmethod
    def from_record(cls, name: str, version: str | Version, record: dict[str, str]) -> Distribution:
        """A distribution known from its RECORD alone (a release's wheel, a test), with no directory on disk.

        :param record: RECORD's paths (relative to site-packages, POSIX) mapped to their ``sha256=`` hash.
        :raises packaging.version.InvalidVersion: when ``version`` is not a valid version.
        """
        parsed = version if isinstance(version, Version) else Version(version)
        normal = canonicalize_name(name)
        dist_info = Path(f"{normal.replace('-', '_')}-{parsed}.dist-info")
        dist = cls(normal, parsed, dist_info, editable=False)
        dist._loaded["record"] = dict(record)  # filling the cache is this constructor's job
        return dist

    @property
    def record(self) -> dict[str, str]:
        """RECORD's paths (relative to site-packages, POSIX) mapped to their ``sha256=`` hash or ``""``.

        Read on first use: a target holds a hundred distributions and a run needs the RECORD of two.
        """
        if "record" not in self._loaded:
            self._loaded["record"] = _read_record(self.dist_info)
        return self._loaded["record"]

    @property
    def top_levels(self) -> frozenset[str]:
        """The top-level names (first path component) that the distribution's RECORD owns; computed once."""
        if "tops" not in self._tops:
            self._tops["tops"] = frozenset(p.split("/", 1)[0] for p in self.record if "/" in p)
        return self._tops["tops"]

    def owns(self, path: str) -> bool:
        """Whether ``path`` (relative to site-packages) belongs to this distribution.

        A file is owned when RECORD lists it, or when it would be a new file in (or below) a directory that
        holds files of the distribution. A directory that only leads to them (``google/``, a namespace
        shared with other distributions) grants nothing.
        """
        return path in self.record or self.owner_depth(path) is not None

    def owner_depth(self, path: str) -> int | None:
        """How deep the directory is that makes a new file ``path`` this distribution's, or ``None``.

        The nearest directory on the way to ``path`` that holds files of the distribution decides; its depth
        (components) is returned. Directories that only lead to its files (``google/`` of a namespace package)
        grant nothing, so ``None`` when no directory on the way holds any: a new sub-package inside the
        distribution's own package (``litellm/llms/litellm_proxy/skills/``, where ``litellm_proxy/`` holds only
        sub-packages) is its own, a sibling in a shared namespace is not. Which of several distributions owns
        a directory they share is decided by comparing these depths (see :mod:`sitepatch.plan`).
        """
        parts = path.split("/")[:-1]
        if not parts or parts[0].endswith((".dist-info", ".data")):
            return None
        if "dirs" not in self._loaded:
            self._loaded["dirs"] = dict.fromkeys((p.rsplit("/", 1)[0] for p in self.record if "/" in p), "")
        holding = self._loaded["dirs"]
        for depth in range(len(parts), 0, -1):
            if "/".join(parts[:depth]) in holding:
                return depth
        return None


def _rows(text: str) -> Iterable[list[str]]:
    # Without quotes or carriage returns the csv module would split exactly at commas and newlines: do so
    # directly, 15 times faster on LiteLLM's RECORD (and without importing csv).
    if '"' not in text and "\r" not in text:
        return (line.split(",") for line in text.split("\n"))
    import csv  # noqa: PLC0415 - only for a RECORD that needs it
    import io  # noqa: PLC0415

    return csv.reader(io.StringIO(text))


def _read_record(dist_info: Path) -> dict[str, str]:
    try:
        text = (dist_info / "RECORD").read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):
        return {}
    except OSError as err:
        msg = (
            f"{dist_info / 'RECORD'}: cannot be read ({err.strerror or err}); run sitepatch as the user that owns "
            "this site-packages, or fix the file's permissions"
        )
        raise TargetError(msg) from err
    record: dict[str, str] = {}
    for row in _rows(text):
        if not row or not row[0]:
            continue
        entry = row[0]
        digest = row[1] if len(row) > 1 else ""
        # Most rows are already normal relative paths; only the others go through normpath. RECORD paths are
        # relative to site-packages, but may climb out of it (scripts in ../../bin): those are left out.
        if entry[0] in "./" or entry[-1] == "/" or "//" in entry or "/." in entry or os.sep != "/":
            entry = os.path.normpath(entry).replace(os.sep, "/")
            if entry.startswith("../") or os.path.isabs(entry):
                continue
        record[entry] = digest
    return record


@frozen
class Target:
    """A site-packages directory and the distributions installed in it."""

    root: Path
    distributions: dict[NormalizedName, Distribution] = field(hash=False, compare=False)
    problems: tuple[str, ...] = ()
    """Distributions that could not be read, or are installed twice; reported, and refused for writing."""

    @classmethod
    def open(cls, root: Path, *, only: Collection[str] | None = None) -> Target:
        """Read the distributions of the site-packages directory ``root``.

        :param only: read just these distributions (any spelling), found by their ``.dist-info`` directory
            names; when one is not found that way, every distribution is read. ``status`` names the recorded
            ones: a site-packages holds a hundred distributions, and start-up is most of its time.
        :raises TargetError: when ``root`` is not a directory.
        """
        if not root.is_dir():
            msg = f"{root}: not a directory; pass --site-packages DIR or --python PATH of the environment to patch"
            raise TargetError(msg)
        root = root.resolve()
        found, problems = scan(str(root), only=only)
        distributions = {
            cast("NormalizedName", name): Distribution(
                cast("NormalizedName", name), Version(item.version), Path(item.dist_info), item.editable
            )
            for name, item in found.items()
        }
        return cls(root, distributions, problems)

    def get(self, name: str) -> Distribution | None:
        """The installed distribution called ``name`` (any spelling), or ``None``."""
        return self.distributions.get(canonicalize_name(name))

    @property
    def versions(self) -> dict[NormalizedName, Version]:
        """Every installed distribution's version."""
        return {name: dist.version for name, dist in self.distributions.items()}


_ASK_PATHS = "import json, sysconfig; print(json.dumps([sysconfig.get_path('purelib'), sysconfig.get_path('platlib')]))"


def site_packages_of(python: str) -> Path:
    """Ask the interpreter ``python`` where its site-packages (purelib) is.

    :raises TargetError: when the interpreter cannot be run or answers nonsense.
    """
    import json  # noqa: PLC0415 - only for --python; start-up matters at container start
    import subprocess  # noqa: PLC0415

    if Path(python).is_dir():
        inside = [p for p in (Path(python) / "bin" / "python", Path(python) / "Scripts" / "python.exe") if p.exists()]
        hint = f"; its interpreter is {inside[0]}: pass --python {inside[0]}" if inside else ""
        msg = f"{python}: --python names a directory, not an interpreter{hint}"
        raise TargetError(msg)
    try:
        done = subprocess.run(  # noqa: S603 - the user names the interpreter on purpose
            [python, "-I", "-c", _ASK_PATHS],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        answer = json.loads(done.stdout)
    except (OSError, subprocess.SubprocessError, ValueError) as err:
        msg = f"{python}: cannot ask this interpreter for its site-packages ({err}); check the --python path"
        raise TargetError(msg) from err
    if not (
        isinstance(answer, list) and len(answer) == 2 and all(isinstance(p, str) and os.path.isabs(p) for p in answer)
    ):
        shown = done.stdout.strip()[:200]
        msg = (
            f"{python}: asked for its site-packages, it answered {shown!r}, not two absolute paths "
            "(purelib, platlib); check that --python names a Python interpreter"
        )
        raise TargetError(msg)
    purelib, platlib = answer
    if purelib != platlib and Path(platlib).is_dir() and not Path(purelib).is_dir():
        return Path(platlib)
    return Path(purelib)
