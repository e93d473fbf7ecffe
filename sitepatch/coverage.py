"""Which releases the patch set protects: the coverage record, the guard against unprotected installs, constraints.

The **coverage record** (``coverage.json`` beside the patch directory) is written by ``sweep --record`` and
``evidence``: the releases swept, each release's verdict per patch id, the sha256 of every variant it was made
with, and the test evidence per release and patch (defect shown unpatched, tests pass patched).

The **guard** (:func:`uncovered_patches`) decides, for an install, which patch ids leave a known defect in
place: the patch's package is installed, no variant is selected, and the installed version is *affected*:

1. at or past a variant's ``Applied-Upstream``: not affected;
2. a variant declares ``Affects``: affected exactly when a variant's ``Affects`` contains the version;
3. the record has evidence for this release and patch whose unpatched tests passed: not affected;
4. otherwise affected from the lowest ``Versions`` lower bound on, so a release newer than any swept one is
   affected for every patch not fixed upstream.

Before all of these, a release older than every one the record speaks for is *not verified* (affected):
unknown is not protected.

:func:`constraints_text` turns the record into a pip/uv constraints file admitting only releases on which
every patch id is covered (applies at fuzz 0, already present, fixed upstream or not affected) and that no
evidence contradicts.

**Pairings.** A release's ``paired``, ``group`` and ``verdicts`` are its default pairing's (the
``litellm-enterprise`` current a day after its upload); ``pairings`` lists the other admitted pairings the sweep
planned, each ``{paired, chosen, group, verdicts}``. A conflict or gap in any pairing is a problem of
:func:`check_coverage`, and :func:`constraints_text` admits a release only if every pairing is covered: a
constraints file cannot tie an enterprise version to a litellm version (``litellm[proxy]`` resolves the
companion itself, to the newest its extra admits), so a release is only as covered as its worst pairing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from sitepatch._jsonload import loads
from sitepatch._record import field, frozen
from sitepatch.errors import ManifestError
from sitepatch.model import Patch
from sitepatch.selection import Decision

__all__ = [
    "COVERAGE_SCHEMA",
    "CoverageRecord",
    "Uncovered",
    "affected",
    "check_coverage",
    "constraints_text",
    "covered_releases",
    "is_version",
    "pairings_of",
    "record_from_sweep",
    "require_current",
    "stale_variants",
    "uncovered_patches",
]


def __dir__() -> list[str]:
    return __all__


COVERAGE_SCHEMA = 1
_COVERED = ("applies", "already-present", "fixed-upstream")
_CELL_KEYS = ("status", "variant", "offset", "fuzz", "candidates", "gap")
"""What the record keeps of a sweep cell (the reasons and hunks stay in the sweep document)."""


_SHOWN_PROBLEMS = 5
"""How many of a malformed record's problems the error message names."""


def _cell_problems(where: str, verdicts: object) -> list[str]:
    if not isinstance(verdicts, dict):
        return [f"{where}.verdicts is {type(verdicts).__name__}, not an object"]
    problems = []
    for patch_id, cell in verdicts.items():
        if not isinstance(cell, dict) or not isinstance(cell.get("status"), str):
            problems.append(f"{where}.verdicts.{patch_id} is not an object with a string status")
        elif "variant" in cell and cell["variant"] is not None and not isinstance(cell["variant"], str):
            problems.append(f"{where}.verdicts.{patch_id}.variant is not a string")
    return problems


def _row_problems(version: object, row: object) -> list[str]:
    where = f"releases.{version}"
    if not isinstance(version, str) or not is_version(version):
        return [f"release key {version!r} is not a version"]
    if not isinstance(row, dict):
        return [f"{where} is {type(row).__name__}, not an object"]
    problems = _cell_problems(where, row.get("verdicts", {}))
    pairings = row.get("pairings", [])
    if not isinstance(pairings, list):
        return [*problems, f"{where}.pairings is not a list"]
    for i, pairing in enumerate([row, *pairings]):
        at = where if i == 0 else f"{where}.pairings[{i - 1}]"
        if not isinstance(pairing, dict):
            problems.append(f"{at} is not an object")
            continue
        paired = pairing.get("paired", {})
        if not isinstance(paired, dict) or not all(isinstance(v, str) for v in paired.values()):
            problems.append(f"{at}.paired is not an object of version strings")
        if i:
            problems.extend(_cell_problems(at, pairing.get("verdicts", {})))
    return problems


