"""The manifest: what sitepatch applied to a target, recorded after every write.

It lives at ``<site-packages>/.sitepatch/manifest.json``, beside the pristine copies of every file sitepatch
changed (``.sitepatch/pristine/``), the lock and, while a run is writing, its journal. This module converts
between the JSON document and frozen records; it does no I/O (:func:`sitepatch.disk.read_manifest` reads the
file). ``status`` imports it, so it imports neither :mod:`json` nor :mod:`typing`.
"""

from __future__ import annotations

from sitepatch._jsonload import loads
from sitepatch._paths import path_problem
from sitepatch._record import frozen
from sitepatch.errors import ManifestError

TYPE_CHECKING = False  # typing is not imported at start-up (status); type checkers take the branch below
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "JOURNAL_NAME",
    "MANIFEST_NAME",
    "SCHEMA_VERSION",
    "STATE_DIR",
    "STATE_WAY_OUT",
    "FileRecord",
    "HunkRecord",
    "Manifest",
    "PatchRecord",
    "StateReader",
]


def __dir__() -> list[str]:
    return __all__


SCHEMA_VERSION = 1
"""The manifest format this version writes and reads."""

STATE_DIR = ".sitepatch"
"""The directory inside the target that holds the manifest, pristine copies, lock and journal."""

MANIFEST_NAME = "manifest.json"
JOURNAL_NAME = "journal.json"
"""A run's journal, beside the manifest while the run writes (see :mod:`sitepatch.apply`)."""


@frozen
class HunkRecord:
    """Where one hunk landed."""

    index: int
    status: str
    line: int | None
    offset: int
    fuzz: int


@frozen
class PatchRecord:
    """One applied (or already-applied) patch."""

    name: str
    number: str
    sha256: str
    package: str
    package_version: str
    status: str
    header: tuple[tuple[str, str], ...]
    files: tuple[tuple[str, tuple[HunkRecord, ...]], ...]


@frozen
class FileRecord:
    """One file sitepatch changed: its pristine and its patched image."""

    path: str
    distribution: str
    pre_sha256: str | None
    """The pristine file's sha256 (``None``: the file did not exist)."""
    post_sha256: str | None
    """The patched file's sha256 (``None``: the patch set deletes it)."""
    pre_mode: int | None
    post_mode: int | None
    patches: tuple[str, ...]
    version: str = ""
    """The version of ``distribution`` the record was made against: its pristine copy belongs to that release."""
    record_hash: str | None = None
    """RECORD's hash of the file in that release (``None``: not in RECORD, the patch set created it)."""

    def is_pre(self, digest: str | None, mode: int | None) -> bool:
        """Whether a file with this sha256 and mode (``None``, ``None``: absent) is the pristine image."""
        return digest == self.pre_sha256 and mode == self.pre_mode

    def is_post(self, digest: str | None, mode: int | None) -> bool:
        """Whether a file with this sha256 and mode (``None``, ``None``: absent) is the patched image."""
        return digest == self.post_sha256 and mode == self.post_mode


@frozen
class Manifest:
    """Everything sitepatch has applied to one target."""

    tool_version: str
    target: str
    time: str
    distributions: tuple[tuple[str, str], ...]
    patches: tuple[PatchRecord, ...]
    files: tuple[FileRecord, ...]
    schema_version: int = SCHEMA_VERSION

    def file(self, path: str) -> FileRecord | None:
        """The record of ``path``, or ``None``."""
        for record in self.files:
            if record.path == path:
                return record
        return None

    def to_json(self) -> str:
        """The manifest as a JSON document (stable key order, trailing newline)."""
        doc = {
            "schema_version": self.schema_version,
            "tool_version": self.tool_version,
            "target": self.target,
            "time": self.time,
            "distributions": dict(self.distributions),
            "patches": [
                {
                    "name": p.name,
                    "number": p.number,
                    "sha256": p.sha256,
                    "package": p.package,
                    "package_version": p.package_version,
                    "status": p.status,
                    "header": dict(p.header),
                    "files": [
                        {
                            "path": path,
                            "hunks": [
                                {
                                    "index": h.index,
                                    "status": h.status,
                                    "line": h.line,
                                    "offset": h.offset,
                                    "fuzz": h.fuzz,
                                }
                                for h in hunks
                            ],
                        }
                        for path, hunks in p.files
                    ],
                }
                for p in self.patches
            ],
            "files": [
                {
                    "path": f.path,
                    "distribution": f.distribution,
                    "pre_sha256": f.pre_sha256,
                    "post_sha256": f.post_sha256,
                    "pre_mode": f.pre_mode,
                    "post_mode": f.post_mode,
                    "patches": list(f.patches),
                    "version": f.version,
                    "record_hash": f.record_hash,
                }
                for f in self.files
            ],
        }
        return _lines(doc)

    @classmethod
    def from_json(cls, text: str, *, where: str) -> Manifest:
        """Read a manifest document, checking every field: the manifest is input like any patch file.

        :param where: the file it came from, for error messages.
        :raises ManifestError: naming the file and the field, when it is not valid JSON, has an unknown schema
            version, lacks a field, has one of the wrong type, or names a path sitepatch would never write.
        """
        try:
            doc: Any = loads(text)
        except ValueError as err:
            msg = f"{where}: not valid JSON ({err}); {STATE_WAY_OUT}"
            raise ManifestError(msg) from err
        version = doc.get("schema_version") if isinstance(doc, dict) else None
        if version != SCHEMA_VERSION:
            msg = (
                f"{where}: manifest schema_version {version!r} is not {SCHEMA_VERSION}; "
                "it was written by another sitepatch version: use that version, or upgrade sitepatch"
            )
            raise ManifestError(msg)
        return _read_manifest(StateReader(where), doc)


