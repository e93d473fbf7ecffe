"""The ``sweep`` command: arguments and running, kept out of :mod:`sitepatch.cli` so it loads only when used."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from packaging.version import InvalidVersion, Version

from sitepatch._record import replace
from sitepatch.coverage import CoverageRecord, constraints_text, covered_releases, record_from_sweep, require_current
from sitepatch.errors import ManifestError, TargetError
from sitepatch.lockfile import Lock
from sitepatch.parse import load_patches
from sitepatch.remote import HttpFetcher, Release, ReleaseCache, default_cache_dir, list_releases
from sitepatch.sweep import choose_releases, sweep, sweep_document, sweep_lines

__all__ = [
    "lowest_pin",
    "run_constraints",
    "run_evidence",
    "run_sweep",
]


def __dir__() -> list[str]:
    return __all__


def _version(text: str, option: str) -> Version:
    try:
        return Version(text)
    except InvalidVersion as err:
        msg = f"{option} {text!r} is not a version (e.g. 1.81.0)"
        raise TargetError(msg) from err


def lowest_pin(lockfile: Path, package: str) -> Version | None:
    """The lowest version of ``package`` pinned in ``lockfile`` (``None`` when there is no lock or pin).

    :raises ManifestError: when the lock file is there but damaged (a sweep from the first release ever
        published is not what was asked for).
    """
    try:
        text = lockfile.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as err:
        msg = f"{lockfile}: cannot read it ({err}); pass --from VERSION or --lockfile FILE"
        raise ManifestError(msg) from err
    lock = Lock.from_json(text, where=str(lockfile))
    versions = [v for pin in lock.pins for name, v in pin.versions.items() if name == package]
    return min(versions, default=None)


def run_sweep(args: argparse.Namespace) -> tuple[dict[str, Any], list[str], int]:
    """Run ``sweep`` for the parsed ``args``: the JSON document, the human lines and the exit code.

    :raises sitepatch.remote.FetchError: when the index cannot be read.
    """
    patches = load_patches(args.patches)
    fetcher = HttpFetcher()
    cache = ReleaseCache(args.cache_dir or default_cache_dir(), fetcher, offline=bool(args.offline))
    lockfile = args.lockfile or args.patches.resolve().parent / "versions.lock"
    lower = _version(args.lower, "--from") if args.lower else lowest_pin(lockfile, args.package)
    upper = _version(args.upper, "--to") if args.upper else None
    only = [_version(v.strip(), "--releases") for v in args.releases.split(",") if v.strip()]
    releases = list_releases(args.package, fetcher, index=args.index, cache=cache, offline=cache.offline)
    chosen, skipped = choose_releases(releases, lower=lower, upper=upper, only=only, prereleases=bool(args.pre))
    if not chosen:
        msg = f"no release of {args.package} between {lower or 'the first'} and {upper or 'the newest'} on {args.index}"
        raise TargetError(msg)
    companions: tuple[Release, ...] = ()
    if args.companion:
        companions = list_releases(args.companion, fetcher, index=args.index, cache=cache, offline=cache.offline)
    show = None if args.quiet or args.json else _progress(len(chosen))
    result = sweep(
        patches,
        chosen,
        cache,
        companions=companions,
        max_fuzz=args.max_fuzz,
        skipped=skipped,
        progress=show,
        every_pairing=args.pairings != "ends",
    )
    doc = sweep_document(result)
    doc["index"] = args.index
    doc["requests"] = fetcher.stats.requests
    doc["range"] = {"from": str(lower) if lower else None, "to": str(upper) if upper else None}
    lines = sweep_lines(result)
    if args.output is not None:
        _write(args.output, json.dumps(doc, indent=1) + "\n")
        lines.append(f"written: {args.output}")
    if args.record is not None:
        previous = CoverageRecord.load(args.record)
        _write(args.record, record_from_sweep(doc, previous).to_json())
        lines.append(f"recorded: {args.record}")
    return doc, lines, 0 if doc["ok"] else 1


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def run_constraints(args: argparse.Namespace) -> tuple[dict[str, Any], list[str], int]:
    """Run ``constraints``: the JSON document, the lines (the constraints file itself) and the exit code.

    :raises ManifestError: when there is no record, or no release is covered.
    """
    path = args.record or args.patches.resolve().parent / "coverage.json"
    record = CoverageRecord.load(path)
    if record is None:
        msg = f"{path}: no coverage record; run `apply_patches.py sweep --record {path}` first"
        raise ManifestError(msg)
    patches = load_patches(args.patches)
    require_current(record, patches, str(path))
    text = constraints_text(record, patches)
    good, bad = covered_releases(record, patches)
    doc = {
        "command": "constraints",
        "ok": True,
        "record": str(path),
        "constraints": text,
        "covered": [str(v) for v in good],
        "excluded": bad,
    }
    lines = text.rstrip("\n").splitlines()
    if args.output is not None:
        _write(args.output, text)
        lines = [f"written: {args.output} ({len(good)} release(s) admitted, {len(bad)} excluded)"]
    return doc, lines, 0


def run_evidence(args: argparse.Namespace) -> tuple[dict[str, Any], list[str], int]:
    """Run ``evidence``: the JSON document, the human lines and the exit code (1: a patched run failed).

    :raises TargetError: when the sweep document cannot be read.
    """
    from sitepatch.evidence import merge_evidence, plan_tasks, run_tasks, shard  # noqa: PLC0415

    try:
        document = json.loads(args.sweep.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        msg = f"{args.sweep}: not a sweep document ({err}); write one with sweep --output FILE"
        raise TargetError(msg) from err
    only = [n.strip() for n in args.patch_ids.split(",") if n.strip()]
    try:
        tasks = plan_tasks(document, only=only)
    except ValueError as err:
        msg = f"{args.sweep}: {err}; write the document with sweep --output FILE"
        raise TargetError(msg) from err
    wanted = {v.strip() for v in args.releases.split(",") if v.strip()}
    if wanted:
        tasks = [t for t in tasks if t.release in wanted]
    try:
        tasks = shard(tasks, args.shard)
    except ValueError as err:
        raise TargetError(str(err)) from err
    lines = [f"{t.release:<10} {', '.join(f'{n}:{v or s}' for n, v, s in t.patches)}  [{t.why}]" for t in tasks]
    doc: dict[str, Any] = {
        "command": "evidence",
        "ok": True,
        "tasks": [{"release": t.release, "patches": [list(p) for p in t.patches], "why": t.why} for t in tasks],
    }
    if args.dry_run:
        lines.append(f"dry run: {len(tasks)} release(s) to install and test")
        return doc, lines, 0
    repo = args.patches.resolve().parent
    work = args.work_dir or default_cache_dir() / "evidence"
    patches = load_patches(args.patches)
    show = None if args.json else _say
    entries = run_tasks(
        tasks, repo=repo, patches=patches, work=work, jobs=args.jobs, python=args.python_version, progress=show
    )
    record_path = args.record or repo / "coverage.json"
    record = CoverageRecord.load(record_path)
    if record is not None:
        merged = merge_evidence(record.evidence, entries)
        _write(record_path, replace(record, evidence=tuple(merged)).to_json())
        lines.append(f"recorded: {len(entries)} result(s) in {record_path}")
    bad = [e for e in entries if e["variant"] and e["patched"] != "passed"]
    bad += [e for e in entries if e["unpatched"] in ("harness-error", "install-failed", "no-tests")]
    lines.extend(
        f"{e['release']:<10} {e['patch']} {e['variant'] or '-':<45} "
        f"unpatched {e['unpatched']:<14} patched {e['patched']}"
        for e in entries
    )
    doc.update({"ok": not bad, "evidence": entries})
    lines.append(f"summary: {len(entries)} result(s), {len(bad)} problem(s)")
    return doc, lines, 0 if not bad else 1


def _say(line: str) -> None:
    sys.stderr.write(line + "\n")


def _progress(total: int) -> Any:  # noqa: ANN401 - a callable
    count = [0]

    def show(what: str) -> None:
        count[0] += 1
        sys.stderr.write(f"\rsweep {count[0]}/{total}: {what}    ")
        if count[0] == total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return show
