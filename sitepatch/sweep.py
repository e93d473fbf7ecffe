"""Sweep a patch set over every release of a package on the index, without installing anything.

For each release, :func:`sweep` reads (through :class:`sitepatch.remote.ReleaseCache`) the release's RECORD,
METADATA and only the files the patches touch, pairs each LiteLLM release with the ``litellm-enterprise``
releases its ``[proxy]`` extra admits, and plans the patch set in memory with the same
:func:`sitepatch.plan.plan_run` that ``apply`` uses. Each patch is parsed once; each plan runs once per
*group*: releases whose touched files are byte-identical (equal RECORD hashes) and that select the same
variants share one plan.

Pairings (:func:`choose_pairings`): the *default* pairing is the newest admitted ``litellm-enterprise`` on the
index a day after the release was uploaded (what an install made then got); its verdicts are the release's own
(``paired``, ``group``, ``verdicts``). Every other release the extra admits and the index has is an *extra*
pairing, planned the same way (the selection sees both versions, every variant at the configured fuzz) and
listed in ``pairings``. A pin admits one release, so only ranges add pairings (litellm 1.82.1 to 1.82.5:
``>=0.1.33,<0.2.0``, 63 releases on the index). Planning them all is cheap (their touched files repeat, and
plans and probes are shared by equal bytes), and only all of them found the conflict on 0.1.33.post2. With
``every_pairing=False`` (``sweep --pairings ends``) a range of more than :data:`FEW_PAIRINGS` releases is
paired only with its lowest, the default and its newest (what pip installs today).

Verdicts per release and patch id:

``applies``
    the selected variant applies (the largest hunk offset and fuzz are reported);
``already-present``
    every hunk's change is already in the release;
``conflicts``
    the selected variant does not apply (the failed hunks and the nearest lines are reported);
``not-selected``
    no variant's ``Versions`` (or ``Requires``) admits the release; ``candidates`` names the variants that
    would apply there at fuzz 0 (a *probe*: each variant planned alone on the pristine files);
``fixed-upstream``
    the release is at or past a variant's ``Applied-Upstream``;
``error``
    two variants are selected at once.

Prerelease policy: only final releases (and post releases) are swept unless ``prereleases=True``; yanked
releases are skipped. A selected patch still sees prereleases as versions like any other (see README).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from packaging.markers import Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from sitepatch._record import field, frozen
from sitepatch.coverage import affected
from sitepatch.dist import Distribution, Target
from sitepatch.errors import PatchSetError
from sitepatch.model import Patch
from sitepatch.plan import ALREADY, APPLIED, FileState, PatchResult, plan_run
from sitepatch.remote import FetchStats, Release, ReleaseCache, ReleaseFiles
from sitepatch.selection import Decision, select_patches

__all__ = [
    "FEW_PAIRINGS",
    "VERDICTS",
    "Cell",
    "Pairing",
    "Probe",
    "ReleaseRow",
    "SweepResult",
    "choose_pairings",
    "choose_releases",
    "enterprise_pin",
    "sweep",
    "sweep_document",
    "sweep_lines",
]


def __dir__() -> list[str]:
    return __all__


APPLIES = "applies"
ALREADY_PRESENT = "already-present"
CONFLICTS = "conflicts"
NOT_SELECTED = "not-selected"
FIXED_UPSTREAM = "fixed-upstream"
ERROR = "error"
MISSING = "missing"
VERDICTS = (APPLIES, ALREADY_PRESENT, CONFLICTS, NOT_SELECTED, FIXED_UPSTREAM, ERROR)
"""Every verdict a cell can have, in the order the report lists them."""
_PROBE_FUZZ = 2
FEW_PAIRINGS = 3
"""``--pairings ends``: up to this many admitted releases, every one is paired; beyond, the lowest, default, newest."""
ENTERPRISE = canonicalize_name("litellm-enterprise")


@frozen
class Probe:
    """One variant planned alone on a group's pristine files, whatever its ``Versions`` say."""

    variant: str
    status: str
    """``applies``, ``already-present``, ``conflicts`` or ``missing`` (its package is not in the release)."""
    offset: int = 0
    fuzz: int = 0
    hunks: tuple[dict[str, Any], ...] = ()
    """For ``conflicts``: each failed hunk with its expected and nearest line."""


