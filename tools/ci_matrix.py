"""Turn ``nox --list --json`` into the GitHub Actions job matrices of ``.github/workflows/nox.yml``.

Usage: ``nox --list --json > sessions.json && python tools/ci_matrix.py sessions.json >> "$GITHUB_OUTPUT"``.
Prints two outputs, JSON lists of ``{"session": NAME, "python": VERSION}``:

- ``sessions``: every session nox selects by default, one job each;
- ``summaries``: the selected sessions tagged ``reports`` (``matrix``, ``report``), which read the reports
  of the others and so run after them, on the merged ``reports/`` of every job.

Nothing here names a session: add, parametrize or drop one in noxfile.py and CI follows.

``python tools/ci_matrix.py --shards N`` prints ``shards=["1/N", ..., "N/N"]`` for the scheduled sweep
workflow (``.github/workflows/sweep.yml``), whose evidence jobs each run ``nox -s evidence -- --shard=I/N``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

__all__ = ["DEFAULT_PYTHON", "SUMMARY_TAG", "jobs", "main", "shards"]

DEFAULT_PYTHON = "3.11"
"""The interpreter for sessions that do not name one (the one ``.ci/run`` uses)."""
SUMMARY_TAG = "reports"


def jobs(listing: Iterable[Mapping[str, Any]]) -> dict[str, list[dict[str, str]]]:
    """The two matrices from the entries of ``nox --list --json``."""
    result: dict[str, list[dict[str, str]]] = {"sessions": [], "summaries": []}
    seen = set()
    for entry in listing:
        name = str(entry["session"])
        if name in seen:
            raise ValueError(f"nox lists session {name!r} twice")
        seen.add(name)
        python = entry.get("python")
        job = {"session": name, "python": python if isinstance(python, str) and python else DEFAULT_PYTHON}
        result["summaries" if SUMMARY_TAG in (entry.get("tags") or ()) else "sessions"].append(job)
    return result


def shards(count: int) -> list[str]:
    """The ``--shard`` values of ``count`` evidence jobs.

    >>> shards(3)
    ['1/3', '2/3', '3/3']
    """
    if count < 1:
        raise ValueError(f"--shards {count}: at least one shard")
    return [f"{i}/{count}" for i in range(1, count + 1)]


def main(argv: list[str] | None = None) -> int:
    """Print ``sessions=...`` and ``summaries=...`` lines for ``$GITHUB_OUTPUT`` (or ``shards=...``)."""
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["--shards"] and len(args) == 2:
        sys.stdout.write(f"shards={json.dumps(shards(int(args[1])), separators=(',', ':'))}\n")
        return 0
    text = Path(args[0]).read_text(encoding="utf-8") if args else sys.stdin.read()
    listing = json.loads(text)
    if not isinstance(listing, list) or not listing:
        sys.stderr.write("ci_matrix: nox listed no session\n")
        return 1
    for key, value in jobs(listing).items():
        sys.stdout.write(f"{key}={json.dumps(value, separators=(',', ':'))}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
