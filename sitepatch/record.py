"""Turn a plan into the manifest that records it."""

from __future__ import annotations

import time

from sitepatch import __version__
from sitepatch.manifest import HunkRecord, Manifest, PatchRecord
from sitepatch.plan import ALREADY, APPLIED, Plan

__all__ = ["manifest_for", "same_state"]


def __dir__() -> list[str]:
    return __all__


def manifest_for(plan: Plan, previous: Manifest | None) -> Manifest | None:
    """The manifest describing the target once ``plan`` is written (``previous`` if nothing changes).

    :returns: ``None`` when nothing is applied and nothing was before (an empty manifest when it was).
    """
    touched = {name for record in plan.records for name in record.patches}
    patches = []
    for result in plan.patches:
        if result.status not in (APPLIED, ALREADY):
            continue
        patch = result.patch
        dist = plan.target.get(patch.package)
        status = APPLIED if patch.name in touched else ALREADY
        files = tuple(
            (
                f.path,
                tuple(HunkRecord(h.index, h.status, h.line, h.offset, h.fuzz) for h in f.hunks),
            )
            for f in result.files
        )
        patches.append(
            PatchRecord(
                name=patch.name,
                number=patch.number,
                sha256=patch.sha256,
                package=patch.package,
                package_version=str(dist.version) if dist else "",
                status=status,
                header=patch.header.fields,
                files=files if status == APPLIED else (),
            )
        )
    if not patches and not plan.records and previous is None:
        return None
    # With a manifest from before, an empty one is written: "nothing applied now" is a state status can check.
    names = {p.package for p in patches} | {r.distribution for r in plan.records}
    versions = {str(k): str(v) for k, v in plan.target.versions.items()}
    distributions = tuple((n, versions[n]) for n in sorted(names) if n in versions)
    fresh = Manifest(
        tool_version=__version__,
        target=str(plan.target.root),
        time=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        distributions=distributions,
        patches=tuple(patches),
        files=plan.records,
    )
    if previous is not None and same_state(previous, fresh):
        return previous
    return fresh


def same_state(a: Manifest, b: Manifest) -> bool:
    """Whether two manifests record the same patches, files and versions (the time aside)."""

    def key(m: Manifest) -> tuple[object, ...]:
        return (m.distributions, tuple((p.name, p.sha256, p.status) for p in m.patches), m.files)

    return key(a) == key(b)