@frozen
class Cell:
    """The verdict of one patch id on one release."""

    patch: str
    """The patch id (``0010``)."""
    status: str
    variant: str = ""
    """The selected variant's file name (empty when none is selected)."""
    offset: int = 0
    """The largest hunk offset (absolute, in lines)."""
    fuzz: int = 0
    reason: str = ""
    hunks: tuple[dict[str, Any], ...] = ()
    candidates: tuple[str, ...] = ()
    """For ``not-selected``: variants that would apply here at fuzz 0."""
    gap: bool = False
    """For ``not-selected``: the release is affected by the defect (by the guard's rules), so it is unprotected."""


@frozen
class Pairing:
    """One extra pairing of a release (not its default one) and every patch id's verdict there."""

    paired: tuple[tuple[str, str], ...]
    """The companion and its version (``litellm-enterprise``, ``0.1.83``)."""
    chosen: str
    """Why it was planned: ``lowest admitted``, ``newest admitted`` or ``admitted`` (all of a few)."""
    group: int
    content: int
    cells: tuple[Cell, ...]

    def cell(self, patch_id: str) -> Cell | None:
        """The verdict of ``patch_id`` here, or ``None``."""
        return next((c for c in self.cells if c.patch == patch_id), None)


@frozen
class ReleaseRow:
    """One release of the swept package and every patch id's verdict on it."""

    version: Version
    upload_time: str
    wheel: str
    paired: tuple[tuple[str, str], ...]
    """Other distributions the release was paired with (``litellm-enterprise`` and its version)."""
    group: int
    """Releases with the same group have byte-identical touched files and the same selected variants."""
    content: int
    """Releases with the same content id have byte-identical touched files."""
    cells: tuple[Cell, ...]
    pairings: tuple[Pairing, ...] = ()
    """The other admitted pairings planned (see :func:`choose_pairings`); empty where the extra pins one."""
    admitted: tuple[tuple[str, str, int], ...] = ()
    """For each companion: the extra's specifier and how many releases on the index it admits."""

    def cell(self, patch_id: str) -> Cell | None:
        """The verdict of ``patch_id`` here, or ``None``."""
        return next((c for c in self.cells if c.patch == patch_id), None)

    def every_cell(self) -> Iterator[tuple[tuple[tuple[str, str], ...], Cell]]:
        """Each verdict of every pairing planned (the default pairing first), with its pairing."""
        for cell in self.cells:
            yield self.paired, cell
        for pairing in self.pairings:
            for cell in pairing.cells:
                yield pairing.paired, cell


@frozen
class SweepResult:
    """A whole sweep."""

    package: str
    rows: tuple[ReleaseRow, ...]
    patches: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]
    """Each patch id with its variants' file names and sha256, in order."""
    probes: Mapping[int, tuple[Probe, ...]]
    """Each content id's probes, one per variant."""
    files: Mapping[int, tuple[tuple[str, str], ...]]
    """Each content id's touched files with their RECORD hashes."""
    max_fuzz: int
    generated: str
    stats: FetchStats = field(default_factory=FetchStats)
    skipped: tuple[tuple[str, str], ...] = ()
    """Releases in range that were not swept, with why (yanked, no wheel)."""

    @property
    def patch_ids(self) -> tuple[str, ...]:
        """The patch ids, in order."""
        return tuple(number for number, _ in self.patches)


def enterprise_pin(requires_dist: Iterable[str], extra: str = "proxy", name: str = ENTERPRISE) -> SpecifierSet | None:
    """The specifier the ``extra`` of a LiteLLM release puts on ``name`` (``litellm-enterprise``; ``None``: none).

    >>> str(enterprise_pin(['litellm-enterprise (==0.1.27) ; extra == "proxy"', "httpx>=0.23"]))
    '==0.1.27'
    """
    for text in requires_dist:
        try:
            requirement = Requirement(text)
        except InvalidRequirement:
            continue
        if canonicalize_name(requirement.name) != canonicalize_name(name):
            continue
        marker: Marker | None = requirement.marker
        if marker is None or marker.evaluate({"extra": extra}):
            return requirement.specifier
    return None


