"""Render the pins x patches matrix from versions.lock, the patch headers and the nox session reports.

A cell says whether the patch applied to the pin (``nox -s patched``) and whether its tests proved it
needed there (``nox -s unpatched``), or that upstream fixed it, or that it does not concern that version.
Usage: ``python tools/matrix.py [REPORTS_DIR]``; writes ``matrix.md`` into the reports directory.

:func:`build` computes the matrix as data; :func:`render` is its Markdown table. ``tools/report.py`` renders
the same data as a Markdown page and a standalone HTML page.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from packaging.utils import canonicalize_name  # noqa: E402 - after the path is set
from packaging.version import Version  # noqa: E402

from sitepatch.parse import load_patches  # noqa: E402
from sitepatch.selection import select_patches  # noqa: E402

__all__ = ["LEGEND", "Cell", "Matrix", "Pin", "Row", "build", "cell", "markdown", "pin_label", "render", "table"]

NOT_RUN = "not run"
SELECTED = "selected"
UPSTREAM = "fixed-upstream"
NOT_CONCERNED = "n/a"


@dataclass(frozen=True)
class Cell:
    """One patch on one pin."""

    kind: str
    """``selected`` (a variant is selected there), ``fixed-upstream`` or ``n/a``."""
    patch: str = ""
    """The selected variant's file name (``selected`` only)."""
    applied: str = NOT_RUN
    """The apply status from ``PIN-patched.json``: ``applied``, ``failed``, ..., ``missing`` or ``not run``."""
    needed: str = NOT_RUN
    """``needed`` (every test failed unpatched), ``NOT needed`` or ``not run``, from ``PIN-unpatched.json``."""
    upstream: str = ""
    """The ``Applied-Upstream`` version (``fixed-upstream`` only)."""
    patched_tests: dict[str, str] = field(default_factory=dict)
    """Test node id -> outcome with the patch applied (``PIN-patched-tests.json``)."""
    unpatched_tests: dict[str, str] = field(default_factory=dict)
    """Test node id -> outcome without the patch (``PIN-unpatched.json``)."""

    @property
    def text(self) -> str:
        """The cell as the Markdown table shows it."""
        if self.kind == SELECTED:
            return f"{self.applied}, {self.needed}"
        if self.kind == UPSTREAM:
            return f"fixed upstream ({self.upstream})"
        return NOT_CONCERNED

    @property
    def verdict(self) -> str:
        """``ok``, ``problem``, ``pending`` (a report is missing), ``upstream`` or ``na``."""
        if self.kind == UPSTREAM:
            return "upstream"
        if self.kind != SELECTED:
            return "na"
        patched_ok = all(v == "passed" for v in self.patched_tests.values())
        if self.needed in ("NOT needed", "harness error"):
            return "problem"
        if self.applied not in (NOT_RUN, "applied", "already-applied"):
            return "problem"
        if not patched_ok:
            return "problem"
        if NOT_RUN in (self.applied, self.needed):
            return "pending"
        return "ok"


@dataclass(frozen=True)
class Row:
    """One patch number (all its variants) across the pins."""

    number: str
    title: str
    """The file name's slug, e.g. ``pass-through-subpath-auth``."""
    subject: str
    cells: tuple[Cell, ...]


@dataclass(frozen=True)
class Pin:
    """One pin of versions.lock, as the matrix's column header."""

    id: str
    distributions: dict[str, str]
    python: str


@dataclass(frozen=True)
class Matrix:
    """The pins x patches matrix and the problems the session reports name."""

    pins: tuple[Pin, ...]
    rows: tuple[Row, ...]
    problems: tuple[str, ...]
    sources: tuple[str, ...]
    """The report files read, relative to the reports directory."""


