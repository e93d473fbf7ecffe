"""The authorization-differential suite's pure parts: the ``Opens:`` grammar, the comparator, the mutation.

No LiteLLM here: recordings are small dictionaries shaped as ``tests/authz/record.py`` writes them.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from authz.authz_matrix import CALLERS, CONFIGS, SURFACES, auth_class, size
from authz.compare import (
    Opening,
    OpensError,
    Violation,
    applied_patches,
    compare,
    harness_problems,
    openings_of,
    parse_opens,
    widened,
)
from authz.compare import main as compare_main
from authz.mutate import MUTATION, MutationError, mutate
from hypothesis import given
from hypothesis import strategies as st

from fakesite import SOURCE, make_diff, write_patch

ROOT = Path(__file__).resolve().parents[2]


def case(caller: str, status: int, *, admitted: bool | None = None, **fields: Any) -> dict[str, Any]:
    base = {"config": "c", "request": "/pt/a/b", "method": "GET", "surface": "pass-through-subpath", "auth": "unset"}
    return {
        **base,
        **fields,
        "caller": caller,
        "status": status,
        "admitted": status < 300 if admitted is None else admitted,
    }


def doc(*cases: dict[str, Any], controls: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"outcomes": list(cases), "controls": controls or []}


# -- the Opens: grammar ---------------------------------------------------------------------------


def test_one_clause_names_surface_auth_and_caller() -> None:
    assert parse_opens("surface=pass-through-subpath auth=off caller=any", patch="p.diff") == (
        Opening("pass-through-subpath", "off", "any", "p.diff"),
    )


@pytest.mark.parametrize(
    "separator", ["; ", "\n", ";\n", " ;"], ids=["semicolon", "newline", "both", "space-semicolon"]
)
def test_clauses_are_separated_by_semicolons_or_lines(separator: str) -> None:
    text = f"surface=pass-through-subpath auth=off caller=any{separator}surface=key-info auth=any caller=valid"
    assert [str(o) for o in parse_opens(text)] == [
        "surface=pass-through-subpath auth=off caller=any",
        "surface=key-info auth=any caller=valid",
    ]


def test_words_may_come_in_any_order() -> None:
    assert parse_opens("caller=master auth=on surface=files") == (Opening("files", "on", "master"),)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("", "empty Opens field", id="empty"),
        pytest.param(" ; ", "empty Opens field", id="only separators"),
        pytest.param("surface=files auth=on caller", "'caller' is not key=value", id="no equals sign"),
        pytest.param("surface=files auth= caller=any", "'auth=' is not key=value", id="empty value"),
        pytest.param("surface=files auth=on caller=any who=me", "unknown key 'who'", id="unknown key"),
        pytest.param("surface=files surface=files auth=on caller=any", "surface given twice", id="key twice"),
        pytest.param("surface=files auth=on", "missing caller", id="missing key"),
        pytest.param("surface=everything auth=on caller=any", "unknown surface 'everything'", id="unknown surface"),
        pytest.param("surface=files auth=maybe caller=any", "auth must be one of", id="unknown auth"),
        pytest.param("surface=files auth=on caller=somebody", "unknown caller 'somebody'", id="unknown caller"),
    ],
)
def test_a_malformed_field_is_refused_naming_the_clause(text: str, message: str) -> None:
    with pytest.raises(OpensError, match=message):
        parse_opens(text, patch="0099-x.diff")


def test_every_surface_and_caller_of_the_matrix_can_be_declared() -> None:
    for surface, caller in itertools.product(SURFACES, [*(c.name for c in CALLERS), "any"]):
        assert parse_opens(f"surface={surface} auth=any caller={caller}")[0].caller == caller


def test_the_parser_accepts_the_field_and_the_suite_reads_it(tmp_path: Path) -> None:
    diff = make_diff(SOURCE, SOURCE.replace(b"line 10", b"line ten"), "demo/mod.py")
    opens = "surface=pass-through-subpath auth=off caller=any; surface=key-info auth=any caller=valid"
    with_field = write_patch(tmp_path, "0001-opens.diff", diff, extra={"Opens": opens})
    without = write_patch(tmp_path, "0002-narrows.diff", diff)
    found = openings_of([with_field, without])
    assert [(o.surface, o.caller, o.patch) for o in found] == [
        ("pass-through-subpath", "any", "0001-opens.diff"),
        ("key-info", "valid", "0001-opens.diff"),
    ]


def test_the_0010_variants_declare_their_sub_path_opening() -> None:
    variants = sorted((ROOT / "patches").glob("0010-*.diff"))
    assert variants
    for path in variants:
        opened = openings_of([path])
        assert Opening("pass-through-subpath", "off", "any", path.name) in opened, path.name
        # unset means "no auth" only before 1.84: only the variants up to 1.83 open unset sub-paths
        unset = Opening("pass-through-subpath", "unset", "any", path.name) in opened
        assert unset == (
            path.name
            in {
                "0010-pass-through-subpath-auth.diff",
                "0010-pass-through-subpath-auth+1.81.14.diff",
                "0010-pass-through-subpath-auth+1.83.14.diff",
            }
        )


# -- the comparator ---------------------------------------------------------------------------------


def test_the_same_access_is_no_violation() -> None:
    recording = doc(case("valid", 200), case("no-key", 401))
    assert compare(recording, recording, []) == []


def test_narrowed_access_is_no_violation() -> None:
    assert compare(doc(case("valid", 200)), doc(case("valid", 403)), []) == []


def test_a_case_admitted_only_patched_is_named_with_both_status_codes() -> None:
    violations = compare(doc(case("blocked-team", 401)), doc(case("blocked-team", 200)), [])
    assert violations == [
        Violation("c", "/pt/a/b", "GET", "blocked-team", "pass-through-subpath", "unset", 401, 200),
    ]
    assert str(violations[0]) == (
        "GET /pt/a/b by blocked-team (config c; pass-through-subpath, auth unset): "
        "unpatched 401 refused, patched 200 admitted"
    )


def test_admitted_is_the_recorded_flag_not_the_status() -> None:
    # an upstream reached behind a 500 is admitted; a 200 that reveals nothing (filtered /v2/key/info) is not
    unpatched = doc(case("valid", 500, admitted=False), case("valid", 200, admitted=False, method="POST"))
    patched = doc(case("valid", 500, admitted=True), case("valid", 200, admitted=False, method="POST"))
    assert [(v.method, v.patched_status) for v in compare(unpatched, patched, [])] == [("GET", 500)]


@pytest.mark.parametrize(
    ("opens", "covered"),
    [
        pytest.param("surface=pass-through-subpath auth=unset caller=any", True, id="same surface and auth"),
        pytest.param("surface=pass-through-subpath auth=any caller=any", True, id="any auth"),
        pytest.param("surface=pass-through-subpath auth=unset caller=valid", True, id="this caller"),
        pytest.param("surface=pass-through-subpath auth=off caller=any", False, id="other auth"),
        pytest.param("surface=pass-through-exact auth=unset caller=any", False, id="other surface"),
        pytest.param("surface=pass-through-subpath auth=unset caller=master", False, id="other caller"),
    ],
)
def test_a_declared_opening_covers_exactly_its_surface_auth_and_caller(opens: str, covered: bool) -> None:
    violations = compare(doc(case("valid", 401)), doc(case("valid", 200)), parse_opens(opens))
    assert (violations == []) == covered


def test_recordings_of_different_matrices_are_not_compared() -> None:
    with pytest.raises(ValueError, match="different cases"):
        compare(doc(case("valid", 200)), doc(case("master", 200)), [])


def test_a_caller_the_control_does_not_restrict_is_a_harness_error() -> None:
    controls = [
        {"caller": "blocked", "ok": False, "status": 200, "admitted": True, "expected_admitted": False, "detail": ""},
        {"caller": "valid", "ok": True, "status": 200, "admitted": True, "expected_admitted": True},
    ]
    problems = harness_problems(doc(controls=controls), "unpatched")
    assert len(problems) == 1
    assert "harness error: caller blocked" in problems[0]


def test_widened_lists_declared_and_undeclared_openings_alike() -> None:
    rows = widened(doc(case("valid", 401), case("master", 200)), doc(case("valid", 200), case("master", 200)))
    assert rows == [
        {
            "config": "c",
            "request": "/pt/a/b",
            "method": "GET",
            "caller": "valid",
            "surface": "pass-through-subpath",
            "auth": "unset",
            "unpatched": 401,
            "patched": 200,
        }
    ]


_OUTCOME = st.tuples(st.booleans(), st.booleans())


@given(
    st.dictionaries(st.sampled_from([c.name for c in CALLERS]), _OUTCOME, min_size=1),
    st.sampled_from(["on", "off", "unset"]),
    st.sampled_from([c.name for c in CALLERS] + ["any"]),
)
def test_violations_are_exactly_the_undeclared_widenings(
    outcomes: dict[str, tuple[bool, bool]], auth: str, caller: str
) -> None:
    unpatched = doc(*(case(name, 200 if before else 401, auth=auth) for name, (before, _) in outcomes.items()))
    patched = doc(*(case(name, 200 if after else 401, auth=auth) for name, (_, after) in outcomes.items()))
    opening = Opening("pass-through-subpath", "unset", caller)
    expected = {
        name
        for name, (before, after) in outcomes.items()
        if after and not before and not (auth == "unset" and caller in {"any", name})
    }
    assert {v.caller for v in compare(unpatched, patched, [opening])} == expected


# -- the command line and the matrix ---------------------------------------------------------------


def _write(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_the_command_exits_1_listing_each_violation(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    apply = _write(
        tmp_path / "apply.json",
        {"patches": [{"name": "0010-pass-through-subpath-auth+1.84.diff", "status": "applied"}]},
    )
    args = ["--patches", str(ROOT / "patches"), "--applied", str(apply), "--out", str(tmp_path / "r.json")]
    unpatched = _write(tmp_path / "u.json", doc(case("valid", 401), case("no-key", 401, auth="off")))
    patched = _write(tmp_path / "p.json", doc(case("valid", 200), case("no-key", 200, auth="off")))
    assert compare_main(["--unpatched", str(unpatched), "--patched", str(patched), *args]) == 1
    out = capsys.readouterr().out
    assert "VIOLATION: GET /pt/a/b by valid" in out
    assert "by no-key" not in out.replace("1 of them", "")  # auth off: 0010's declared opening
    report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert [v["caller"] for v in report["violations"]] == ["valid"]
    assert len(report["opened"]) == 2
    # the self-test mode succeeds only when the expected violation is reported
    assert (
        compare_main(["--unpatched", str(unpatched), "--patched", str(patched), *args, "--expect-violations=by valid"])
        == 0
    )
    assert (
        compare_main(
            ["--unpatched", str(unpatched), "--patched", str(unpatched), *args, "--expect-violations=by valid"]
        )
        == 1
    )


def test_only_applied_patches_count() -> None:
    names = applied_patches(
        {"patches": [{"name": "a.diff", "status": "applied"}, {"name": "b.diff", "status": "skipped"}]}, Path("p")
    )
    assert names == [Path("p/a.diff")]


def test_the_matrix_holds_every_kind_of_caller_and_auth() -> None:
    assert {c.name for c in CALLERS} >= {
        "no-key",
        "master",
        "valid",
        "blocked",
        "blocked-team",
        "over-budget",
        "model-limited",
        "route-limited",
        "expired",
        "other-user",
        "other-team",
        "user-id-empty",
        "user-id-none",
    }
    auths = {auth_class(e.get("auth"), present="auth" in e) for c in CONFIGS for e in c.endpoints}
    assert auths == {"on", "off", "unset"}
    assert size()["cases"] == size()["request_methods"] * len(CALLERS)


# -- the self-test's mutation -------------------------------------------------------------------------


def test_the_mutation_drops_the_method_check_of_the_applied_variant(tmp_path: Path) -> None:
    name = "0010-pass-through-subpath-auth+1.84.diff"
    expect = mutate(ROOT / "patches", [name, "0012-key-info-owner-without-user-id.diff"], tmp_path / "m")
    assert expect == MUTATION.expect
    before = (ROOT / "patches" / name).read_text(encoding="utf-8")
    after = (tmp_path / "m" / name).read_text(encoding="utf-8")
    assert "return method.upper() in" in before
    assert "return method.upper() in" not in after
    assert "+        return True\n" in after
    assert len(before.splitlines()) == len(after.splitlines())


def test_a_mutation_that_changes_nothing_fails(tmp_path: Path) -> None:
    with pytest.raises(MutationError, match="no line matches"):
        mutate(ROOT / "patches", ["0010-pass-through-subpath-auth.diff"], tmp_path / "m")  # base: no method check
    with pytest.raises(MutationError, match="not applied"):
        mutate(ROOT / "patches", ["0012-key-info-owner-without-user-id.diff"], tmp_path / "m")


def test_every_case_of_the_matrix_has_its_own_name() -> None:
    names = [(c.name, r.name, m) for c in CONFIGS for r in c.requests for m in r.methods]
    assert len(names) == len(set(names))