def choose_releases(
    releases: Sequence[Release],
    *,
    lower: Version | None = None,
    upper: Version | None = None,
    only: Sequence[Version] = (),
    prereleases: bool = False,
) -> tuple[tuple[Release, ...], tuple[tuple[str, str], ...]]:
    """The releases to sweep, oldest first, and those left out in range with why.

    :param lower: the oldest release to sweep (inclusive).
    :param upper: the newest release to sweep (inclusive).
    :param only: exactly these versions (``--releases``), overriding the range.
    :param prereleases: include pre- and development releases.
    """
    chosen: list[Release] = []
    left_out: list[tuple[str, str]] = []
    wanted = set(only)
    for release in releases:
        version = release.version
        if wanted:
            if version in wanted:
                chosen.append(release)
            continue
        if (lower is not None and version < lower) or (upper is not None and version > upper):
            continue
        if (version.is_prerelease or version.is_devrelease) and not prereleases:
            continue
        if release.yanked:
            left_out.append((str(version), "yanked"))
            continue
        chosen.append(release)
    return tuple(chosen), tuple(left_out)


class _MemoryReader:
    """A :class:`sitepatch.plan.Reader` over files held in memory."""

    def __init__(self, files: Mapping[str, bytes]) -> None:
        self._files = files

    def read(self, path: str) -> FileState | None:
        data = self._files.get(path)
        return FileState(data) if data is not None else None

    def pristine(self, path: str) -> bytes | None:  # noqa: ARG002 - nothing was ever applied here
        return None

    def unsafe(self, path: str) -> str | None:  # noqa: ARG002 - no file system, no symlinks
        return None


def _distribution(files: ReleaseFiles) -> Distribution:
    record = dict(files.record)
    # ``owns`` decides new files by top-level name: keep the release's top levels known.
    for top in files.top_levels:
        record.setdefault(f"{top}/", "")
    name = canonicalize_name(files.release.name)
    dist_info = Path(f"{name}-{files.release.version}.dist-info")
    return Distribution(name, files.release.version, dist_info, editable=False, _loaded={"record": record})


def _patch_paths(patches: Sequence[Patch]) -> dict[NormalizedName, list[str]]:
    paths: dict[NormalizedName, list[str]] = {}
    for patch in patches:
        bucket = paths.setdefault(canonicalize_name(patch.package), [])
        for fp in patch.files:
            for path in (fp.source_path, fp.target_path):
                if path is not None and path not in bucket:
                    bucket.append(path)
    return paths


def _largest(result: PatchResult) -> tuple[int, int]:
    hunks = [h for f in result.files for h in f.hunks]
    return max((abs(h.offset) for h in hunks), default=0), max((h.fuzz for h in hunks), default=0)


def _failed_hunks(result: PatchResult) -> tuple[dict[str, Any], ...]:
    return tuple(
        {
            "file": f.path,
            "hunk": h.index,
            "status": h.status,
            "expected_line": h.expected_line,
            "nearest_line": h.nearest_line,
            "candidates": list(h.candidates),
        }
        for f in result.files
        for h in f.hunks
        if h.status not in (APPLIED, ALREADY)
    ) or tuple({"file": f.path, "hunk": 0, "status": f.status, "reason": f.reason} for f in result.files if f.reason)