def _load(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


class _Reports:
    """The session reports of one directory, each read once."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._cache: dict[str, dict[str, Any] | None] = {}

    def get(self, name: str) -> dict[str, Any] | None:
        if name not in self._cache:
            self._cache[name] = _load(self.directory / name)
        return self._cache[name]

    def read(self) -> tuple[str, ...]:
        return tuple(sorted(name for name, doc in self._cache.items() if doc is not None))


def _selected_cell(reports: _Reports, pin: str, name: str) -> Cell:
    applied = needed = NOT_RUN
    unpatched_tests: dict[str, str] = {}
    patched = reports.get(f"{pin}-patched.json")
    if patched is not None:
        statuses = {p["name"]: p["status"] for p in patched["apply"].get("patches", [])}
        applied = str(statuses.get(name, "missing"))
    # Written by pytest even when the session then fails (and writes no PIN-patched.json).
    patched_tests = dict((reports.get(f"{pin}-patched-tests.json") or {}).get(name[:4], {}))
    unpatched = reports.get(f"{pin}-unpatched.json")
    if unpatched is not None:
        unpatched_tests = dict(unpatched["tests"].get(name[:4], {}))
        mine = unpatched_tests.values()
        needed = "needed" if mine and all(v == "failed" for v in mine) else "NOT needed"
        if any(v in ("error", "skipped") for v in mine):  # a broken harness proves neither
            needed = "harness error"
    return Cell(SELECTED, name, applied, needed, "", patched_tests, unpatched_tests)


def cell(reports: Path, pin: str, name: str) -> str:
    """Applied and needed, as far as the reports of this pin say."""
    return _selected_cell(_Reports(reports), pin, name).text


def build(reports: Path, *, lockfile: Path | None = None, patches_dir: Path | None = None) -> Matrix:
    """The matrix from the lock, the patch headers and the reports in ``reports``."""
    lock = json.loads((lockfile or ROOT / "versions.lock").read_text(encoding="utf-8"))
    pins = list(lock["pins"])
    patches = load_patches(patches_dir or ROOT / "patches")
    numbers = sorted({p.number for p in patches})
    first = {p.number: p for p in reversed(patches)}
    titles = {n: p.name.split("-", 1)[1].split("+")[0].removesuffix(".diff") for n, p in first.items()}
    decisions = {
        pin: select_patches(
            patches,
            {canonicalize_name(k): Version(v) for k, v in lock["pins"][pin]["distributions"].items()},
        )
        for pin in pins
    }
    source = _Reports(reports)
    rows = []
    for number in numbers:
        cells = []
        for pin in pins:
            mine = [d for d in decisions[pin] if d.patch.number == number]
            chosen = next((d for d in mine if d.selected), None)
            if chosen is not None:
                cells.append(_selected_cell(source, pin, chosen.patch.name))
            elif fixed := next((d.patch.applied_upstream for d in mine if d.reason.startswith("fixed upstream")), None):
                cells.append(Cell(UPSTREAM, upstream=str(fixed)))
            else:
                cells.append(Cell(NOT_CONCERNED))
        rows.append(Row(number, titles[number], first[number].subject, tuple(cells)))
    problems: list[str] = []
    for pin in pins:
        patched = source.get(f"{pin}-patched.json")
        if patched is not None and not patched["apply"].get("ok", False):
            detail = patched["apply"].get("problems") or patched["apply"].get("error") or "see the session log"
            problems.append(f"{pin}: applying the patch set failed: {detail}")
        for row in rows:
            here = row.cells[pins.index(pin)]
            problems.extend(
                f"{pin}: {here.patch}: {test} {outcome} with the patch applied"
                for test, outcome in sorted(here.patched_tests.items())
                if outcome != "passed"
            )
        unpatched = source.get(f"{pin}-unpatched.json")
        problems.extend(str(p) for p in (unpatched or {}).get("problems", []))
        # the verdict problems of patched (fixed-upstream tests, harness errors) and of isolation
        problems.extend(str(p) for p in (patched or {}).get("problems", []) if str(p) not in problems)
        problems.extend(str(p) for p in (source.get(f"{pin}-isolation.json") or {}).get("problems", []))
    pin_rows = tuple(
        Pin(pin, dict(lock["pins"][pin]["distributions"]), str(lock["pins"][pin].get("python", ""))) for pin in pins
    )
    return Matrix(pin_rows, tuple(rows), tuple(problems), source.read())


def table(matrix: Matrix) -> str:
    """The matrix as a Markdown table."""
    lines = [
        "| patch | " + " | ".join(f"litellm {pin.id}" for pin in matrix.pins) + " |",
        "|---|" + "---|" * len(matrix.pins),
    ]
    lines.extend(f"| {row.number} {row.title} | " + " | ".join(c.text for c in row.cells) + " |" for row in matrix.rows)
    return "\n".join(lines) + "\n"


def render(reports: Path) -> str:
    """The matrix as a Markdown table."""
    return table(build(reports))


LEGEND = (
    ("applied, needed", "applied with fuzz 0 (`nox -s patched`), and every test of the patch fails without it"),
    ("NOT needed", "a test of the patch passed without it (`nox -s unpatched`): retire the patch or fix the test"),
    ("harness error", "a test of the patch errored or was skipped without it: it proves nothing; fix the harness"),
    ("not run", "that session's report is missing: run `nox -s patched` / `nox -s unpatched` for the pin"),
    ("fixed upstream (X)", "the pin is at or above the patch's `Applied-Upstream` version X"),
    ("n/a", "no variant of the patch is for that version"),
)


def pin_label(pin: Pin) -> str:
    """The pin's distributions and Python, e.g. ``litellm 1.81.0, litellm-enterprise 0.1.27; Python 3.11``."""
    dists = ", ".join(f"{name} {version}" for name, version in pin.distributions.items())
    return f"{dists}; Python {pin.python}" if pin.python else dists


def markdown(matrix: Matrix) -> str:
    """The matrix as a Markdown page: the table, the pins' versions, a legend and the reported problems."""
    lines = ["# LiteLLM patches x pins", "", table(matrix)]
    lines.extend(f"- `{pin.id}`: {pin_label(pin)}" for pin in matrix.pins)
    lines.append("")
    lines.extend(f"- `{term}`: {meaning}" for term, meaning in LEGEND)
    lines.extend(["", "## Problems", ""])
    lines.extend([f"- {p}" for p in matrix.problems] or ["None reported."])
    lines.extend(["", "Read: " + (", ".join(f"`{s}`" for s in matrix.sources) or "no session report") + "."])
    return "\n".join(lines) + "\n"


def main() -> int:
    """Print the matrix and write it to ``REPORTS/matrix.md``."""
    reports = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "reports"
    text = markdown(build(reports))
    reports.mkdir(parents=True, exist_ok=True)
    (reports / "matrix.md").write_text(text, encoding="utf-8")
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
