"""How long parsing takes for a patch whose header has one long multi-line value (issue 19, item 10).

A long imported commit message makes a ``Description:`` of many continuation lines. Builds patches whose
header is ``--sizes`` MB of 72-character continuation lines, parses each with ``parse_patch`` and prints the
time and the time per MB (a flat column: linear). Fastest of ``--runs``.

    python bench/header.py --sizes 1,2,5,10 --runs 3
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sitepatch.parse import parse_patch  # noqa: E402 - after the path is set

DIFF = b"--- a/demo/mod.py\n+++ b/demo/mod.py\n@@ -1 +1 @@\n-old\n+new\n"


def patch_bytes(megabytes: float) -> bytes:
    """A valid patch whose ``Description:`` is ``megabytes`` MB of continuation lines."""
    line = b" " + b"x" * 70 + b"\n"
    count = int(megabytes * 1024 * 1024) // len(line)
    head = b"Subject: s\nPackage: demo\nVersions: >=1\nAffects: >=1\nDescription: long\n"
    return head + line * count + b"Origin: o\nForwarded: no\nTest: t\nLast-Update: 2026-01-01\n\n" + DIFF


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,2,5,10", help="header sizes in MB, comma-separated")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"{'MB':>6} {'seconds':>9} {'s/MB':>7}")
    for text in args.sizes.split(","):
        size = float(text)
        data = patch_bytes(size)
        best = float("inf")
        for _ in range(args.runs):
            started = time.perf_counter()
            parse_patch(data, path=Path("0001-long.diff"))
            best = min(best, time.perf_counter() - started)
        print(f"{size:6g} {best:9.3f} {best / size:7.3f}")


if __name__ == "__main__":
    main()