class _World:
    """One combination of release files: the target, the reader and the plans made on it, memoised."""

    def __init__(self, parts: Sequence[ReleaseFiles], shared: dict[tuple[str, tuple[str, ...]], Probe]) -> None:
        """:param shared: probes of every world, by variant and the hashes of the files it touches."""
        distributions = {canonicalize_name(p.release.name): _distribution(p) for p in parts}
        self.target = Target(Path("<sweep>"), distributions)
        merged: dict[str, bytes] = {}
        self.hashes: dict[str, str] = {}
        for part in parts:
            merged.update(part.files)
            self.hashes.update(part.record)
        self.reader = _MemoryReader(merged)
        self.plans: dict[tuple[str, ...], tuple[PatchResult, ...]] = {}
        self.probes: dict[str, Probe] = {}
        self.shared = shared

    def plan(self, decisions: Sequence[Decision], max_fuzz: int) -> dict[str, PatchResult]:
        key = tuple(d.patch.name for d in decisions if d.selected)
        if key not in self.plans:
            self.plans[key] = plan_run(decisions, self.target, self.reader, None, max_fuzz=max_fuzz).patches
        return {r.patch.name: r for r in self.plans[key]}

    def probe(self, patch: Patch) -> Probe:
        if patch.name in self.probes:
            return self.probes[patch.name]
        # A variant planned alone depends only on the files it touches: other worlds with the same bytes
        # there share its probe (most releases change some touched file, few change every one).
        paths = sorted({p for fp in patch.files for p in (fp.source_path, fp.target_path) if p is not None})
        key = (patch.name, tuple(self.hashes.get(p, "-") for p in paths))
        if self.target.get(patch.package) is not None and key in self.shared:
            self.probes[patch.name] = self.shared[key]
            return self.shared[key]
        if self.target.get(patch.package) is None:
            probe = Probe(patch.name, MISSING)
        else:
            (result,) = plan_run(
                [Decision(patch, selected=True, reason="")], self.target, self.reader, None, max_fuzz=_PROBE_FUZZ
            ).patches
            offset, fuzz = _largest(result)
            if result.status == APPLIED:
                probe = Probe(patch.name, APPLIES, offset, fuzz)
            elif result.status == ALREADY:
                probe = Probe(patch.name, ALREADY_PRESENT)
            else:
                probe = Probe(patch.name, CONFLICTS, hunks=_failed_hunks(result))
            self.shared[key] = probe
        self.probes[patch.name] = probe
        return probe


def _cells(  # noqa: PLR0913 - the release's inputs, each distinct
    numbers: Mapping[str, Sequence[Patch]],
    decisions: Sequence[Decision],
    world: _World,
    *,
    max_fuzz: int,
    error: str,
    versions: Mapping[NormalizedName, Version],
) -> tuple[Cell, ...]:
    by_name = {d.patch.name: d for d in decisions}
    results = world.plan(decisions, max_fuzz) if not error else {}
    cells: list[Cell] = []
    for number, variants in numbers.items():
        chosen = [v for v in variants if by_name[v.name].selected]
        if error and chosen:
            cells.append(Cell(number, ERROR, reason=error))
            continue
        if chosen:
            variant = chosen[0]
            result = results[variant.name]
            offset, fuzz = _largest(result)
            if result.status == APPLIED:
                cells.append(Cell(number, APPLIES, variant.name, offset, fuzz))
            elif result.status == ALREADY:
                cells.append(Cell(number, ALREADY_PRESENT, variant.name, reason=result.reason))
            else:
                cells.append(Cell(number, CONFLICTS, variant.name, reason=result.reason, hunks=_failed_hunks(result)))
            continue
        reasons = [f"{v.name}: {by_name[v.name].reason}" for v in variants]
        upstream = [v for v in variants if by_name[v.name].reason.startswith("fixed upstream")]
        candidates = tuple(v.name for v in variants if (p := world.probe(v)).status == APPLIES and p.fuzz == 0)
        status = FIXED_UPSTREAM if upstream else NOT_SELECTED
        installed = versions.get(canonicalize_name(variants[0].package))
        # The guard's rule (sitepatch.coverage.affected), without test evidence: a gap leaves a defect in place.
        gap = status == NOT_SELECTED and installed is not None and affected(variants, installed)[0]
        cells.append(Cell(number, status, reason="; ".join(reasons), candidates=candidates, gap=gap))
    return tuple(cells)


def choose_pairings(
    spec: SpecifierSet, companions: Sequence[Release], upload_time: str, *, every: bool = True
) -> tuple[tuple[Release, str], ...]:
    """The companion releases to pair a release with, the default one first, each with why it was chosen.

    The default is the newest admitted release on the index a day after ``upload_time`` (:func:`_as_of`). Then,
    oldest first: every other admitted release (``every``, or at most :data:`FEW_PAIRINGS` of them), else
    the lowest and the newest admitted ones (an install today gets the newest; an older install anything
    between, which is then not planned).

    :param spec: what the release's extra puts on the companion.
    :param companions: the companion's releases on the index, oldest first.
    """
    fitting = _fitting(spec, companions)
    if not fitting:
        return ()
    default = _as_of(fitting, upload_time)
    chosen: list[tuple[Release, str]] = [(default, "as of upload")]
    # Only releases the specifier itself admits (not the stand-ins for a pin the index lacks).
    admitted = [c for c in fitting if spec.contains(c.version, prereleases=True)]
    if every or len(admitted) <= FEW_PAIRINGS:
        chosen.extend((c, "admitted") for c in admitted if c is not default)
    else:
        if admitted[0] is not default:
            chosen.append((admitted[0], "lowest admitted"))
        if admitted[-1] is not default:
            chosen.append((admitted[-1], "newest admitted"))
    return tuple(chosen)


