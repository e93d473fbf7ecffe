"""Render the pins x patches matrix from versions.lock, the patch headers and the nox session reports.

A cell says whether the patch applied to the pin (``nox -s patched``) and whether its tests proved it
needed there (``nox -s unpatched``), or that upstream fixed it, or that it does not concern that version.
Usage: ``python tools/matrix.py [REPORTS_DIR]``; writes ``matrix.md`` into the reports directory.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from packaging.utils import canonicalize_name  # noqa: E402 - after the path is set
from packaging.version import Version  # noqa: E402

from sitepatch.parse import load_patches  # noqa: E402
from sitepatch.selection import select_patches  # noqa: E402


def _load(path: Path) -> dict[str, object] | None:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def cell(reports: Path, pin: str, name: str) -> str:
    """Applied and needed, as far as the reports of this pin say."""
    applied = needed = "not run"
    patched = _load(reports / f"{pin}-patched.json")
    if patched is not None:
        apply_doc = patched["apply"]
        assert isinstance(apply_doc, dict)
        statuses = {p["name"]: p["status"] for p in apply_doc.get("patches", [])}
        applied = str(statuses.get(name, "missing"))
    unpatched = _load(reports / f"{pin}-unpatched.json")
    if unpatched is not None:
        tests = unpatched["tests"]
        assert isinstance(tests, dict)
        mine = tests.get(name[:4], {})
        needed = "needed" if mine and all(v == "failed" for v in mine.values()) else "NOT needed"
    return f"{applied}, {needed}"


def render(reports: Path) -> str:
    """The matrix as a Markdown table."""
    lock = json.loads((ROOT / "versions.lock").read_text(encoding="utf-8"))
    pins = list(lock["pins"])
    patches = load_patches(ROOT / "patches")
    numbers = sorted({p.number for p in patches})
    titles = {p.number: p.name.split("-", 1)[1].split("+")[0].removesuffix(".diff") for p in patches}
    header = "| patch | " + " | ".join(f"litellm {pin}" for pin in pins) + " |"
    lines = [header, "|---|" + "---|" * len(pins)]
    decisions = {
        pin: select_patches(
            patches,
            {canonicalize_name(k): Version(v) for k, v in lock["pins"][pin]["distributions"].items()},
        )
        for pin in pins
    }
    for number in numbers:
        cells = []
        for pin in pins:
            mine = [d for d in decisions[pin] if d.patch.number == number]
            chosen = next((d for d in mine if d.selected), None)
            if chosen is not None:
                cells.append(cell(reports, pin, chosen.patch.name))
            elif fixed := next((d.patch.applied_upstream for d in mine if d.reason.startswith("fixed upstream")), None):
                cells.append(f"fixed upstream ({fixed})")
            else:
                cells.append("n/a")
        lines.append(f"| {number} {titles[number]} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> int:
    """Print the matrix and write it to ``REPORTS/matrix.md``."""
    reports = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "reports"
    text = render(reports)
    reports.mkdir(parents=True, exist_ok=True)
    (reports / "matrix.md").write_text(text, encoding="utf-8")
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
