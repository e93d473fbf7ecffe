"""The manifest: what sitepatch applied to a target, recorded after every write.

It lives at ``<site-packages>/.sitepatch/manifest.json``, beside the pristine copies of every file sitepatch
changed (``.sitepatch/pristine/``), the lock and, while a run is writing, its journal. This module converts
between the JSON document and frozen records; it does no I/O.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sitepatch.errors import ManifestError

__all__ = [
    "MANIFEST_NAME",
    "SCHEMA_VERSION",
    "STATE_DIR",
    "FileRecord",
    "HunkRecord",
    "Manifest",
    "PatchRecord",
]


def __dir__() -> list[str]:
    return __all__


SCHEMA_VERSION = 1
"""The manifest format this version writes and reads."""

STATE_DIR = ".sitepatch"
"""The directory inside the target that holds the manifest, pristine copies, lock and journal."""

MANIFEST_NAME = "manifest.json"


@dataclass(frozen=True, slots=True)
class HunkRecord:
    """Where one hunk landed."""

    index: int
    status: str
    line: int | None
    offset: int
    fuzz: int


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
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

    def is_pre(self, digest: str | None, mode: int | None) -> bool:
        """Whether a file with this sha256 and mode (``None``, ``None``: absent) is the pristine image."""
        return digest == self.pre_sha256 and mode == self.pre_mode

    def is_post(self, digest: str | None, mode: int | None) -> bool:
        """Whether a file with this sha256 and mode (``None``, ``None``: absent) is the patched image."""
        return digest == self.post_sha256 and mode == self.post_mode


@dataclass(frozen=True, slots=True)
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
                }
                for f in self.files
            ],
        }
        return json.dumps(doc, indent=2, sort_keys=False) + "\n"

    @classmethod
    def from_json(cls, text: str, *, where: str) -> Manifest:
        """Read a manifest document.

        :param where: the file it came from, for error messages.
        :raises ManifestError: when it is not valid JSON, has an unknown schema version, or lacks fields.
        """
        try:
            doc: Any = json.loads(text)
        except ValueError as err:
            msg = f"{where}: not valid JSON ({err}); restore it or remove the .sitepatch directory and reinstall"
            raise ManifestError(msg) from err
        version = doc.get("schema_version") if isinstance(doc, dict) else None
        if version != SCHEMA_VERSION:
            msg = (
                f"{where}: manifest schema_version {version!r} is not {SCHEMA_VERSION}; "
                "it was written by another sitepatch version: use that version, or upgrade sitepatch"
            )
            raise ManifestError(msg)
        try:
            return cls(
                tool_version=str(doc["tool_version"]),
                target=str(doc["target"]),
                time=str(doc["time"]),
                distributions=tuple((str(k), str(v)) for k, v in doc["distributions"].items()),
                patches=tuple(
                    PatchRecord(
                        name=p["name"],
                        number=p["number"],
                        sha256=p["sha256"],
                        package=p["package"],
                        package_version=p["package_version"],
                        status=p["status"],
                        header=tuple((str(k), str(v)) for k, v in p["header"].items()),
                        files=tuple(
                            (
                                f["path"],
                                tuple(
                                    HunkRecord(h["index"], h["status"], h["line"], h["offset"], h["fuzz"])
                                    for h in f["hunks"]
                                ),
                            )
                            for f in p["files"]
                        ),
                    )
                    for p in doc["patches"]
                ),
                files=tuple(
                    FileRecord(
                        path=f["path"],
                        distribution=f["distribution"],
                        pre_sha256=f["pre_sha256"],
                        post_sha256=f["post_sha256"],
                        pre_mode=f["pre_mode"],
                        post_mode=f["post_mode"],
                        patches=tuple(f["patches"]),
                    )
                    for f in doc["files"]
                ),
            )
        except (KeyError, TypeError, AttributeError) as err:
            msg = f"{where}: manifest is missing a field ({err}); restore it or reinstall and apply again"
            raise ManifestError(msg) from err