class _Sweeper:
    """The state shared by every release of one sweep: worlds, probes, content and group ids, companion files."""

    def __init__(self, patches: Sequence[Patch], cache: ReleaseCache, max_fuzz: int) -> None:
        self.patches = patches
        self.cache = cache
        self.max_fuzz = max_fuzz
        self.paths = _patch_paths(patches)
        self.numbers: dict[str, list[Patch]] = {}
        for patch in patches:
            self.numbers.setdefault(patch.number, []).append(patch)
        self.companion_files: dict[tuple[str, Version], ReleaseFiles] = {}
        self.worlds: dict[tuple[tuple[str, str, str], ...], _World] = {}
        self.shared_probes: dict[tuple[str, tuple[str, ...]], Probe] = {}
        self.content_ids: dict[tuple[tuple[str, str, str], ...], int] = {}
        self.group_ids: dict[tuple[int, tuple[str, ...]], int] = {}

    def files(self, release: Release) -> ReleaseFiles:
        return self.cache.files(release, self.paths.get(canonicalize_name(release.name), []))

    def companion(self, release: Release) -> ReleaseFiles:
        key = (canonicalize_name(release.name), release.version)
        if key not in self.companion_files:
            self.companion_files[key] = self.files(release)
        return self.companion_files[key]

    def plan(self, parts: Sequence[ReleaseFiles]) -> tuple[int, int, tuple[Cell, ...]]:
        """The group id, content id and cells of one combination of release files."""
        key = tuple(
            (part.release.name, path, part.record.get(path, "")) for part in parts for path in sorted(part.record)
        )
        if key not in self.worlds:
            self.worlds[key] = _World(parts, self.shared_probes)
        world = self.worlds[key]
        content = self.content_ids.setdefault(key, len(self.content_ids) + 1)
        versions = {canonicalize_name(p.release.name): p.release.version for p in parts}
        error = ""
        try:
            decisions = select_patches(self.patches, versions)
        except PatchSetError as err:
            error = str(err)
            decisions = tuple(
                Decision(p, selected=(dec := _decide_one(p, versions)), reason="" if dec else "not selected")
                for p in self.patches
            )
        selected = tuple(d.patch.name for d in decisions if d.selected)
        group = self.group_ids.setdefault((content, selected), len(self.group_ids) + 1)
        # A plan made for one release is valid for all of its group: same bytes, same selection.
        cells = _cells(self.numbers, decisions, world, max_fuzz=self.max_fuzz, error=error, versions=versions)
        return group, content, cells


