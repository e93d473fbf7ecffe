"""``versions.lock``: the pinned environments and, for each, the patches that must apply and their results.

The lock is JSON. Each pin names the requirements file that reproduces its environment and records the
distribution versions, the sha256 of every patch file selected there, and the sha256 of every file's
post-image once the whole set is applied. Three checks use it:

* :func:`check_lock` (no install needed): every recorded patch file still has its recorded hash, and the
  patches the headers select for the pin's versions are exactly the recorded ones. A patch set changed
  without refreshing the lock fails here.
* :func:`verify_manifest`: after applying to an installed pin, the manifest matches the lock exactly.
* :func:`updated_pin`: refresh a pin's entry from a manifest.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from packaging.version import Version

from sitepatch._record import frozen, replace
from sitepatch.coverage import is_version
from sitepatch.dist import NormalizedName, canonicalize_name
from sitepatch.errors import ManifestError, PatchSetError
from sitepatch.manifest import Manifest
from sitepatch.model import Patch
from sitepatch.selection import select_patches

__all__ = ["LOCK_SCHEMA", "Lock", "Pin", "check_lock", "updated_pin", "verify_manifest"]


def __dir__() -> list[str]:
    return __all__


LOCK_SCHEMA = 1


@frozen
class Pin:
    """One pinned environment."""

    id: str
    python: str
    requirements: str
    """The fully locked requirements file, relative to the lock file."""
    distributions: tuple[tuple[str, str], ...]
    """The versions the requirements install, for the distributions patches name."""
    patches: tuple[tuple[str, str], ...]
    """Each selected patch file name with its sha256, in apply order."""
    files: tuple[tuple[str, str | None], ...]
    """Each patched file with the sha256 of its post-image (``None``: deleted)."""
    extra: tuple[tuple[str, Any], ...] = ()
    """Other keys (``exclude_newer``, ``overrides``, ``notes``), kept as written."""

    @property
    def versions(self) -> dict[NormalizedName, Version]:
        """The pinned versions, as :func:`sitepatch.selection.select_patches` wants them."""
        return {canonicalize_name(name): Version(version) for name, version in self.distributions}


@frozen
class Lock:
    """The whole lock file."""

    pins: tuple[Pin, ...]
    comment: str = ""

    def pin(self, pin_id: str) -> Pin:
        """The pin called ``pin_id``.

        :raises ManifestError: when there is none, listing the pins there are.
        """
        for pin in self.pins:
            if pin.id == pin_id:
                return pin
        known = ", ".join(p.id for p in self.pins)
        raise ManifestError(f"versions.lock has no pin {pin_id!r} (pins: {known})")

    @classmethod
    def from_json(cls, text: str, *, where: str) -> Lock:
        """Read a lock document.

        :raises ManifestError: when it is not a lock of a known schema.
        """
        try:
            doc = json.loads(text)
            if doc.get("schema_version") != LOCK_SCHEMA:
                raise ManifestError(f"{where}: schema_version must be {LOCK_SCHEMA}")
            pins = []
            for pin_id, body in doc["pins"].items():
                known = {"python", "requirements", "distributions", "patches", "files"}
                pins.append(
                    Pin(
                        id=pin_id,
                        python=str(body["python"]),
                        requirements=str(body["requirements"]),
                        distributions=tuple((str(k), str(v)) for k, v in body["distributions"].items()),
                        patches=tuple((str(k), str(v)) for k, v in body.get("patches", {}).items()),
                        files=tuple((str(k), v) for k, v in body.get("files", {}).items()),
                        extra=tuple((k, v) for k, v in body.items() if k not in known),
                    )
                )
            bad = [
                f"pins.{pin.id}.distributions.{name}: {version!r}"
                for pin in pins
                for name, version in pin.distributions
                if not is_version(version)
            ]
            if bad:
                msg = f"{where}: not a version: {', '.join(bad)}; fix the pin or regenerate it (nox -s 'lock(PIN)')"
                raise ManifestError(msg)
        except (ValueError, KeyError, TypeError, AttributeError) as err:
            raise ManifestError(f"{where}: not a valid lock file ({err})") from err
        return cls(tuple(pins), str(doc.get("comment", "")))

    def to_json(self) -> str:
        """The lock as JSON, pins in order, with a trailing newline."""
        doc: dict[str, Any] = {"schema_version": LOCK_SCHEMA}
        if self.comment:
            doc["comment"] = self.comment
        doc["pins"] = {
            pin.id: {
                "python": pin.python,
                "requirements": pin.requirements,
                **dict(pin.extra),
                "distributions": dict(pin.distributions),
                "patches": dict(pin.patches),
                "files": dict(pin.files),
            }
            for pin in self.pins
        }
        return json.dumps(doc, indent=2) + "\n"

    def with_pin(self, new: Pin) -> Lock:
        """A copy with ``new`` replacing the pin of the same id."""
        return replace(self, pins=tuple(new if p.id == new.id else p for p in self.pins))


def check_lock(lock: Lock, patches: Sequence[Patch]) -> list[str]:
    """Check the lock against the patch files, without installing anything.

    :returns: every problem, each a sentence saying what to do (empty when the lock is current).
    """
    problems: list[str] = []
    by_name = {p.name: p for p in patches}
    for pin in lock.pins:
        try:
            decisions = select_patches(patches, pin.versions)
        except PatchSetError as err:
            problems.extend(f"pin {pin.id}: {p}" for p in err.problems)
            continue
        selected = [d.patch.name for d in decisions if d.selected]
        recorded = [name for name, _ in pin.patches]
        problems.extend(
            f"pin {pin.id}: {name} is selected there but not in versions.lock; refresh the lock"
            for name in selected
            if name not in recorded
        )
        for name, sha in pin.patches:
            patch = by_name.get(name)
            if patch is None:
                problems.append(f"pin {pin.id}: versions.lock lists {name}, which is not in patches/; refresh the lock")
            elif name not in selected:
                problems.append(f"pin {pin.id}: versions.lock lists {name}, but its header no longer selects it")
            elif patch.sha256 != sha:
                problems.append(f"pin {pin.id}: {name} changed since versions.lock was written; refresh the lock")
    return problems


def verify_manifest(pin: Pin, manifest: Manifest | None) -> list[str]:
    """Compare what was applied to an installed pin with the lock.

    :returns: every difference (empty when the manifest matches the lock exactly).
    """
    if manifest is None:
        return [f"pin {pin.id}: nothing was applied (no manifest), but the lock lists {len(pin.patches)} patch(es)"]
    problems = []
    applied = [(p.name, p.sha256) for p in manifest.patches]
    if applied != list(pin.patches):
        problems.append(f"pin {pin.id}: applied patches {applied} differ from versions.lock {list(pin.patches)}")
    for record in manifest.patches:
        for path, hunks in record.files:
            fuzzed = [h.index for h in hunks if h.fuzz]
            if fuzzed:
                problems.append(f"pin {pin.id}: {record.name} needed fuzz on {path} (hunks {fuzzed}); refresh it")
    post = {f.path: f.post_sha256 for f in manifest.files}
    if post != dict(pin.files):
        changed = sorted(set(post.items()) ^ set(dict(pin.files).items()))
        problems.append(f"pin {pin.id}: patched files differ from versions.lock: {sorted({p for p, _ in changed})}")
    versions = dict(manifest.distributions)
    for name, version in pin.distributions:
        if name in versions and versions[name] != version:
            problems.append(f"pin {pin.id}: {name} is {versions[name]}, versions.lock pins {version}")
    return problems


def updated_pin(pin: Pin, manifest: Manifest | None) -> Pin:
    """The pin's entry refreshed from a manifest written by applying the set to that pin."""
    if manifest is None:
        return replace(pin, patches=(), files=())
    return replace(
        pin,
        patches=tuple((p.name, p.sha256) for p in manifest.patches),
        files=tuple((f.path, f.post_sha256) for f in manifest.files),
    )