STATE_WAY_OUT = (
    "nothing was changed; to start afresh, reinstall the patched distributions "
    "(pip install --force-reinstall --no-deps NAME==VERSION), remove the .sitepatch directory, and apply again"
)
"""What to do about a damaged manifest or journal, quoted in every error about one."""

_HEX = frozenset("0123456789abcdef")


class StateReader:
    """Checks the fields of a state document (manifest or journal), raising one clear error per problem.

    :param where: the file, for error messages.
    """

    def __init__(self, where: str) -> None:
        self.where = where

    def fail(self, field: str, what: str) -> ManifestError:
        """The error for ``field``: file, field, what is wrong and the way out."""
        return ManifestError(f"{self.where}: {field}: {what}; {STATE_WAY_OUT}")

    def get(self, doc: Any, key: str, field: str) -> Any:  # noqa: ANN401 - JSON
        """``doc[key]``; ``doc`` must be an object with that key."""
        if not isinstance(doc, dict):
            raise self.fail(field.rsplit(".", 1)[0] if "." in field else "(document)", "must be a JSON object")
        if key not in doc:
            raise self.fail(field, "missing")
        return doc[key]

    def string(self, doc: Any, key: str, field: str) -> str:  # noqa: ANN401 - JSON
        """A string field."""
        value = self.get(doc, key, field)
        if not isinstance(value, str):
            raise self.fail(field, f"must be a string, not {_kind(value)}")
        return value

    def integer(self, doc: Any, key: str, field: str, *, optional: bool = False) -> int | None:  # noqa: ANN401
        """An integer field (``null`` allowed when ``optional``)."""
        value = self.get(doc, key, field)
        if value is None and optional:
            return None
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.fail(field, f"must be an integer{' or null' if optional else ''}, not {_kind(value)}")
        return value

    def mode(self, doc: Any, key: str, field: str) -> int | None:  # noqa: ANN401 - JSON
        """A permission-bits field (``null``: the file is absent)."""
        value = self.integer(doc, key, field, optional=True)
        if value is not None and not 0 <= value <= 0o7777:
            raise self.fail(field, f"{value} is not a file mode (0 to 0o7777)")
        return value

    def digest(self, doc: Any, key: str, field: str) -> str | None:  # noqa: ANN401 - JSON
        """A hex sha256 field (``null``: the file is absent)."""
        value = self.get(doc, key, field)
        if value is None:
            return None
        if not isinstance(value, str) or len(value) != 64 or not set(value) <= _HEX:
            raise self.fail(field, f"must be a hex sha256 or null, not {_shown(value)}")
        return value

    def path(self, doc: Any, key: str, field: str) -> str:  # noqa: ANN401 - JSON
        """A target-relative path field, held to the rules of patch paths."""
        value = self.get(doc, key, field)
        if not isinstance(value, str):
            raise self.fail(field, f"must be a path string, not {_kind(value)}")
        problem = path_problem(value)
        if problem is not None:
            raise self.fail(field, f"unsafe path {value!r}: {problem}")
        return value

    def items(self, doc: Any, key: str, field: str) -> list[Any]:  # noqa: ANN401 - JSON
        """A list field."""
        value = self.get(doc, key, field)
        if not isinstance(value, list):
            raise self.fail(field, f"must be a list, not {_kind(value)}")
        return value

    def strings(self, doc: Any, key: str, field: str) -> dict[str, str]:  # noqa: ANN401 - JSON
        """An object of strings."""
        value = self.get(doc, key, field)
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise self.fail(field, f"must be an object of strings, not {_shown(value)}")
        return value


