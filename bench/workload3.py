"""Workload 3: scaling. The workload-1 diff x1, x4 and x16 (copies of the tree and of the diff under other
top-level directories, ``litellm_c1/``... with their rows added to RECORD): time must grow linearly.

    python bench/workload3.py [--runs 3] [--factors 1,4,16]
"""

from __future__ import annotations

import argparse
import shutil

from _common import HEADER, WORK, fresh_copy, median, sitepatch_command, timed, workload_diff


def build(factor: int) -> tuple[object, object]:
    old, diff = workload_diff()
    site = WORK / f"w3-site-x{factor}"
    patches = WORK / f"w3-patches-x{factor}"
    if not site.exists():
        shutil.copytree(old, site, symlinks=True)
        record = next(site.glob("litellm-*.dist-info/RECORD"))
        rows = record.read_text(encoding="utf-8").splitlines()
        extra = []
        for copy in range(1, factor):
            shutil.copytree(old / "litellm", site / f"litellm_c{copy}", symlinks=True)
            extra += [f"litellm_c{copy}/{row[len('litellm/') :]}" for row in rows if row.startswith("litellm/")]
        record.write_text("\n".join(rows + extra) + "\n", encoding="utf-8")
        patches.mkdir(exist_ok=True)
        text = diff.read_bytes()
        body = [text] + [
            text.replace(b" a/litellm/", f" a/litellm_c{c}/".encode()).replace(
                b" b/litellm/", f" b/litellm_c{c}/".encode()
            )
            for c in range(1, factor)
        ]
        (patches / "0001-upstream.diff").write_bytes(HEADER + b"\n".join(body))
    return site, patches


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--factors", default="1,4,16")
    args = parser.parse_args()
    factors = [int(f) for f in args.factors.split(",")]
    print(
        f"{'factor':<8}{'median wall s':>15}{'s per x1':>10}{'GNU patch s':>13}{'peak RSS MB':>13}   runs={args.runs}"
    )
    for factor in factors:
        site, patches = build(factor)
        walls, gnu, rss = [], [], 0
        for _ in range(args.runs):
            run = fresh_copy(site, f"w3-x{factor}")  # type: ignore[arg-type]
            timing = timed(sitepatch_command(run, patches, "apply"))  # type: ignore[arg-type]
            assert timing.code == 0, timing
            walls.append(timing.wall)
            rss = max(rss, timing.rss_kb)
            run = fresh_copy(site, f"w3-x{factor}")  # type: ignore[arg-type]
            timing = timed(
                ["patch", "-p1", "-s", "--no-backup-if-mismatch", "-i", str(patches / "0001-upstream.diff")], cwd=run
            )  # type: ignore[operator]
            gnu.append(timing.wall)
        print(
            f"{factor:<8}{median(walls):>15.2f}{median(walls) / factor:>10.2f}{median(gnu):>13.2f}{rss / 1024:>13.1f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