def _shape_problems(doc: Mapping[str, Any]) -> list[str]:
    """What is of the wrong type in a coverage record's document (empty when its shape is right)."""
    problems: list[str] = []
    if not isinstance(doc.get("package"), str):
        problems.append("package is not a string")
    releases = doc.get("releases")
    if not isinstance(releases, dict):
        return [*problems, f"releases is {type(releases).__name__}, not an object"]
    for version, row in releases.items():
        problems.extend(_row_problems(version, row))
    variants = doc.get("variants", {})
    if not isinstance(variants, dict) or not all(isinstance(v, str) for v in variants.values()):
        problems.append("variants is not an object of sha256 strings")
    evidence = doc.get("evidence", [])
    if not isinstance(evidence, list):
        return [*problems, f"evidence is {type(evidence).__name__}, not a list"]
    for i, entry in enumerate(evidence):
        if not isinstance(entry, dict):
            problems.append(f"evidence[{i}] is {type(entry).__name__}, not an object")
            continue
        bad = [k for k in ("release", "patch") if not isinstance(entry.get(k), str)]
        bad += [k for k in ("unpatched", "patched", "variant") if k in entry and not isinstance(entry[k], str)]
        if "tests" in entry and not isinstance(entry["tests"], dict):
            bad.append("tests")
        if bad:
            problems.append(f"evidence[{i}]: {', '.join(bad)} of the wrong type")
        elif not is_version(entry["release"]):
            problems.append(f"evidence[{i}].release {entry['release']!r} is not a version")
    return problems


def is_version(text: str) -> bool:
    """Whether ``text`` is a PEP 440 version.

    >>> is_version("1.81.0"), is_version("../x")
    (True, False)
    """
    try:
        Version(text)
    except InvalidVersion:
        return False
    return True


@frozen
class Uncovered:
    """A patch id whose defect an install keeps: no variant covers the installed version."""

    patch: str
    package: str
    version: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        """The JSON form: ``{"patch", "package", "version", "reason"}``."""
        return {"patch": self.patch, "package": self.package, "version": self.version, "reason": self.reason}


