"""Rendering of planning results shared by ``apply``, ``check``, ``import`` and ``refresh``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sitepatch.plan import ALREADY, APPLIED, FAILED, SKIPPED, HunkResult, PatchResult

__all__ = ["hunk_lines", "hunk_report", "patch_doc", "summary"]


def __dir__() -> list[str]:
    return __all__


def _hunk_doc(h: HunkResult) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "index": h.index,
        "status": h.status,
        "line": h.line,
        "offset": h.offset,
        "fuzz": h.fuzz,
        "expected_line": h.expected_line,
        "patch_line": h.diff_line_no,
    }
    if h.candidates:
        doc["candidates"] = list(h.candidates)
    if h.expected:
        doc["expected"] = list(h.expected)
        doc["actual"] = list(h.actual)
        doc["nearest_line"] = h.nearest_line
    return doc


def patch_doc(result: PatchResult) -> dict[str, Any]:
    """The JSON document of one patch's result, with every file and hunk."""
    patch = result.patch
    return {
        "name": patch.name,
        "number": patch.number,
        "package": patch.package,
        "subject": patch.subject,
        "status": result.status,
        "reason": result.reason,
        "files": [
            {
                "path": f.path,
                "kind": f.kind,
                "status": f.status,
                "reason": f.reason,
                "hunks": [_hunk_doc(h) for h in f.hunks],
            }
            for f in result.files
        ],
    }


def hunk_lines(result: PatchResult) -> list[str]:
    """The human lines for the hunks worth a word: placed with an offset or fuzz, ambiguous, or failed."""
    lines: list[str] = []
    for f in result.files:
        for h in f.hunks:
            where = f"{result.patch.display}:{h.diff_line_no}"
            if h.status in (APPLIED, ALREADY) and (h.offset or h.fuzz):
                sign = "+" if h.offset > 0 else ""
                at = f"at line {h.line} (offset {sign}{h.offset}, fuzz {h.fuzz})"
                lines.append(f"    {f.path}: hunk #{h.index} {h.status} {at}")
            elif h.status == "ambiguous":
                cands = ", ".join(str(c) for c in h.candidates)
                lines.append(
                    f"    {f.path}: hunk #{h.index} ({where}) is AMBIGUOUS at fuzz {h.fuzz}: matches at lines {cands}"
                )
                lines.append(
                    f"      none is its expected line {h.expected_line}; add context to the hunk so it matches once"
                )
            elif h.status == FAILED:
                agree = sum(1 for e, a in zip(h.expected, h.actual, strict=False) if e == a)
                lines.append(
                    f"    {f.path}: hunk #{h.index} ({where}) FAILED: expected at line {h.expected_line}, "
                    f"nearest match at line {h.nearest_line} ({agree} of {len(h.expected)} lines agree)"
                )
                for i, expected in enumerate(h.expected):
                    actual = h.actual[i] if i < len(h.actual) else "<end of file>"
                    mark = " " if expected == actual else "!"
                    lines.append(f"      {mark} patch: {expected!r}")
                    if expected != actual:
                        lines.append(f"      {mark} file:  {actual!r}")
    return lines


def summary(results: Sequence[PatchResult]) -> dict[str, int]:
    """How many patches applied, were already applied, were skipped and failed."""
    counts = {APPLIED: 0, ALREADY: 0, SKIPPED: 0, FAILED: 0}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    return counts


def hunk_report(results: Sequence[PatchResult]) -> list[str]:
    """One line per patch with its status and reason, each followed by its :func:`hunk_lines`."""
    lines = []
    for result in results:
        lines.append(f"{result.status:<16}{result.name}{': ' + result.reason if result.reason else ''}")
        lines.extend(hunk_lines(result))
    return lines