def sweep(  # noqa: PLR0913 - the sweep's inputs, each distinct
    patches: Sequence[Patch],
    releases: Sequence[Release],
    cache: ReleaseCache,
    *,
    companions: Sequence[Release] = (),
    max_fuzz: int = 0,
    skipped: Sequence[tuple[str, str]] = (),
    progress: Callable[[str], None] | None = None,
    every_pairing: bool = True,
) -> SweepResult:
    """Plan every variant of every patch against each of ``releases``, with each pairing its extra admits.

    :param patches: the parsed patch set (each patch parsed once, by the caller).
    :param releases: the releases of the swept package (LiteLLM), oldest first.
    :param cache: where release files come from (the index, or the cache of an earlier run).
    :param companions: the ``litellm-enterprise`` releases; each LiteLLM release is paired with those its
        ``[proxy]`` extra admits (:func:`choose_pairings`): by default with the newest one that was on the index
        a day after the release (what an install with ``--exclude-newer`` of that date gets; the newest admitted
        one when none is that old), and in ``pairings`` with the others.
    :param max_fuzz: the fuzz ``apply`` would be run with (default 0).
    :param every_pairing: pair with every admitted companion release (``False``: a range of more than
        :data:`FEW_PAIRINGS` only with its lowest, default and newest).
    :raises sitepatch.remote.FetchError: when a release cannot be read.
    """
    sweeper = _Sweeper(patches, cache, max_fuzz)
    package = releases[0].name if releases else "litellm"
    rows: list[ReleaseRow] = []
    for release in releases:
        if progress is not None:
            progress(f"{release.name} {release.version}")
        main = sweeper.files(release)
        spec = enterprise_pin(main.requires_dist, name=companions[0].name) if companions else None
        chosen = choose_pairings(spec, companions, release.upload_time, every=every_pairing) if spec else ()
        admitted: tuple[tuple[str, str, int], ...] = ()
        if spec is not None and len(chosen) > 1:
            count = sum(1 for c in _fitting(spec, companions) if spec.contains(c.version, prereleases=True))
            admitted = ((companions[0].name, str(spec), count),)
        if not chosen:
            group, content, cells = sweeper.plan([main])
            rows.append(ReleaseRow(release.version, release.upload_time, release.wheel, (), group, content, cells))
            continue
        planned = [(((c.name, str(c.version)),), why, *sweeper.plan([main, sweeper.companion(c)])) for c, why in chosen]
        (paired, _, group, content, cells), *others = planned
        extra = tuple(Pairing(p, why, g, n, c) for p, why, g, n, c in others)
        rows.append(
            ReleaseRow(
                release.version, release.upload_time, release.wheel, paired, group, content, cells, extra, admitted
            )
        )
    worlds = sweeper.worlds
    probes = {sweeper.content_ids[key]: tuple(w.probe(p) for p in patches) for key, w in worlds.items()}
    files = {sweeper.content_ids[key]: tuple((path, digest) for _, path, digest in key) for key in worlds}
    return SweepResult(
        package=package,
        rows=tuple(rows),
        patches=tuple((n, tuple((v.name, v.sha256) for v in vs)) for n, vs in sweeper.numbers.items()),
        probes=probes,
        files=files,
        max_fuzz=max_fuzz,
        generated=dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        stats=cache.stats,
        skipped=tuple(skipped),
    )


def _fitting(spec: SpecifierSet, companions: Sequence[Release]) -> list[Release]:
    """The companion releases ``spec`` admits; for an ``==X`` pin not on the index, the releases of X's base.

    A resolver skips yanked releases unless a pin names them: a range admits no yanked release here.
    """
    pinned = [Version(s.version) for s in spec if s.operator in ("==", "===") and "*" not in s.version]
    fitting = [c for c in companions if spec.contains(c.version, prereleases=True) and (pinned or not c.yanked)]
    final = [c for c in fitting if not (c.version.is_prerelease or c.version.is_devrelease)]
    # A resolver takes a prerelease only when nothing else fits (or the pin names it).
    if final or fitting:
        return final or fitting
    # litellm 1.110.2 pins litellm-enterprise==0.1.83.post1, which the index does not have: the nearest
    # release of the same X.Y.Z is what an install with overrides gets.
    return [c for c in companions if any(c.version.release == p.release for p in pinned)]


def _timestamp(text: str) -> dt.datetime | None:
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def _as_of(fitting: Sequence[Release], upload_time: str) -> Release:
    """The newest of ``fitting`` uploaded by a day after ``upload_time`` (what ``--exclude-newer`` resolves).

    When none is that old (or times are unknown), the newest of ``fitting``.
    """
    moment = _timestamp(upload_time)
    if moment is not None:
        limit = moment + dt.timedelta(days=1)
        old = [c for c in fitting if (t := _timestamp(c.upload_time)) is not None and t <= limit]
        if old:
            return old[-1]
    return fitting[-1]


def _decide_one(patch: Patch, versions: Mapping[NormalizedName, Version]) -> bool:
    from sitepatch.selection import _decide  # noqa: PLC0415 - the per-patch rule, without the pair check

    return _decide(patch, versions).selected


def _cell_doc(cell: Cell) -> dict[str, Any]:
    doc: dict[str, Any] = {"status": cell.status}
    if cell.variant:
        doc["variant"] = cell.variant
    if cell.status == APPLIES:
        doc["offset"] = cell.offset
        doc["fuzz"] = cell.fuzz
    if cell.reason:
        doc["reason"] = cell.reason
    if cell.hunks:
        doc["hunks"] = list(cell.hunks)
    if cell.candidates:
        doc["candidates"] = list(cell.candidates)
    if cell.gap:
        doc["gap"] = True
    return doc


