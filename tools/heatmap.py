"""Render a sweep (``apply_patches.py sweep --output reports/sweep.json``) as releases x patches.

``sweep.html``: a heat map, one colour per verdict, each cell carrying the variant, offset and fuzz, the failed
hunks with their expected and nearest lines, and the test evidence (from ``coverage.json``) with test ids.
``sweep.md``: the coverage summary the README shows (per patch id, the verdict ranges).
Standalone and deterministic, like ``report.py``'s pages. Usage: ``python tools/heatmap.py [REPORTS_DIR]``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

__all__ = ["COLOURS", "coverage_markdown", "heatmap_page", "main", "write"]

ROOT = Path(__file__).resolve().parent.parent
COLOURS = {
    "applies": "#2da44e",
    "already-present": "#8c959f",
    "conflicts": "#cf222e",
    "gap": "#fd8c73",
    "candidate": "#d4a72c",
    "not-selected": "#fff8c5",
    "fixed-upstream": "#54aeff",
    "error": "#8250df",
}
"""One colour per verdict (``candidate``: not selected, but a variant would apply at fuzz 0)."""
MEANING = {
    "applies": "the selected variant applies (offset/fuzz in the cell)",
    "already-present": "every change of the selected variant is already in the release",
    "conflicts": "the selected variant does not apply: hunks and nearest lines in the cell",
    "gap": "no variant selected although the release has the defect (the guard's rules), and none applies",
    "candidate": "no variant selected, but one would apply at fuzz 0 (widen its Versions, after evidence)",
    "not-selected": "no variant selected, and the release is not affected (outside Affects, below every range)",
    "fixed-upstream": "at or past Applied-Upstream",
    "error": "two variants selected at once",
}
STYLE = """
body { font: 13px/1.4 system-ui, sans-serif; margin: 2rem; color: #1b1f23; }
table { border-collapse: collapse; }
th, td { border: 1px solid #d0d7de; padding: 2px 6px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; position: sticky; top: 0; }
td.cell { min-width: 4.5rem; }
td.cell details summary { cursor: pointer; list-style: none; }
td.cell details[open] { background: #fff; }
.key span { display: inline-block; width: 1rem; height: 1rem; vertical-align: middle; margin-right: .3rem; }
code { font-size: 90%; }
"""


def _kind(cell: Mapping[str, Any]) -> str:
    status = str(cell.get("status", ""))
    if status == "not-selected" and cell.get("candidates"):
        return "candidate"
    if status == "not-selected" and cell.get("gap"):
        return "gap"
    return status


def _mark(cell: Mapping[str, Any]) -> str:
    kind = _kind(cell)
    if kind == "applies":
        extra = []
        if cell.get("offset"):
            extra.append(f"~{cell['offset']}")
        if cell.get("fuzz"):
            extra.append(f"f{cell['fuzz']}")
        variant = str(cell.get("variant", ""))
        tag = variant.split("+", 1)[1].removesuffix(".diff") if "+" in variant else "ok"
        return " ".join([tag, *extra])
    return {
        "already-present": "=",
        "conflicts": "XX",
        "not-selected": "-",
        "gap": "GAP",
        "candidate": "c",
        "fixed-upstream": "up",
        "error": "!!",
    }.get(kind, kind)


def _hunks(hunks: Sequence[Mapping[str, Any]]) -> str:
    items = "".join(
        f"<li><code>{escape(str(h.get('file', '')))}</code> hunk #{h.get('hunk')}: {escape(str(h.get('status', '')))}"
        f" (expected at line {h.get('expected_line')}, nearest {h.get('nearest_line')})</li>"
        for h in hunks
    )
    return f"<ul>{items}</ul>" if items else ""


def _evidence(entries: Sequence[Mapping[str, Any]]) -> str:
    parts = []
    for e in entries:
        tests = "".join(
            f"<li><code>{escape(t.rsplit('::', 1)[-1])}</code>: {escape(' / '.join(o))}</li>"
            for t, o in sorted(dict(e.get("tests", {})).items())
        )
        parts.append(
            f"<p>tests {escape(str(e.get('date', '')))}: unpatched <b>{escape(str(e.get('unpatched')))}</b>, "
            f"patched <b>{escape(str(e.get('patched')))}</b></p><ul>{tests}</ul>"
        )
    return "".join(parts)


def _cell_html(cell: Mapping[str, Any], evidence: Sequence[Mapping[str, Any]]) -> str:
    kind = _kind(cell)
    colour = COLOURS.get(kind, "#ffffff")
    text_colour = "#ffffff" if kind in ("applies", "conflicts", "error", "already-present") else "#1b1f23"
    detail = []
    if cell.get("variant"):
        detail.append(f"<code>{escape(str(cell['variant']))}</code>")
    if kind == "applies":
        detail.append(f"offset {cell.get('offset', 0)}, fuzz {cell.get('fuzz', 0)}")
    if cell.get("candidates"):
        detail.append("would apply: " + ", ".join(f"<code>{escape(str(c))}</code>" for c in cell["candidates"]))
    if cell.get("reason"):
        detail.append(escape(str(cell["reason"])))
    body = "<br>".join(detail) + _hunks(cell.get("hunks", ())) + _evidence(evidence)
    mark = escape(_mark(cell)) + (" &#10003;" if any(e.get("patched") == "passed" for e in evidence) else "")
    style = f"background:{colour};color:{text_colour}"
    return f'<td class="cell" style="{style}"><details><summary>{mark}</summary>{body}</details></td>'


def heatmap_page(sweep: Mapping[str, Any], evidence: Sequence[Mapping[str, Any]] = ()) -> str:
    """The sweep as a standalone HTML heat map, releases down, patch ids across."""
    ids = list(sweep.get("patches", {}))
    by_key: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for entry in evidence:
        by_key.setdefault((str(entry.get("release")), str(entry.get("patch"))), []).append(entry)
    head = "".join(f"<th>{escape(i)}</th>" for i in ids)
    rows = []
    for row in sweep.get("releases", []):
        paired = ", ".join(f"{k} {v}" for k, v in dict(row.get("paired", {})).items())
        cells = "".join(_cell_html(row["verdicts"].get(i, {}), by_key.get((row["version"], i), ())) for i in ids)
        rows.append(
            f"<tr><th>{escape(row['version'])}<br><small>{escape(paired)}</small></th>"
            f"<td>{row.get('group')}</td>{cells}</tr>"
        )
    key = "".join(
        f'<li class="key"><span style="background:{c}"></span><code>{escape(k)}</code>: {escape(MEANING[k])}</li>'
        for k, c in COLOURS.items()
    )
    summary = dict(sweep.get("summary", {}))
    title = f"{sweep.get('package', 'litellm')} releases x patches"
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        f"<h1>{escape(title)}</h1>\n"
        f"<p>{summary.get('releases', 0)} releases in {summary.get('groups', 0)} groups, swept "
        f"{escape(str(sweep.get('generated', '')))} at max fuzz {sweep.get('max_fuzz', 0)}. Click a cell for "
        "the variant, the hunks and the tests; &#10003; marks a cell whose tests pass patched.</p>\n"
        f"<ul>{key}</ul>\n"
        f"<table>\n<thead><tr><th>release</th><th>group</th>{head}</tr></thead>\n<tbody>\n"
        + "\n".join(rows)
        + "\n</tbody>\n</table>\n</body>\n</html>\n"
    )


def coverage_markdown(sweep: Mapping[str, Any]) -> str:
    """Per patch id, the verdict ranges of the sweep, as the README's coverage summary."""
    releases = [r["version"] for r in sweep.get("releases", [])]
    span = f"{releases[0]} .. {releases[-1]}" if releases else "no release"
    lines = [
        f"Sweep of {len(releases)} {sweep.get('package', 'litellm')} releases ({span}), {sweep.get('generated', '')}:",
        "",
        "| patch | releases | verdict | variant |",
        "|---|---|---|---|",
    ]
    for number, runs in dict(sweep.get("ranges", {})).items():
        for run in runs:
            where = run["first"] if run["first"] == run["last"] else f"{run['first']} .. {run['last']}"
            verdict = ("**gap**: " if run.get("gap") else "") + run["status"]
            if run.get("candidates"):
                verdict += " (would apply: " + ", ".join(f"`{c}`" for c in run["candidates"]) + ")"
            variant = f"`{run['variant']}`" if run.get("variant") else ""
            lines.append(f"| {number} | {where} ({run['releases']}) | {verdict} | {variant} |")
    return "\n".join(lines) + "\n"


def _proves(entry: Mapping[str, Any]) -> str:
    """What one evidence entry proves.

    ``fixed`` (defect shown unpatched, passes patched), ``clean`` (no variant, passes unpatched), ``through``
    (no variant, fails unpatched, passes with the set applied) or ``""`` (nothing).
    """
    outcome = (entry.get("unpatched"), entry.get("patched"))
    if entry.get("variant"):
        return "fixed" if outcome == ("defect-shown", "passed") else ""
    if outcome[0] == "passed":
        return "clean"
    return "through" if outcome == ("defect-shown", "passed") else ""


def evidence_markdown(sweep: Mapping[str, Any], evidence: Sequence[Mapping[str, Any]]) -> str:
    """Per patch id, what the test evidence shows, and which sweep groups it reaches.

    A run "proves" a release when the tests show the defect unpatched and pass patched (a variant is
    selected), or pass unpatched where nothing is selected (fixed upstream, or not affected), or pass with the
    set applied where the patch is fixed upstream but depends on one the release still needs.
    """
    rows = {r["version"]: r for r in sweep.get("releases", [])}
    tested = {e["release"] for e in evidence if e.get("release") in rows}
    groups = {rows[v].get("group") for v in rows}
    reached = {rows[v].get("group") for v in tested}
    lines = [
        (
            f"Test evidence: {len(tested)} releases installed and tested, reaching {len(reached & groups)} of "
            f"{len(groups)} sweep groups."
        ),
        "",
        (
            "| patch | runs | defect shown unpatched, passes patched | passes unpatched (no defect) "
            "| passes with the set applied (fixed upstream, needs another patch) | other |"
        ),
        "|---|---|---|---|---|---|",
    ]
    by_patch: dict[str, list[Mapping[str, Any]]] = {}
    for entry in evidence:
        if entry.get("release") in rows:
            by_patch.setdefault(str(entry.get("patch")), []).append(entry)
    for number in sorted(by_patch):
        entries = by_patch[number]
        kinds = [_proves(e) for e in entries]
        rest = ", ".join(
            f"{e['release']} {e.get('unpatched')}/{e.get('patched')}"
            for e, k in zip(entries, kinds, strict=True)
            if not k
        )
        counts = [kinds.count(kind) for kind in ("fixed", "clean", "through")]
        lines.append(f"| {number} | {len(entries)} | {' | '.join(map(str, counts))} | {rest or 'none'} |")
    return "\n".join(lines) + "\n"


def write(reports: Path, record: Path | None = None) -> tuple[Path, Path] | None:
    """Write ``sweep.html`` and ``sweep.md`` from ``reports/sweep.json`` (``None`` when there is no sweep)."""
    source = reports / "sweep.json"
    if not source.is_file():
        return None
    sweep = json.loads(source.read_text(encoding="utf-8"))
    record = record or ROOT / "coverage.json"
    evidence = json.loads(record.read_text(encoding="utf-8")).get("evidence", []) if record.is_file() else []
    # Results of evidence jobs not yet merged into the record (nox -s evidence writes evidence-I-N.json).
    for path in sorted(reports.glob("evidence-*.json")):
        try:
            evidence.extend(json.loads(path.read_text(encoding="utf-8")).get("evidence", []))
        except ValueError:
            continue
    page, md = reports / "sweep.html", reports / "sweep.md"
    page.write_text(heatmap_page(sweep, evidence), encoding="utf-8")
    md.write_text(coverage_markdown(sweep) + "\n" + evidence_markdown(sweep, evidence), encoding="utf-8")
    return md, page


def main(argv: list[str] | None = None) -> int:
    """Write the two pages and print the Markdown summary."""
    args = sys.argv[1:] if argv is None else argv
    reports = Path(args[0]) if args else ROOT / "reports"
    written = write(reports)
    if written is None:
        sys.stderr.write(f"heatmap: no {reports / 'sweep.json'}; run nox -s sweep first\n")
        return 1
    md, page = written
    sys.stdout.write(md.read_text(encoding="utf-8"))
    sys.stdout.write(f"\nwrote {md} and {page}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