@frozen
class CoverageRecord:
    """The contents of ``coverage.json``."""

    package: str
    releases: Mapping[str, Mapping[str, Any]]
    """version -> ``{"paired": {...}, "group": n, "verdicts": {id: {status, variant, offset, fuzz}}}``, plus
    ``"pairings": [{"paired", "chosen", "group", "verdicts"}]`` where the extra admits more than one release."""
    variants: Mapping[str, str]
    """Each variant file name the sweep planned, with its sha256."""
    evidence: tuple[Mapping[str, Any], ...] = ()
    """``{release, patch, variant, patch_sha256, test_sha256, unpatched, patched, tests, date}`` entries."""
    generated: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def newest(self) -> Version | None:
        """The newest release swept."""
        return max((Version(v) for v in self.releases), default=None)

    def oldest(self, package: str) -> Version | None:
        """The oldest release of ``package`` the record speaks for.

        The swept package's oldest release, or the oldest version of a companion (``litellm-enterprise``) that a
        swept release was paired with.
        """
        if canonicalize_name(package) == canonicalize_name(self.package):
            return min((Version(v) for v in self.releases), default=None)
        paired: list[Version] = []
        for row in self.releases.values():
            for pairing in pairings_of(row):
                for name, text in pairing.get("paired", {}).items():
                    if canonicalize_name(name) == canonicalize_name(package):
                        try:
                            paired.append(Version(text))
                        except InvalidVersion:
                            continue
        return min(paired, default=None)

    @classmethod
    def load(cls, path: Path) -> CoverageRecord | None:
        """Read ``path``; ``None`` when it does not exist.

        :raises ManifestError: when it is not a coverage record of a known schema.
        """
        try:
            doc = loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as err:
            msg = f"{path}: not a readable coverage record ({err}); rerun sweep --record"
            raise ManifestError(msg) from err
        try:
            if doc.get("schema_version") != COVERAGE_SCHEMA:
                msg = f"{path}: schema_version must be {COVERAGE_SCHEMA}; rerun sweep --record"
                raise ManifestError(msg)
            problems = _shape_problems(doc)
            if problems:
                shown = "; ".join(problems[:_SHOWN_PROBLEMS])
                more = f" (and {len(problems) - _SHOWN_PROBLEMS} more)" if len(problems) > _SHOWN_PROBLEMS else ""
                msg = f"{path}: not a valid coverage record: {shown}{more}; rerun sweep --record"
                raise ManifestError(msg)
            return cls(
                package=str(doc["package"]),
                releases=dict(doc["releases"]),
                variants=dict(doc.get("variants", {})),
                evidence=tuple(doc.get("evidence", ())),
                generated=str(doc.get("generated", "")),
                extra={k: v for k, v in doc.items() if k not in _KEYS},
            )
        except (KeyError, TypeError, AttributeError) as err:
            msg = f"{path}: not a valid coverage record ({err}); rerun sweep --record"
            raise ManifestError(msg) from err

    def to_json(self) -> str:
        """The record as JSON with a trailing newline."""
        doc: dict[str, Any] = {
            "schema_version": COVERAGE_SCHEMA,
            "package": self.package,
            "generated": self.generated,
            **dict(self.extra),
            "variants": dict(sorted(self.variants.items())),
            "releases": {v: self.releases[v] for v in sorted(self.releases, key=Version)},
            "evidence": list(self.evidence),
        }
        import json  # noqa: PLC0415 - only when writing: check reads the record without the json package

        return json.dumps(doc, indent=1) + "\n"

    def group_evidence(self, release: str, patch_id: str) -> list[Mapping[str, Any]]:
        """The evidence of ``patch_id`` on ``release`` and on every release of its sweep group."""
        group = self.releases.get(release, {}).get("group")
        members = {v for v, row in self.releases.items() if group is not None and row.get("group") == group}
        members.add(release)
        return [e for e in self.evidence if e.get("release") in members and e.get("patch") == patch_id]

    def evidence_for(self, release: str, patch_id: str) -> list[Mapping[str, Any]]:
        """The evidence entries of ``patch_id`` on ``release``."""
        return [e for e in self.evidence if e.get("release") == release and e.get("patch") == patch_id]


_KEYS = {"schema_version", "package", "generated", "variants", "releases", "evidence"}


