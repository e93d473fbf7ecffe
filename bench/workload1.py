"""Workload 1: upstream's change from LiteLLM 1.80.10 to 1.81.0 applied to 1.80.10.

sitepatch (``apply_patches.py apply``) vs GNU ``patch -p1`` vs ``git apply``, each on a fresh copy of the
unpacked 1.80.10 wheel (a site-packages with its real dist-info and RECORD, so the pristine check passes),
median of ``--runs`` runs, wall time and peak memory from ``/usr/bin/time -v``. The results of all three
must be identical files (and equal the text files of the 1.81.0 wheel).

    python bench/workload1.py [--runs 5]
    python bench/workload1.py --new 1.80.11 --suffix .py   # one patch release's change: 196 Python files
"""

from __future__ import annotations

import argparse
import json

from _common import (
    NEW,
    WORK,
    fresh_copy,
    git_env,
    median,
    new_tree,
    patch_dir,
    sitepatch_command,
    timed,
    tree_digest,
    workload_diff,
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--new", default=NEW, help=f"the new LiteLLM release (default {NEW})")
    parser.add_argument("--suffix", default="", help="only the files whose names end with this, e.g. .py")
    args = parser.parse_args()
    old, diff = workload_diff(args.new, suffix=args.suffix)
    patches = patch_dir(diff, diff.stem, args.new)
    text = diff.read_bytes()
    files, hunks = text.count(b"\n--- "), text.count(b"\n@@ ")
    print(f"diff: {len(text) / 1e6:.1f} MB, {files} files, {hunks} hunks")
    tools = {
        "sitepatch": lambda site: (sitepatch_command(site, patches, "apply"), None, None),
        "GNU patch": lambda site: (["patch", "-p1", "-s", "--no-backup-if-mismatch", "-i", str(diff)], site, None),
        "git apply": lambda site: (["git", "apply", "-p1", "--whitespace=nowarn", str(diff)], site, git_env()),
    }
    results: dict[str, dict[str, float]] = {}
    digests = {}
    for run in range(args.runs):
        for name, make in tools.items():
            site = fresh_copy(old, name.replace(" ", "-"))
            command, cwd, env = make(site)
            timing = timed(command, cwd=cwd, env=env)
            assert timing.code == 0, (name, timing)
            results.setdefault(name, {"wall": [], "rss": []})  # type: ignore[dict-item]
            results[name]["wall"].append(timing.wall)  # type: ignore[attr-defined]
            results[name]["rss"].append(timing.rss_kb)  # type: ignore[attr-defined]
            if run == 0:
                digests[name] = tree_digest(site)
    reference = digests["GNU patch"]
    expected = {k: v for k, v in tree_digest(new_tree(args.new)).items() if k in reference or k not in tree_digest(old)}
    for name, digest in digests.items():
        assert digest == reference, f"{name} differs from GNU patch"
    same_as_new = sum(1 for k, v in expected.items() if reference.get(k) == v)
    print(
        f"results identical across tools: {len(reference)} files; {same_as_new} equal to the {len(expected)} of {args.new} compared"
    )
    print(f"{'tool':<12}{'median wall s':>15}{'min s':>8}{'max s':>8}{'peak RSS MB':>13}   runs={args.runs}")
    summary = {}
    for name, data in results.items():
        walls = data["wall"]  # type: ignore[index]
        rss = data["rss"]  # type: ignore[index]
        summary[name] = {"median_wall_s": median(walls), "peak_rss_mb": max(rss) / 1024, "walls": walls}
        print(f"{name:<12}{median(walls):>15.3f}{min(walls):>8.3f}{max(walls):>8.3f}{max(rss) / 1024:>13.1f}")
    (WORK / f"workload1-{diff.stem}.json").write_text(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
