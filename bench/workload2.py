"""Workload 2: ``status``, ``check`` and ``apply --dry-run`` with the real patch set against a pinned LiteLLM
install, compared with bare interpreter start-up (``python -c pass``), all interleaved in one run. Median of
``--runs`` runs; targets (issue 11): ``status`` <= 2x and ``check`` <= 3x start-up.

The pinned install is read in place for ``--dry-run`` (nothing is written); ``status`` needs a manifest, so it
runs on a throwaway site-packages made of links to the pinned one's entries with real copies of the ``litellm*`` entries,
patched once.

    python bench/workload2.py --site-packages /work/venvs/p1/lib/python3.11/site-packages [--runs 11]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
from pathlib import Path

from _common import PYTHON, REPO, WORK, median, sitepatch_command, timed


def status_site(source: Path) -> Path:
    site = WORK / "w2-site"
    if site.exists():
        shutil.rmtree(site)
    site.mkdir(parents=True)
    for entry in source.iterdir():
        if entry.name.startswith("litellm"):
            shutil.copytree(entry, site / entry.name, symlinks=True)
        elif entry.name != ".sitepatch":
            (site / entry.name).symlink_to(entry)
    return site


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site-packages", type=Path, required=True)
    parser.add_argument("--patches", type=Path, default=REPO / "patches")
    parser.add_argument("--runs", type=int, default=11)
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    site = status_site(args.site_packages)
    done = subprocess.run(sitepatch_command(site, args.patches, "apply"), capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    commands = {
        "python -c pass": [PYTHON, "-c", "pass"],
        # What check cannot do without, before doing anything: the modules it must import.
        "check floor": [PYTHON, "-c", "import pathlib, unidiff, packaging.specifiers"],
        "status": [*sitepatch_command(site, args.patches, "status")[:-2]],
        "check": sitepatch_command(args.site_packages, args.patches, "check"),
        "apply --dry-run": sitepatch_command(args.site_packages, args.patches, "apply", "--dry-run"),
    }
    walls: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.runs):
        for name, command in commands.items():
            timing = timed(command)
            assert timing.code == 0, (name, timing)
            walls[name].append(timing.wall)
    base = median(walls["python -c pass"])
    print(f"{'command':<18}{'median wall s':>15}{'x start-up':>12}   runs={args.runs}")
    for name, values in walls.items():
        print(f"{name:<18}{median(values):>15.4f}{median(values) / base:>12.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