def pairings_of(row: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Every pairing of a release row: the default one (the row itself) first, then its ``pairings``."""
    return [row, *row.get("pairings", ())]


def _kept(verdicts: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    return {number: {k: v for k, v in cell.items() if k in _CELL_KEYS} for number, cell in verdicts.items()}


def record_from_sweep(document: Mapping[str, Any], previous: CoverageRecord | None = None) -> CoverageRecord:
    """The coverage record of a sweep document, keeping ``previous``'s evidence and releases not swept now."""
    releases: dict[str, Any] = dict(previous.releases) if previous is not None else {}
    for row in document["releases"]:
        entry: dict[str, Any] = {
            "upload_time": row.get("upload_time", ""),
            "paired": row.get("paired", {}),
            "group": row.get("group"),
            "verdicts": _kept(row["verdicts"]),
        }
        if row.get("pairings"):
            entry["admitted"] = row.get("admitted", {})
            entry["pairings"] = [
                {
                    "paired": pairing.get("paired", {}),
                    "chosen": pairing.get("chosen", ""),
                    "group": pairing.get("group"),
                    "verdicts": _kept(pairing["verdicts"]),
                }
                for pairing in row["pairings"]
            ]
        releases[row["version"]] = entry
    variants = {v["file"]: v["sha256"] for versions in document["patches"].values() for v in versions}
    return CoverageRecord(
        package=str(document.get("package", "litellm")),
        releases=releases,
        variants=variants,
        evidence=previous.evidence if previous is not None else (),
        generated=str(document.get("generated", "")),
        extra={"range": document.get("range", {}), "max_fuzz": document.get("max_fuzz", 0)},
    )


def _lower_bound(spec: SpecifierSet) -> Version | None:
    bounds = [Version(s.version) for s in spec if s.operator in (">=", ">", "==", "~=") and "*" not in s.version]
    return min(bounds, default=None)


def _by_number(patches: Sequence[Patch]) -> dict[str, list[Patch]]:
    numbers: dict[str, list[Patch]] = {}
    for patch in patches:
        numbers.setdefault(patch.number, []).append(patch)
    return numbers


def affected(variants: Sequence[Patch], version: Version, record: CoverageRecord | None = None) -> tuple[bool, str]:
    """Whether ``version`` of the variants' package has the defect of this patch id, and on what grounds."""
    for variant in variants:
        if variant.applied_upstream is not None and version >= variant.applied_upstream:
            return False, f"fixed upstream in {variant.applied_upstream}"
    declared = [v.affects for v in variants if v.affects is not None]
    if declared:
        inside = any(spec.contains(version, prereleases=True) for spec in declared)
        return inside, "inside Affects" if inside else "outside Affects"
    if record is not None:
        number = variants[0].number
        entries = record.evidence_for(str(version), number)
        if entries and all(e.get("unpatched") == "passed" for e in entries):
            return False, "its tests pass unpatched here (coverage record)"
        if record.newest is not None and version > record.newest:
            return True, f"newer than every swept release ({record.newest})"
    lowers = [b for v in variants if (b := _lower_bound(v.versions)) is not None]
    if lowers and version < min(lowers):
        return False, "older than every variant's Versions"
    return True, "no variant's Versions admit it"


def uncovered_patches(
    decisions: Sequence[Decision],
    versions: Mapping[NormalizedName, Version],
    record: CoverageRecord | None = None,
) -> tuple[Uncovered, ...]:
    """The patch ids whose defect the install keeps: package installed, affected, and no variant selected.

    Below the oldest release the ``record`` speaks for, a patch id not fixed upstream is reported as *not
    verified*: nothing there was swept or tested.
    """
    found: list[Uncovered] = []
    selected = {d.patch.number for d in decisions if d.selected}
    floors: dict[str, Version | None] = {}
    for number, variants in _by_number([d.patch for d in decisions]).items():
        if number in selected:
            continue
        package = canonicalize_name(variants[0].package)
        installed = versions.get(package)
        if installed is None:
            continue
        if record is not None and package not in floors:
            floors[package] = record.oldest(package)
        floor = floors.get(package)
        fixed = any(v.applied_upstream is not None and installed >= v.applied_upstream for v in variants)
        if floor is not None and installed < floor and not fixed:
            # Nothing below the record was swept or tested: whether the defect is there is unknown, and unknown
            # is not protected (an Affects may only say where the defect was looked for).
            why = f"not verified: older than every swept release ({package} {floor})"
            found.append(Uncovered(number, str(package), str(installed), why))
            continue
        hit, why = affected(variants, installed, record)
        if hit:
            found.append(Uncovered(number, str(package), str(installed), why))
    return tuple(found)


def _release_covered(
    version: str, row: Mapping[str, Any], numbers: Mapping[str, Sequence[Patch]], record: CoverageRecord
) -> tuple[bool, str]:
    """Whether every pairing of the release is covered (see :func:`_pairing_covered`), and why not."""
    default: Mapping[str, Any] = row.get("verdicts", {})
    for index, pairing in enumerate(pairings_of(row)):
        verdicts: Mapping[str, Any] = pairing.get("verdicts", {})

        def evidence(number: str, verdicts: Mapping[str, Any] = verdicts) -> list[Mapping[str, Any]]:
            # Evidence was taken on the default pairing; it speaks for another pairing only where that pairing
            # has the same verdict and variant (the same code was applied and tested).
            same = _same_cell(verdicts.get(number) or {}, default.get(number) or {})
            return record.group_evidence(version, number) if same else []

        ok, why = _pairing_covered(version, pairing, numbers, record, evidence)
        if not ok:
            if index:
                where = ", ".join(f"{k} {v}" for k, v in pairing.get("paired", {}).items())
                return False, f"with {where}: {why}"
            return False, why
    return True, ""


def _same_cell(one: Mapping[str, Any], other: Mapping[str, Any]) -> bool:
    return (one.get("status"), one.get("variant")) == (other.get("status"), other.get("variant"))


def _pairing_covered(
    version: str,
    row: Mapping[str, Any],
    numbers: Mapping[str, Sequence[Patch]],
    record: CoverageRecord,
    group_evidence: Callable[[str], list[Mapping[str, Any]]],
) -> tuple[bool, str]:
    verdicts: Mapping[str, Any] = row.get("verdicts", {})
    for number, variants in numbers.items():
        cell: Mapping[str, Any] = verdicts.get(number) or {}
        status = cell.get("status")
        if status in _COVERED:
            if status == "applies" and int(cell.get("fuzz", 0) or 0) > 0:
                return False, f"{number} applies only with fuzz {cell['fuzz']}"
            # Evidence of the release's group (same files, same variants) speaks for the release.
            evidence = group_evidence(number)
            if status == "fixed-upstream":
                contradicted = [e for e in evidence if e.get("unpatched") == "defect-shown"]
                # A patch whose dependency the release still needs cannot pass unpatched there: its tests
                # exercise the dependency's code path too, so `patched` runs are that proof (as in nox).
                needed = {dep for variant in variants for dep in variant.depends}
                if any((verdicts.get(dep) or {}).get("status") == "applies" for dep in needed):
                    contradicted = [e for e in contradicted if e.get("patched") not in ("passed", "not-applied")]
                if contradicted:
                    where = contradicted[0]["release"]
                    if needed and contradicted[0].get("patched") == "failed":
                        return (
                            False,
                            f"{number}: marked fixed upstream, but its tests fail with the set applied on {where}",
                        )
                    return False, f"{number}: marked fixed upstream, but its tests fail unpatched on {where}"
                continue
            failing = [e for e in evidence if e.get("patched") in ("failed", "apply-failed")]
            if failing:
                return (
                    False,
                    f"{number}: tests do not pass patched on {failing[0]['release']} ({failing[0]['patched']})",
                )
            continue
        if status == "not-selected":
            package = canonicalize_name(variants[0].package)
            paired: Mapping[str, str] = row.get("paired", {})
            text = version if package == canonicalize_name(record.package) else paired.get(str(package))
            if text is None:
                continue
            hit, why = affected(variants, Version(text), record)
            if hit:
                return False, f"{number} not covered ({why})"
            continue
        return False, f"{number}: {status or 'not swept'}"
    return True, ""


def covered_releases(record: CoverageRecord, patches: Sequence[Patch]) -> tuple[list[Version], dict[str, str]]:
    """The swept releases on which every patch id is covered, and why each other release is not."""
    numbers = _by_number(patches)
    good: list[Version] = []
    bad: dict[str, str] = {}
    for version in sorted(record.releases, key=Version):
        ok, why = _release_covered(version, record.releases[version], numbers, record)
        if ok:
            good.append(Version(version))
        else:
            bad[version] = why
    return good, bad


def _exclusions(excluded: Sequence[Version], swept: Sequence[Version]) -> list[str]:
    """``!=`` clauses for ``excluded``; a whole X.Y series excluded (every swept release of it) as ``!=X.Y.*``.

    >>> swept = [Version(v) for v in ("1.81.1", "1.81.3", "1.82.0", "1.82.1")]
    >>> _exclusions([Version("1.81.1"), Version("1.81.3"), Version("1.82.0")], swept)
    ['!=1.81.*', '!=1.82.0']
    """
    series: dict[tuple[int, ...], list[Version]] = {}
    for version in swept:
        series.setdefault(version.release[:2], []).append(version)
    out: list[str] = []
    done: set[tuple[int, ...]] = set()
    for version in excluded:
        key = version.release[:2]
        if key in done:
            continue
        if set(series.get(key, [])) <= set(excluded):
            out.append(f"!={'.'.join(str(p) for p in key)}.*")
            done.add(key)
        else:
            out.append(f"!={version}")
    return out


def constraints_text(record: CoverageRecord, patches: Sequence[Patch]) -> str:
    """A pip/uv constraints file admitting only the swept releases on which every patch id is covered.

    :raises ManifestError: when the record was made with other variant files (:func:`require_current`), or
        when no release is covered.
    """
    require_current(record, patches)
    good, bad = covered_releases(record, patches)
    if not good:
        msg = f"no swept {record.package} release is covered by every patch ({len(bad)} swept); nothing to admit"
        raise ManifestError(msg)
    low, high = good[0], good[-1]
    excluded = sorted(Version(v) for v in bad if low < Version(v) < high)
    spec = [f">={low}", f"<={high}", *_exclusions(excluded, [Version(v) for v in record.releases])]
    lines = [
        f"# Generated by `apply_patches.py constraints` from the coverage record of {record.generated or 'a sweep'}.",
        (
            f"# Admits the {len(good)} swept {record.package} release(s) on which every patch is covered; "
            f"excludes {len(bad)}."
        ),
        f"# Use: uv pip install -c THIS_FILE '{record.package}[proxy]'",
    ]
    lines.extend(f"#   {v}: {bad[v]}" for v in sorted(bad, key=Version))
    lines.append(f"{record.package}{','.join(spec)}")
    return "\n".join(lines) + "\n"


def stale_variants(record: CoverageRecord, patches: Sequence[Patch]) -> list[str]:
    """The variant files where the record and the patch set differ: gone, changed (sha256) or never swept.

    Each is a sentence naming the variant; empty when the record was made with exactly these files.
    """
    problems: list[str] = []
    current = {p.name: p.sha256 for p in patches}
    for name, sha in sorted(record.variants.items()):
        if name not in current:
            problems.append(f"{name} was swept but is no longer in the patch set")
        elif current[name] != sha:
            problems.append(f"{name} changed since it was swept (its sha256 is not the recorded one)")
    problems.extend(f"{name} was never swept" for name in sorted(set(current) - set(record.variants)))
    return problems


def require_current(record: CoverageRecord, patches: Sequence[Patch], where: str = "coverage record") -> None:
    """Refuse a record whose variants are not the patch set's files (for ``constraints``).

    Its verdicts were computed with other files: which releases the current set protects is unknown until the
    set is swept again, so nothing is admitted on its word (excluding only the releases a stale variant names
    would still trust verdicts that other variants' changed ``Versions`` may have moved).

    :raises ManifestError: naming every variant that differs and the command to rerun.
    """
    stale = stale_variants(record, patches)
    if stale:
        msg = (
            f"{where}: made with other patch files than the patch set's ({'; '.join(stale)}); its verdicts do not "
            f"say which releases the current set protects: rerun `apply_patches.py sweep --record {where}` "
            "(and `evidence`) first"
        )
        raise ManifestError(msg)


def check_coverage(record: CoverageRecord, patches: Sequence[Patch]) -> list[str]:
    """Problems of the record against the current patch set (for ``lock check``)."""
    current = {p.name: p.sha256 for p in patches}
    problems = [
        f"coverage record: {text.split(' (', 1)[0]}; rerun sweep --record" for text in stale_variants(record, patches)
    ]
    for version, row in record.releases.items():
        try:
            Version(version)
        except InvalidVersion:
            problems.append(f"coverage record: {version!r} is not a version")
            continue
        for index, pairing in enumerate(pairings_of(row)):
            # Every pairing the sweep planned counts, not only the default one.
            where = f"{record.package} {version}"
            if index:
                where += "".join(f" with {k} {v}" for k, v in pairing.get("paired", {}).items())
            for number, cell in pairing.get("verdicts", {}).items():
                if cell.get("status") in ("conflicts", "error"):
                    problems.append(
                        f"coverage record: {number} {cell.get('status')} on {where} "
                        f"({cell.get('variant', '')}); fix the variant's Versions or refresh it"
                    )
                elif cell.get("gap"):
                    problems.append(
                        f"coverage record: {number} leaves {where} unprotected (a gap: no variant, and the "
                        "release has the defect); add a variant or widen one (refresh), or declare Affects"
                    )
    for entry in record.evidence:
        variant = str(entry.get("variant", ""))
        if variant in current and entry.get("patch_sha256") not in (None, current[variant]):
            problems.append(
                f"coverage record: evidence for {variant} on {entry.get('release')} is for an older patch file; "
                "rerun evidence"
            )
    return problems
