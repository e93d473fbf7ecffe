"""tools/verdicts.py: how the regression sessions judge the classified test verdicts."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))

import verdicts  # noqa: E402 - tools/ is not a package
from verdicts import DEFECT, ERROR, PASSED, SKIPPED, Run, TestVerdict  # noqa: E402


def _run(*tests: tuple[str, str, str], errors: tuple[str, ...] = (), exitstatus: int = 1) -> Run:
    return Run(
        tuple(TestVerdict(f"tests/regression/test_{p}.py::{name}", p, v, f"why {name}") for p, name, v in tests),
        errors,
        exitstatus,
    )


def test_a_run_is_read_from_the_conftest_verdicts_file(tmp_path):
    path = tmp_path / "v.json"
    path.write_text(
        json.dumps(
            {
                "exitstatus": 1,
                "collection_errors": ["tests/regression/test_x.py: ImportError"],
                "tests": {"t.py::test_a": {"patch": "0002", "verdict": "failed", "reason": "AssertionError: 500"}},
            }
        )
    )
    run = Run.load(path)
    assert run.of("0002") == [TestVerdict("t.py::test_a", "0002", DEFECT, "AssertionError: 500")]
    assert run.collection_errors == ("tests/regression/test_x.py: ImportError",)


def test_patched_passes_when_every_selected_and_fixed_upstream_test_passes():
    run = _run(("0002", "a", PASSED), ("0005", "b", PASSED), ("harness", "guard", PASSED))
    assert verdicts.judge_patched(run, pin="1.81.0", selected=["0002-x.diff"], upstream={"0005": "1.80.16"}) == []


def test_patched_names_a_fixed_upstream_test_that_fails_with_the_set_applied():
    run = _run(("0002", "a", PASSED), ("0004", "keeps_status", DEFECT))
    (problem,) = verdicts.judge_patched(run, pin="1.110.2", selected=["0002-x.diff"], upstream={"0004": "0.1.28"})
    assert "patch 0004 is marked fixed upstream (0.1.28) but keeps_status fails" in problem


@pytest.mark.parametrize(
    ("verdict", "expected"),
    [
        pytest.param(DEFECT, [], id="defect shown"),
        pytest.param(PASSED, ["patch 0002 is no longer needed on 1.81.0: retire it (a passed unpatched)"], id="passed"),
        pytest.param(ERROR, ["unpatched(1.81.0): tests/regression/test_0002.py::a: why a"], id="harness error"),
        pytest.param(SKIPPED, ["unpatched(1.81.0): tests/regression/test_0002.py::a was skipped: why a"], id="skipped"),
    ],
)
def test_unpatched_counts_only_a_failure_in_the_body_as_the_defect(verdict, expected):
    problems = verdicts.judge_unpatched(
        _run(("0002", "a", verdict)), pin="1.81.0", selected=["0002-x.diff"], upstream={}
    )
    assert len(problems) == len(expected)
    for problem, text in zip(problems, expected, strict=True):
        assert text in problem


def test_unpatched_requires_fixed_upstream_tests_to_pass():
    run = _run(("0002", "a", DEFECT), ("0001", "b", DEFECT), ("0003", "c", PASSED))
    problems = verdicts.judge_unpatched(
        run, pin="1.81.0", selected=["0002-x.diff"], upstream={"0001": "1.80.16", "0003": "1.80.11"}
    )
    assert problems == [
        "unpatched(1.81.0): patch 0001 is marked fixed upstream (1.80.16) but b still fails without it on 1.81.0: why b"
    ]


def test_collection_errors_missing_tests_and_a_bad_exit_status_are_problems():
    run = _run(errors=("test_0002.py: ImportError: no module named x",), exitstatus=2)
    problems = verdicts.judge_unpatched(run, pin="1.81.0", selected=["0002-x.diff"], upstream={})
    assert problems == [
        "unpatched(1.81.0): collection error: test_0002.py: ImportError: no module named x",
        "unpatched(1.81.0): pytest exited with status 2 (interrupted or usage error)",
        "unpatched(1.81.0): patch 0002 has no regression test that ran",
    ]


def test_isolation_requires_the_left_out_patch_to_fail_and_the_others_to_pass():
    run = _run(("0001", "a", DEFECT), ("0002", "b", PASSED), ("0005", "c", DEFECT))
    problems = verdicts.judge_isolation(
        run, pin="1.80.10", left_out="0001", also_out=[], applied=["0002-x.diff", "0005-y.diff"]
    )
    expected = (
        "isolation(1.80.10) without 0001: patch 0005: c fails when 0001 is left out: it needs 0001 "
        "(declare `Depends: 0001` or make the test independent): why c"
    )
    assert problems == [expected]


def test_isolation_names_a_test_that_passes_without_its_patch():
    run = _run(("0002", "b", PASSED), ("0001", "a", PASSED))
    (problem,) = verdicts.judge_isolation(run, pin="1.80.10", left_out="0002", also_out=[], applied=["0001-x.diff"])
    assert "b passes without patch 0002: it does not prove that patch" in problem


def test_isolation_does_not_judge_the_dependents_left_out_with_the_patch():
    run = _run(("0004", "a", DEFECT), ("0005", "b", DEFECT))
    assert verdicts.judge_isolation(run, pin="1.81.0", left_out="0004", also_out=["0005"], applied=[]) == []


def test_leave_one_out_leaves_out_everything_that_depends_on_the_patch(tmp_path):
    (tmp_path / "0004-a.diff").write_text("Subject: a\nPackage: litellm-enterprise\n\n--- a/x\n")
    (tmp_path / "0005-b.diff").write_text("Subject: b\nDepends: 0004\n\n--- a/y\n")
    (tmp_path / "0006-c.diff").write_text("Subject: c\nDepends: 0005-b,\n 0010\n\n--- a/z\n")
    (tmp_path / "0010-d.diff").write_text("Subject: d\n\n--- a/w\n")
    depends = verdicts.dependencies(sorted(tmp_path.glob("*.diff")))
    assert depends == {
        "0004": frozenset(),
        "0005": frozenset({"0004"}),
        "0006": frozenset({"0005", "0010"}),
        "0010": frozenset(),
    }
    rounds = verdicts.leave_one_out(["0004-a.diff", "0005-b.diff", "0006-c.diff", "0010-d.diff"], depends)
    assert rounds == [
        ("0004", frozenset({"0005", "0006"})),
        ("0005", frozenset({"0006"})),
        ("0006", frozenset()),
        ("0010", frozenset({"0006"})),
    ]


def test_only_patches_not_selected_because_upstream_fixed_them_count_as_fixed_upstream():
    found = verdicts.fixed_upstream("1.81.0")
    assert found["0001"] == "1.80.16"
    assert "0002" not in found  # selected on 1.81.0
    assert "0010" not in found


def test_the_command_line_prints_the_fixed_upstream_patches(capsys):
    assert verdicts.main(["fixed-upstream", "1.110.2"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert "0002" in printed  # fixed upstream in the litellm-enterprise 1.110.2 pins
    assert verdicts.main(["nonsense"]) == 2