def _kind(value: object) -> str:
    return "null" if value is None else type(value).__name__


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _read_hunk(r: StateReader, doc: Any, field: str) -> HunkRecord:  # noqa: ANN401 - JSON
    return HunkRecord(
        index=r.integer(doc, "index", f"{field}.index") or 0,
        status=r.string(doc, "status", f"{field}.status"),
        line=r.integer(doc, "line", f"{field}.line", optional=True),
        offset=r.integer(doc, "offset", f"{field}.offset") or 0,
        fuzz=r.integer(doc, "fuzz", f"{field}.fuzz") or 0,
    )


def _read_patch(r: StateReader, doc: Any, field: str) -> PatchRecord:  # noqa: ANN401 - JSON
    files = []
    for i, item in enumerate(r.items(doc, "files", f"{field}.files")):
        where = f"{field}.files[{i}]"
        path = r.path(item, "path", f"{where}.path")
        hunks = r.items(item, "hunks", f"{where}.hunks")
        files.append((path, tuple(_read_hunk(r, h, f"{where}.hunks[{j}]") for j, h in enumerate(hunks))))
    return PatchRecord(
        name=r.string(doc, "name", f"{field}.name"),
        number=r.string(doc, "number", f"{field}.number"),
        sha256=r.string(doc, "sha256", f"{field}.sha256"),
        package=r.string(doc, "package", f"{field}.package"),
        package_version=r.string(doc, "package_version", f"{field}.package_version"),
        status=r.string(doc, "status", f"{field}.status"),
        header=tuple(r.strings(doc, "header", f"{field}.header").items()),
        files=tuple(files),
    )


def _read_file(r: StateReader, doc: Any, field: str, versions: dict[str, str]) -> FileRecord:  # noqa: ANN401
    distribution = r.string(doc, "distribution", f"{field}.distribution")
    patches = r.items(doc, "patches", f"{field}.patches")
    if not all(isinstance(name, str) for name in patches):
        raise r.fail(f"{field}.patches", "must be a list of patch file names")
    # Manifests written before records carried their version: the version the manifest lists for the
    # distribution is the one the record was made against.
    version = r.string(doc, "version", f"{field}.version") if "version" in doc else versions.get(distribution, "")
    record_hash = doc.get("record_hash")
    if record_hash is not None and not isinstance(record_hash, str):
        raise r.fail(f"{field}.record_hash", f"must be a RECORD hash string or null, not {_kind(record_hash)}")
    return FileRecord(
        path=r.path(doc, "path", f"{field}.path"),
        distribution=distribution,
        pre_sha256=r.digest(doc, "pre_sha256", f"{field}.pre_sha256"),
        post_sha256=r.digest(doc, "post_sha256", f"{field}.post_sha256"),
        pre_mode=r.mode(doc, "pre_mode", f"{field}.pre_mode"),
        post_mode=r.mode(doc, "post_mode", f"{field}.post_mode"),
        patches=tuple(patches),
        version=version,
        record_hash=record_hash,
    )


def _read_manifest(r: StateReader, doc: Any) -> Manifest:  # noqa: ANN401 - JSON
    versions = r.strings(doc, "distributions", "distributions")
    files = [_read_file(r, f, f"files[{i}]", versions) for i, f in enumerate(r.items(doc, "files", "files"))]
    seen: set[str] = set()
    for i, record in enumerate(files):
        if record.path in seen:
            raise r.fail(f"files[{i}].path", f"{record.path!r} is recorded twice")
        seen.add(record.path)
    return Manifest(
        tool_version=r.string(doc, "tool_version", "tool_version"),
        target=r.string(doc, "target", "target"),
        time=r.string(doc, "time", "time"),
        distributions=tuple(versions.items()),
        patches=tuple(_read_patch(r, p, f"patches[{i}]") for i, p in enumerate(r.items(doc, "patches", "patches"))),
        files=tuple(files),
    )


def _lines(doc: dict[str, Any]) -> str:
    """``doc`` as JSON with each top-level key, and each patch and file record, on a line of its own.

    Readable, diffable line by line, and encoded by the json module's C encoder (``indent`` would make it use
    the pure-Python one: a tenth of the speed on a manifest of 3,000 hunks).
    """
    import json  # noqa: PLC0415 - only when writing: status reads the manifest without the json package

    parts = []
    for key, value in doc.items():
        if isinstance(value, list) and value:
            items = ",\n    ".join(json.dumps(item) for item in value)
            parts.append(f"  {json.dumps(key)}: [\n    {items}\n  ]")
        else:
            parts.append(f"  {json.dumps(key)}: {json.dumps(value)}")
    return "{\n" + ",\n".join(parts) + "\n}\n"
