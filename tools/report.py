"""Render the pins x patches matrix as ``matrix.md`` and as ``matrix.html``, a page a reviewer can open.

The data comes from ``tools/matrix.py`` (versions.lock, the patch headers and the reports the ``patched`` and
``unpatched`` nox sessions write); this module only lays it out. The HTML page is standalone (inline CSS, no
script, nothing fetched) and deterministic, so two runs over the same reports give the same bytes.
Usage: ``python tools/report.py [REPORTS_DIR]`` (default: ``reports/``). When the directory holds a sweep
(``sweep.json``), ``tools/heatmap.py`` also renders ``sweep.html`` (releases x patches) and ``sweep.md``.
"""

from __future__ import annotations

import sys
from html import escape
from pathlib import Path

# tools/matrix.py, the sibling module, is imported from here.
sys.path.insert(0, str(Path(__file__).resolve().parent))

import heatmap
from matrix import LEGEND, ROOT, Cell, Matrix, build, markdown, pin_label

__all__ = ["html_page", "main", "write"]

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem; color: #1b1f23; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border: 1px solid #d0d7de; padding: .35rem .6rem; vertical-align: top; text-align: left; }
th { background: #f6f8fa; }
th small, td small { display: block; color: #57606a; font-weight: normal; }
td.ok { background: #dafbe1; }
td.problem { background: #ffebe9; font-weight: bold; }
td.pending { background: #fff8c5; }
td.upstream { background: #ddf4ff; }
td.na { color: #8c959f; }
details summary { cursor: pointer; color: #57606a; }
code { font-size: 90%; }
"""


def _tests(title: str, outcomes: dict[str, str]) -> str:
    if not outcomes:
        return ""
    items = "".join(
        f"<li><code>{escape(test.rsplit('::', 1)[-1])}</code>: {escape(outcome)}</li>"
        for test, outcome in sorted(outcomes.items())
    )
    return f"<details><summary>{escape(title)} ({len(outcomes)})</summary><ul>{items}</ul></details>"


def _cell(cell: Cell) -> str:
    body = escape(cell.text)
    if cell.patch:
        body += f"<small>{escape(cell.patch)}</small>"
    body += _tests("tests with the patch", cell.patched_tests)
    body += _tests("tests without it", cell.unpatched_tests)
    return f'<td class="{cell.verdict}">{body}</td>'


def html_page(matrix: Matrix) -> str:
    """The matrix as a standalone HTML page."""
    head = "".join(f"<th>litellm {escape(p.id)}<small>{escape(pin_label(p))}</small></th>" for p in matrix.pins)
    rows = "".join(
        f"<tr><th>{escape(row.number)} {escape(row.title)}<small>{escape(row.subject)}</small></th>"
        + "".join(_cell(c) for c in row.cells)
        + "</tr>\n"
        for row in matrix.rows
    )
    legend = "".join(f"<li><code>{escape(term)}</code>: {escape(text)}</li>" for term, text in LEGEND)
    problems = "".join(f"<li>{escape(p)}</li>" for p in matrix.problems) or "<li>None reported.</li>"
    sources = ", ".join(f"<code>{escape(s)}</code>" for s in matrix.sources) or "no session report"
    counts = {v: sum(c.verdict == v for r in matrix.rows for c in r.cells) for v in ("ok", "problem", "pending")}
    summary = f"{counts['ok']} proven, {counts['problem']} with problems, {counts['pending']} not run"
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        "<title>LiteLLM patches x pins</title>\n"
        f"<style>{STYLE}</style>\n</head>\n<body>\n"
        "<h1>LiteLLM patches x pins</h1>\n"
        f"<p>{escape(summary)}.</p>\n"
        f"<table>\n<thead><tr><th>patch</th>{head}</tr></thead>\n<tbody>\n{rows}</tbody>\n</table>\n"
        f"<h2>Legend</h2>\n<ul>{legend}</ul>\n"
        f'<h2>Problems</h2>\n<ul class="problems">{problems}</ul>\n'
        f"<p><small>Read: {sources}.</small></p>\n"
        "</body>\n</html>\n"
    )


def write(reports: Path) -> tuple[Path, Path]:
    """Write ``matrix.md`` and ``matrix.html`` into ``reports``; returns their paths."""
    matrix = build(reports)
    reports.mkdir(parents=True, exist_ok=True)
    md, page = reports / "matrix.md", reports / "matrix.html"
    md.write_text(markdown(matrix), encoding="utf-8")
    page.write_text(html_page(matrix), encoding="utf-8")
    # The releases x patches heat map, when a sweep left reports/sweep.json (nox -s sweep).
    heatmap.write(reports)
    return md, page


def main(argv: list[str] | None = None) -> int:
    """Write the two pages and print the Markdown one."""
    args = sys.argv[1:] if argv is None else argv
    md, page = write(Path(args[0]) if args else ROOT / "reports")
    sys.stdout.write(md.read_text(encoding="utf-8"))
    sys.stdout.write(f"\nwrote {md} and {page}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
