"""Helpers for the reliability tests and the stress runs: many-file worlds, SIGKILL trials, tiny wheels.

Used by ``tests/unit/test_reliability.py`` (CI sizes) and ``tests/stress/`` (the large runs).
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import os
import random
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from fakesite import make_diff, make_site, write_patch

__all__ = [
    "APPLY",
    "TMP_SUFFIX",
    "KillStats",
    "World",
    "build_wheel",
    "kill_trials",
    "make_world",
    "tree",
    "verify_patched",
    "verify_pristine",
]

REPO = Path(__file__).resolve().parents[1]
APPLY = [sys.executable, str(REPO / "apply_patches.py")]
TMP_SUFFIX = ".sitepatch-tmp"


def _b64(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def tree(root: Path, *, temporaries: bool = False) -> dict[str, str]:
    """Every file under ``root`` with its sha256 and mode, sitepatch's state aside (and its temporary files
    unless ``temporaries``)."""
    result = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if rel.startswith(".sitepatch") or (path.name.endswith(TMP_SUFFIX) and not temporaries):
            continue
        if path.is_file() and not path.is_symlink():
            result[rel] = f"{oct(path.stat().st_mode)} {hashlib.sha256(path.read_bytes()).hexdigest()}"
    return result


def _record(site: Path) -> dict[str, str]:
    rows: dict[str, str] = {}
    for record in site.glob("*.dist-info/RECORD"):
        with record.open(newline="", encoding="utf-8") as handle:
            for row in csv.reader(handle):
                if row and row[1]:
                    rows[row[0]] = row[1]
    return rows


def verify_pristine(site: Path) -> list[str]:
    """Every file RECORD lists that does not match its RECORD hash (an empty list: pristine)."""
    bad = []
    for rel, digest in _record(site).items():
        path = site / rel
        if not path.is_file() or _b64(path.read_bytes()) != digest:
            bad.append(rel)
    return bad


def verify_patched(site: Path) -> list[str]:
    """Every file that matches neither the manifest's post-image nor, when the manifest does not name it,
    RECORD (an empty list: exactly what the manifest says was applied)."""
    manifest = json.loads((site / ".sitepatch/manifest.json").read_text(encoding="utf-8"))
    posts = {f["path"]: f["post_sha256"] for f in manifest["files"]}
    bad = []
    for rel, digest in _record(site).items():
        if rel in posts:
            continue
        path = site / rel
        if not path.is_file() or _b64(path.read_bytes()) != digest:
            bad.append(rel)
    for rel, post in posts.items():
        path = site / rel
        actual = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
        if actual != post:
            bad.append(rel)
    return bad


@dataclass
class World:
    """A site-packages with many files and a patch set touching them, with both expected end states."""

    site: Path
    patches: Path
    pristine: dict[str, str] = field(default_factory=dict)
    patched: dict[str, str] = field(default_factory=dict)

    def command(self, *args: str) -> list[str]:
        return [*APPLY, *args, "--site-packages", str(self.site), "--patches", str(self.patches)]


def make_world(root: Path, *, files: int = 60, lines: int = 400, per_patch: int = 6) -> World:
    """``files`` modules of ``lines`` lines, patched by patches of ``per_patch`` files each (one of which
    also creates a new file and one deletes a file), applied once to learn the patched state, then reverted."""
    contents = {
        f"demo/sub{i % 7}/m{i:03d}.py": b"".join(f"m{i} line {n} = {n * i}\n".encode() for n in range(lines))
        for i in range(files)
    }
    doomed = "demo/doomed.py"
    site = make_site(root / "site", {"demo/__init__.py": b"", doomed: b"gone = 1\n", **contents})
    patches = root / "patches"
    names = sorted(contents)
    for number, start in enumerate(range(0, len(names), per_patch), start=1):
        diff = b""
        for rel in names[start : start + per_patch]:
            old = contents[rel]
            body = old.splitlines(keepends=True)
            for at in range(5, len(body), 50):
                body[at] = body[at].replace(b" = ", b" == ")
            diff += make_diff(old, b"".join(body), rel)
        if number == 1:
            diff += make_diff(None, b"created = True\n", "demo/sub0/created.py")
        if number == 2:
            diff += make_diff(b"gone = 1\n", None, doomed)
        write_patch(patches, f"{number:04d}-batch{number}.diff", diff)
    world = World(site, patches)
    world.pristine = tree(site)
    done = subprocess.run(world.command("apply"), capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    world.patched = tree(site)
    done = subprocess.run(world.command("revert"), capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert tree(site) == world.pristine
    return world


@dataclass
class KillStats:
    """Where the kills landed: before anything was written, while writing (journal present), after."""

    trials: int = 0
    before: int = 0
    during: int = 0
    after: int = 0
    recovered_forward: int = 0
    recovered_back: int = 0


def _write_window(world: World) -> tuple[float, float, float]:
    """Time one apply: when its state directory's copies appear, when its journal appears, when it ends."""
    txn = world.site / ".sitepatch/txn"
    journal = world.site / ".sitepatch/journal.json"
    start = time.perf_counter()
    proc = subprocess.Popen(world.command("apply"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    first = opened = 0.0
    while proc.poll() is None:
        now = time.perf_counter() - start
        if not first and txn.exists():
            first = now
        if not opened and journal.exists():
            opened = now
        time.sleep(0.0005)
    end = time.perf_counter() - start
    subprocess.run(world.command("revert"), capture_output=True, check=True)
    return first or end, opened or end, end


def kill_trials(world: World, trials: int, *, seed: int = 0) -> KillStats:
    """Start ``apply`` and SIGKILL it at a random instant, ``trials`` times; check every state in between.

    After each kill, every file must be its pristine or its patched version (files are replaced atomically),
    and without a journal the whole tree must be one or the other. The next run (``apply`` on even trials,
    ``revert`` on odd ones) must leave the tree exactly fully patched or exactly pristine, verified against
    the manifest and RECORD, with no journal and no temporary file left.
    """
    rng = random.Random(seed)
    windows = [_write_window(world) for _ in range(3)]
    first = min(w[0] for w in windows)
    end = max(w[2] for w in windows)
    stats = KillStats()
    for trial in range(trials):
        # A third of the kills anywhere from start-up to a little after the end; the rest while the run
        # copies and writes, which start-up and planning would otherwise leave a small share of the time.
        delay = rng.uniform(0.0, end * 1.1) if trial % 3 == 0 else rng.uniform(first * 0.9, end * 1.05)
        proc = subprocess.Popen(world.command("apply"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        state = tree(world.site)
        journal = (world.site / ".sitepatch/journal.json").exists()
        for rel in set(state) | set(world.pristine) | set(world.patched):
            assert state.get(rel) in (world.pristine.get(rel), world.patched.get(rel)), (trial, delay, rel)
        if journal:
            stats.during += 1
        elif state == world.pristine:
            stats.before += 1
            assert not (world.site / ".sitepatch/manifest.json").exists()
        else:
            assert state == world.patched, (trial, delay)
            stats.after += 1
        forward = trial % 2 == 0
        done = subprocess.run(
            world.command("apply" if forward else "revert"), capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, (trial, delay, done.stdout, done.stderr)
        if forward:
            assert tree(world.site) == world.patched, (trial, delay)
            assert verify_patched(world.site) == []
            stats.recovered_forward += "recovered:" in done.stdout
            back = subprocess.run(world.command("revert"), capture_output=True, text=True, check=False)
            assert back.returncode == 0, back.stdout + back.stderr
        else:
            stats.recovered_back += "recovered:" in done.stdout or "rolled back" in done.stdout
        assert tree(world.site) == world.pristine, (trial, delay)
        assert verify_pristine(world.site) == []
        assert not (world.site / ".sitepatch/journal.json").exists()
        assert not (world.site / ".sitepatch/txn").exists()
        assert not list(world.site.rglob(f"*{TMP_SUFFIX}")), (
            trial,
            delay,
            list(world.site.rglob(f"*{TMP_SUFFIX}")),
        )
        stats.trials += 1
    return stats


def build_wheel(directory: Path, name: str, version: str, files: Mapping[str, bytes]) -> Path:
    """Write a pure-Python wheel by hand (a zip with a dist-info): no build backend, no index, no network."""
    directory.mkdir(parents=True, exist_ok=True)
    dist_info = f"{name}-{version}.dist-info"
    contents = dict(files)
    contents[f"{dist_info}/METADATA"] = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()
    contents[f"{dist_info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: reliability_kit\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    record = io.StringIO()
    writer = csv.writer(record, lineterminator="\n")
    for rel, data in contents.items():
        writer.writerow([rel, _b64(data), len(data)])
    writer.writerow([f"{dist_info}/RECORD", "", ""])
    contents[f"{dist_info}/RECORD"] = record.getvalue().encode()
    path = directory / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for rel, data in contents.items():
            archive.writestr(rel, data)
    return path


def environ_without_index() -> dict[str, str]:
    """An environment that keeps pip and uv off the network."""
    env = dict(os.environ)
    env.update({"PIP_NO_INDEX": "1", "UV_OFFLINE": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    return env
