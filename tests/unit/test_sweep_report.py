"""The sweep's heat map and coverage summary (tools/heatmap.py), and the scheduled sweep workflow."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))

import ci_matrix
import heatmap
from test_shipping import parse_yaml

ROOT = Path(__file__).resolve().parents[2]
SWEEP = {
    "package": "litellm",
    "generated": "2026-12-01T00:00:00Z",
    "max_fuzz": 0,
    "patches": {"0010": [{"file": "0010-a.diff"}], "0012": [{"file": "0012-b.diff"}]},
    "releases": [
        {
            "version": "1.81.0",
            "paired": {"litellm-enterprise": "0.1.27"},
            "group": 1,
            "verdicts": {
                "0010": {"status": "applies", "variant": "0010-a.diff", "offset": 3, "fuzz": 0},
                "0012": {
                    "status": "conflicts",
                    "variant": "0012-b.diff",
                    "hunks": [{"file": "k.py", "hunk": 2, "status": "failed", "expected_line": 40, "nearest_line": 52}],
                },
            },
        },
        {
            "version": "1.83.5",
            "paired": {},
            "group": 2,
            "verdicts": {
                "0010": {"status": "not-selected", "candidates": ["0010-a.diff"], "gap": True},
                "0012": {"status": "fixed-upstream"},
            },
        },
    ],
    "ranges": {
        "0010": [
            {
                "status": "applies",
                "variant": "0010-a.diff",
                "candidates": [],
                "first": "1.81.0",
                "last": "1.81.0",
                "releases": 1,
            },
            {
                "status": "not-selected",
                "variant": "",
                "candidates": ["0010-a.diff"],
                "gap": True,
                "first": "1.83.5",
                "last": "1.83.5",
                "releases": 1,
            },
        ],
        "0012": [],
    },
    "summary": {"releases": 2, "groups": 2},
}
EVIDENCE = {
    "release": "1.81.0",
    "patch": "0010",
    "unpatched": "defect-shown",
    "patched": "passed",
    "date": "2026-12-01",
    "tests": {"tests.regression.test_0010_x::test_subpath_is_forwarded": ["failed", "passed"]},
}


def test_each_verdict_gets_its_colour_and_its_details() -> None:
    page = heatmap.heatmap_page(SWEEP, [EVIDENCE])

    assert f"background:{heatmap.COLOURS['applies']}" in page
    assert f"background:{heatmap.COLOURS['conflicts']}" in page
    assert f"background:{heatmap.COLOURS['candidate']}" in page
    assert f"background:{heatmap.COLOURS['fixed-upstream']}" in page
    assert "hunk #2: failed (expected at line 40, nearest 52)" in page
    assert "<code>test_subpath_is_forwarded</code>: failed / passed" in page
    assert "offset 3, fuzz 0" in page
    assert page.count("<tr>") == 3


def test_the_coverage_summary_lists_verdict_ranges() -> None:
    text = heatmap.coverage_markdown(SWEEP)

    assert "Sweep of 2 litellm releases (1.81.0 .. 1.83.5)" in text
    assert "| 0010 | 1.83.5 (1) | **gap**: not-selected (would apply: `0010-a.diff`) |  |" in text


def test_the_evidence_summary_counts_what_each_run_proves() -> None:
    fixed = {**EVIDENCE, "variant": "0010-a.diff"}
    clean = {"release": "1.83.5", "patch": "0012", "variant": "", "unpatched": "passed", "patched": "passed"}
    broken = {**fixed, "release": "1.83.5", "patched": "failed"}

    text = heatmap.evidence_markdown(SWEEP, [fixed, clean, broken])

    assert "Test evidence: 2 releases installed and tested, reaching 2 of 2 sweep groups." in text
    assert "| 0010 | 2 | 1 | 0 | 0 | 1.83.5 defect-shown/failed |" in text
    assert "| 0012 | 1 | 0 | 1 | 0 | none |" in text


def test_write_reads_the_sweep_and_the_evidence_jobs_results(tmp_path: Path) -> None:
    (tmp_path / "sweep.json").write_text(json.dumps(SWEEP))
    (tmp_path / "evidence-1-2.json").write_text(json.dumps({"evidence": [EVIDENCE]}))

    written = heatmap.write(tmp_path, tmp_path / "no-record.json")

    assert written == (tmp_path / "sweep.md", tmp_path / "sweep.html")
    assert "defect-shown" in (tmp_path / "sweep.html").read_text()
    assert heatmap.write(tmp_path / "empty") is None


def test_shards_for_the_evidence_jobs(capsys: pytest.CaptureFixture[str]) -> None:
    assert ci_matrix.main(["--shards", "3"]) == 0
    assert capsys.readouterr().out == 'shards=["1/3","2/3","3/3"]\n'
    with pytest.raises(ValueError, match="at least one shard"):
        ci_matrix.shards(0)


def test_the_scheduled_workflow_sweeps_then_shards_the_evidence_then_renders() -> None:
    workflow = parse_yaml((ROOT / ".github" / "workflows" / "sweep.yml").read_text(encoding="utf-8"))

    assert "schedule" in workflow["on"]
    jobs = workflow["jobs"]
    runs = [s.get("run", "") for s in jobs["sweep"]["steps"]]
    assert "nox --non-interactive --session sweep" in runs
    assert 'python tools/ci_matrix.py --shards "$SHARDS" >> "$GITHUB_OUTPUT"' in runs
    assert jobs["evidence"]["strategy"]["matrix"]["shard"] == "${{ fromJSON(needs.sweep.outputs.shards) }}"
    evidence_runs = [s.get("run", "") for s in jobs["evidence"]["steps"]]
    assert 'nox --non-interactive --session evidence -- "--shard=$SHARD" --jobs 2' in evidence_runs
    assert "python tools/heatmap.py reports" in [s.get("run", "") for s in jobs["heatmap"]["steps"]]
