"""Sweep benchmark: verdicts for every LiteLLM release from the lowest pin to the newest.

Warm: the whole sweep (``apply_patches.py sweep``) run ``--runs`` times with ``--offline`` on a cache filled by a
first, possibly cold, run: wall time per run (target: at most 2 minutes on the 2-core machine). Cold: a sweep of
``--cold N`` releases spread over the range into an empty cache: bytes fetched per release over HTTP range
requests (target: well under 1 MB a release), and wall time.

    python bench/sweep.py [--cache DIR] [--runs 3] [--cold 12]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def sweep(cache: Path, *extra: str) -> tuple[float, dict]:
    command = [sys.executable, str(REPO / "apply_patches.py"), "sweep", "--json", "--cache-dir", str(cache), *extra]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=REPO)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):
        sys.exit(f"sweep failed: {done.stderr.strip()}")
    return elapsed, json.loads(done.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "sitepatch")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cold", type=int, default=12, metavar="N", help="releases in the cold run (0: skip)")
    args = parser.parse_args()

    first, doc = sweep(args.cache)
    releases = [r["version"] for r in doc["releases"]]
    print(
        f"first run (cache {args.cache}): {first:.1f} s, {len(releases)} releases, {doc['fetch']['bytes']} bytes fetched"
    )
    times = [sweep(args.cache, "--offline")[0] for _ in range(args.runs)]
    summary = doc["summary"]
    print(
        f"warm (--offline, {args.runs} runs): median {statistics.median(times):.1f} s, "
        f"min {min(times):.1f} s, max {max(times):.1f} s for {len(releases)} releases "
        f"in {summary['groups']} groups ({statistics.median(times) / len(releases) * 1000:.0f} ms a release)"
    )
    if args.cold:
        step = max(1, len(releases) // args.cold)
        sample = releases[::step][: args.cold]
        empty = Path(tempfile.mkdtemp(prefix="sitepatch-cold-"))
        try:
            # The release listings come from the warm cache so that only wheel bytes are counted.
            shutil.copytree(args.cache / "index", empty / "index")
            elapsed, cold = sweep(empty, "--releases", ",".join(sample))
        finally:
            shutil.rmtree(empty, ignore_errors=True)
        fetch = cold["fetch"]
        per = fetch["bytes"] / max(1, fetch["releases_fetched"])
        own = sorted(n for k, n in fetch["per_release"].items() if k.startswith(f"{cold['package']}=="))
        if own:
            print(
                f"cold, {cold['package']} wheels only: median {statistics.median(own) / 1024:.0f} KiB, "
                f"max {own[-1] / 1024:.0f} KiB, min {own[0] / 1024:.0f} KiB a release"
            )
        print(
            f"cold ({len(sample)} releases + their enterprise pairs, empty cache): {elapsed:.1f} s, "
            f"{fetch['bytes']} bytes over {fetch['releases_fetched']} wheels: mean {per / 1024:.0f} KiB, "
            f"median {fetch['median_bytes_per_release'] / 1024:.0f} KiB, max {fetch['max_bytes_per_release'] / 1024:.0f} KiB "
            f"a wheel; {cold['requests']} requests; whole wheels: {len(fetch['whole_wheels'])}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
