"""Shared helpers of the benchmark scripts: the workload-1 diff, fresh copies, timed runs, tree hashes."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WORK = Path(os.environ.get("SITEPATCH_BENCH_DIR", "/tmp/sitepatch-bench"))
OLD, NEW = "1.80.10", "1.81.0"
PYTHON = os.environ.get("SITEPATCH_BENCH_PYTHON", sys.executable)
HEADER = f"Subject: upstream change {OLD} -> {NEW}\nPackage: litellm\nVersions: =={OLD}\n\n".encode()


def header(new: str = NEW) -> bytes:
    """The sitepatch header of the upstream change from ``OLD`` to ``new``."""
    return HEADER if new == NEW else HEADER.replace(f"-> {NEW}".encode(), f"-> {new}".encode())


def new_tree(new: str = NEW) -> Path:
    """Where the ``new`` wheel is unpacked."""
    return WORK / ("b" if new == NEW else f"b-{new}")


def wheels(new: str = NEW) -> tuple[Path, Path]:
    """The two LiteLLM wheels, downloaded once with pip (the only network access of the benchmark)."""
    where = WORK / "wheels"
    where.mkdir(parents=True, exist_ok=True)
    found = []
    for version in (OLD, new):
        path = where / f"litellm-{version}-py3-none-any.whl"
        if not path.exists():
            pip = [sys.executable, "-m", "pip"] if importlib.util.find_spec("pip") else [shutil.which("pip") or "pip"]
            subprocess.run([*pip, "download", "--no-deps", f"litellm=={version}", "-d", str(where)], check=True)
        found.append(path)
    return found[0], found[1]


def unpack(wheel: Path, into: Path) -> Path:
    if not into.exists():
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(into)
    return into


def workload_diff(new: str = NEW, *, suffix: str = "") -> tuple[Path, Path]:
    """Unpack both wheels into ``a/`` and ``b/`` (``b-NEW/`` for another ``new``), ``diff -ruN`` their
    ``litellm/`` trees, and make the diff a standard one: binary files dropped (no tool here patches them),
    epoch-stamped sides of new and deleted files written as ``/dev/null``; with ``suffix`` only the files whose
    names end with it. Returns (the old tree, the diff).
    """
    old_wheel, new_wheel = wheels(new)
    a = unpack(old_wheel, WORK / "a")
    b = unpack(new_wheel, new_tree(new))
    diff = WORK / ("w1.diff" if new == NEW and not suffix else f"w1-{new}{suffix}.diff")
    if not diff.exists():
        done = subprocess.run(
            ["diff", "-ruN", "a/litellm", f"{b.name}/litellm"], cwd=WORK, capture_output=True, check=False
        )
        lines = done.stdout.split(b"\n")
        out: list[bytes] = []
        for line in lines:
            if line.startswith(b"Binary files "):
                if out and out[-1].startswith(b"diff -ruN"):
                    out.pop()
                continue
            if line.startswith(b"--- ") and b"\t1970-01-01" in line:
                line = b"--- /dev/null"
            elif line.startswith(b"+++ ") and b"\t1970-01-01" in line:
                line = b"+++ /dev/null"
            elif line.startswith((b"+++ ", b"diff -ruN ")) and b.name != "b":
                line = line.replace(f" {b.name}/".encode(), b" b/")
            out.append(line)
        if suffix:
            sections = b"\n".join(out).split(b"\ndiff -ruN ")
            keep = [sections[0]] if sections[0].split(b"\n", 1)[0].endswith(suffix.encode()) else []
            keep += [b"diff -ruN " + x for x in sections[1:] if x.split(b"\n", 1)[0].endswith(suffix.encode())]
            out = [b"\n".join(keep)]
        diff.write_bytes(b"\n".join(out))
    return a, diff


def patch_dir(diff: Path, name: str = "w1", new: str = NEW) -> Path:
    """A throwaway patch directory holding the diff with the header sitepatch needs."""
    where = WORK / f"patches-{name}"
    if not where.exists():
        where.mkdir()
        (where / "0001-upstream.diff").write_bytes(header(new) + diff.read_bytes())
    return where


def fresh_copy(source: Path, name: str) -> Path:
    target = WORK / "runs" / name
    if target.exists():
        shutil.rmtree(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(source, target, symlinks=True)
    subprocess.run(["sync"], check=False)
    return target


@dataclass
class Timing:
    wall: float
    rss_kb: int
    code: int


def timed(
    command: list[str], *, cwd: Path | None = None, stdin: Path | None = None, env: dict[str, str] | None = None
) -> Timing:
    """Run ``command`` under ``/usr/bin/time -v``: wall time (s, perf_counter) and peak resident memory (KB)."""
    if env is None:
        env = dict(os.environ)
    # Measure what an installed tool costs: with its bytecode cached (some CI images set this variable).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    start = time.perf_counter()
    with open(stdin or os.devnull, "rb") as feed:
        done = subprocess.run(
            ["/usr/bin/time", "-v", *command], cwd=cwd, stdin=feed, capture_output=True, check=False, env=env
        )
    elapsed = time.perf_counter() - start
    text = done.stderr.decode("utf-8", "replace")
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)", text)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    assert wall is not None and rss is not None, text
    # /usr/bin/time reports wall time in hundredths of a second: too coarse for start-up; keep its memory figure.
    return Timing(elapsed, int(rss[1]), done.returncode)


def median(values: list[float]) -> float:
    return statistics.median(values)


def tree_digest(root: Path, *, under: str = "litellm") -> dict[str, str]:
    """sha256 of every regular file under ``root/under`` (bytecode and sitepatch's state aside)."""
    result = {}
    base = root / under
    for path in sorted(base.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and ".sitepatch" not in path.parts:
            result[path.relative_to(root).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return result


def sitepatch_command(site: Path, patches: Path, *args: str) -> list[str]:
    return [PYTHON, str(REPO / "apply_patches.py"), *args, "--site-packages", str(site), "--patches", str(patches)]


def git_env() -> dict[str, str]:
    # Outside any repository, so git apply does not skip paths outside "its" work tree.
    env = dict(os.environ)
    env["GIT_CEILING_DIRECTORIES"] = str(WORK)
    env["GIT_DIR"] = str(WORK / "no-such-git-dir")
    return env