def _probe_doc(probe: Probe) -> dict[str, Any]:
    doc: dict[str, Any] = {"status": probe.status}
    if probe.status == APPLIES:
        doc["offset"] = probe.offset
        doc["fuzz"] = probe.fuzz
    if probe.hunks:
        doc["hunks"] = list(probe.hunks)
    return doc


def _runs(result: SweepResult, patch_id: str) -> list[dict[str, Any]]:
    """Consecutive releases with the same verdict and variant, as ranges."""
    runs: list[dict[str, Any]] = []
    for row in result.rows:
        cell = row.cell(patch_id)
        if cell is None:
            continue
        label = (cell.status, cell.variant, cell.candidates, cell.gap)
        if runs and runs[-1]["key"] == label:
            runs[-1]["last"] = str(row.version)
            runs[-1]["count"] += 1
        else:
            runs.append({"key": label, "first": str(row.version), "last": str(row.version), "count": 1})
    return [
        {
            "status": run["key"][0],
            "variant": run["key"][1],
            "candidates": list(run["key"][2]),
            "gap": run["key"][3],
            "first": run["first"],
            "last": run["last"],
            "releases": run["count"],
        }
        for run in runs
    ]


def _row_doc(row: ReleaseRow) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "version": str(row.version),
        "upload_time": row.upload_time,
        "wheel": row.wheel,
        "paired": dict(row.paired),
        "group": row.group,
        "content": row.content,
        "verdicts": {cell.patch: _cell_doc(cell) for cell in row.cells},
    }
    # Additive (schema_version stays 1): readers of paired/group/verdicts see the default pairing as before.
    if row.pairings:
        doc["admitted"] = {name: {"specifier": spec, "on_index": count} for name, spec, count in row.admitted}
        doc["pairings"] = [
            {
                "paired": dict(pairing.paired),
                "chosen": pairing.chosen,
                "group": pairing.group,
                "content": pairing.content,
                "verdicts": {cell.patch: _cell_doc(cell) for cell in pairing.cells},
            }
            for pairing in row.pairings
        ]
    return doc


