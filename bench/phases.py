"""Where one ``apply`` spends its time, phase by phase, in one process (no profiler overhead).

Times the same calls ``apply`` makes (``sitepatch/commands/apply.py``): importing, reading the target,
parsing the patches, planning, and writing (with the share of ``fsync`` in it, counted by wrapping
``os.fsync``). Each run gets a fresh copy of the tree. Fastest of ``--runs``.

    python bench/phases.py --tree /tmp/sitepatch-bench/a --patches /tmp/sitepatch-bench/patches-w1-1.80.11.py
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

CHILD = r"""
import os, sys, time
from pathlib import Path
t0 = time.perf_counter()
sys.path.insert(0, sys.argv[1])
from sitepatch.apply import DiskReader, StateDir, apply_plan
from sitepatch.dist import Target
from sitepatch.parse import load_patches
from sitepatch.plan import plan_run
from sitepatch.record import manifest_for
from sitepatch.selection import select_patches
t1 = time.perf_counter()
target = Target.open(Path(sys.argv[2]))
t2 = time.perf_counter()
patches = load_patches(Path(sys.argv[3]))
t3 = time.perf_counter()
state, reader = StateDir(target.root), DiskReader(target.root)
previous = state.read_manifest()
plan = plan_run(select_patches(patches, target.versions), target, reader, previous, max_fuzz=0, force=False)
assert plan.ok, plan.problems
manifest = manifest_for(plan, previous)
t4 = time.perf_counter()
spent = [0.0]
real_fsync = os.fsync
def fsync(fd):
    start = time.perf_counter()
    real_fsync(fd)
    spent[0] += time.perf_counter() - start
os.fsync = fsync
with state.lock(timeout=0):
    apply_plan(plan, state, manifest)
t5 = time.perf_counter()
print(t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, spent[0])
"""

PHASES = ("imports", "target", "parse", "plan", "write", "(fsync, summed over threads)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, required=True, help="the unpatched site-packages to copy")
    parser.add_argument("--patches", type=Path, required=True)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--python", default=sys.executable)
    args = parser.parse_args()
    work = Path(os.environ.get("SITEPATCH_BENCH_DIR", "/tmp/sitepatch-bench")) / "phases"
    best: list[float] = []
    walls = []
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    for _ in range(args.runs):
        shutil.rmtree(work, ignore_errors=True)
        shutil.copytree(args.tree, work, symlinks=True)
        subprocess.run(["sync"], check=False)
        start = time.perf_counter()
        done = subprocess.run(
            [args.python, "-c", CHILD, str(REPO), str(work), str(args.patches)],
            capture_output=True,
            text=True,
            check=False,
            env=env,
        )
        walls.append(time.perf_counter() - start)
        if done.returncode != 0:
            print(done.stderr, file=sys.stderr)
            return 1
        figures = [float(x) for x in done.stdout.split()]
        best = figures if not best else [min(a, b) for a, b in zip(best, figures, strict=True)]
    print(f"whole process: fastest {min(walls):.3f} s, median {sorted(walls)[len(walls) // 2]:.3f} s")
    for name, value in zip(PHASES, best, strict=True):
        print(f"{name:<32}{value * 1000:8.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