def sweep_document(result: SweepResult) -> dict[str, Any]:
    """The sweep as one JSON-ready document (the ``--json`` output and the coverage record's input).

    Each release's ``paired``, ``group`` and ``verdicts`` are its default pairing's; ``pairings`` (only where
    the extra admits more than one release) lists the other pairings planned, each with ``paired``, ``chosen``,
    ``group``, ``content`` and ``verdicts``. ``ok`` and the gap counts take every pairing into account.
    """
    totals = dict.fromkeys(VERDICTS, 0)
    extra_totals = dict.fromkeys(VERDICTS, 0)
    for row in result.rows:
        for cell in row.cells:
            totals[cell.status] = totals.get(cell.status, 0) + 1
        for pairing in row.pairings:
            for cell in pairing.cells:
                extra_totals[cell.status] = extra_totals.get(cell.status, 0) + 1
    per_release = sorted(result.stats.per_release.values())
    groups = {r.group for r in result.rows} | {p.group for r in result.rows for p in r.pairings}
    return {
        "command": "sweep",
        "schema_version": 1,
        "ok": not any(c.status in (CONFLICTS, ERROR) for r in result.rows for _, c in r.every_cell()),
        "package": result.package,
        "generated": result.generated,
        "max_fuzz": result.max_fuzz,
        "patches": {
            number: [{"file": name, "sha256": sha} for name, sha in variants] for number, variants in result.patches
        },
        "releases": [_row_doc(row) for row in result.rows],
        "contents": {
            str(content): {
                "files": dict(result.files[content]),
                "probes": {p.variant: _probe_doc(p) for p in result.probes[content]},
            }
            for content in sorted(result.files)
        },
        "ranges": {number: _runs(result, number) for number in result.patch_ids},
        "skipped": [{"version": v, "reason": why} for v, why in result.skipped],
        "summary": {
            "gaps": sum(1 for r in result.rows for _, c in r.every_cell() if c.gap),
            "gap_releases": sum(1 for r in result.rows if any(c.gap for _, c in r.every_cell())),
            "releases": len(result.rows),
            "pairings": sum(1 + len(r.pairings) for r in result.rows if r.paired),
            "extra_pairings": sum(len(r.pairings) for r in result.rows),
            "groups": len(groups),
            "contents": len(result.files),
            "verdicts": totals,
            "extra_verdicts": extra_totals,
        },
        "fetch": {
            "bytes": result.stats.bytes,
            "releases_fetched": len(per_release),
            "max_bytes_per_release": per_release[-1] if per_release else 0,
            "median_bytes_per_release": per_release[len(per_release) // 2] if per_release else 0,
            "whole_wheels": list(result.stats.whole_wheels),
            "per_release": dict(sorted(result.stats.per_release.items())),
        },
    }


_SHORT = {
    APPLIES: "ok",
    ALREADY_PRESENT: "=",
    CONFLICTS: "XX",
    NOT_SELECTED: "-",
    FIXED_UPSTREAM: "up",
    ERROR: "!!",
}


def _short(cell: Cell) -> str:
    text = _SHORT[cell.status]
    if cell.status == APPLIES and cell.variant and "+" in cell.variant:
        text = "v" + text
    if cell.status == APPLIES and (cell.offset or cell.fuzz):
        text += "~" if not cell.fuzz else f"f{cell.fuzz}"
    if cell.status == NOT_SELECTED and cell.candidates:
        text = "-c"
    if cell.gap:
        text = "GAP" + ("c" if cell.candidates else "")
    return text


def sweep_lines(result: SweepResult) -> list[str]:
    """The sweep for people: one line per release, then each patch id's verdicts as version ranges."""
    doc = sweep_document(result)
    ids = result.patch_ids
    lines = [
        "legend: ok applies (v: a +variant, ~ with offset, fN with fuzz N), = already present, XX conflicts,",
        "        - not selected (-c: a variant would apply here at fuzz 0), up fixed upstream, !! two variants,",
        "        GAP not selected although the release has the defect (GAPc: a variant would apply at fuzz 0)",
        f"{'release':<10} {'enterprise':<13} {'grp':>4}  " + " ".join(f"{i:>5}" for i in ids),
    ]
    for row in result.rows:
        paired = next(iter(dict(row.paired).values()), "")
        cells = " ".join(f"{_short(c):>5}" for c in row.cells)
        lines.append(f"{row.version!s:<10} {paired:<13} {row.group:>4}  {cells}")
        for pairing in row.pairings:
            # The release's other admitted pairings, one line each under it.
            other = "+" + next(iter(dict(pairing.paired).values()), "")
            cells = " ".join(f"{_short(c):>5}" for c in pairing.cells)
            lines.append(f"{'':<10} {other:<13} {pairing.group:>4}  {cells}")
    lines.append("")
    for number, runs in doc["ranges"].items():
        lines.append(f"{number}:")
        for run in runs:
            span = run["first"] if run["first"] == run["last"] else f"{run['first']} .. {run['last']}"
            what = ("GAP: " if run["gap"] else "") + run["status"] + (f" ({run['variant']})" if run["variant"] else "")
            if run["candidates"]:
                what += f"; would apply: {', '.join(run['candidates'])}"
            lines.append(f"  {span:<22} {run['releases']:>3} release(s)  {what}")
    summary = doc["summary"]
    fetch = doc["fetch"]
    lines.append(
        f"gaps: {summary['gaps']} (patch id, release, pairing) case(s) on {summary['gap_releases']} release(s) leave "
        "a defect in place (not selected, affected)"
    )
    lines.append(
        f"summary: {summary['releases']} release(s) in {summary['groups']} group(s) "
        f"({summary['contents']} distinct file sets); "
        + ", ".join(f"{v} {k}" for k, v in summary["verdicts"].items() if v)
    )
    if summary["extra_pairings"]:
        lines.append(
            f"pairings: {summary['pairings']} planned, {summary['extra_pairings']} of them besides each release's "
            "default (+VERSION lines); " + ", ".join(f"{v} {k}" for k, v in summary["extra_verdicts"].items() if v)
        )
    lines.append(
        f"fetched: {fetch['bytes']} bytes for {fetch['releases_fetched']} release(s) "
        f"(median {fetch['median_bytes_per_release']}, max {fetch['max_bytes_per_release']} per release)"
    )
    return lines
