"""The harness's own tests: the leak guard, the Router clean-up and the verdicts of ``conftest.py``.

A small test suite is written to a temporary directory next to copies of this directory's conftest and
support modules and run by pytest in a subprocess (it imports the installed LiteLLM). Its tests leak on
purpose, or fail in each way the classification tells apart; the assertions read the verdicts it wrote
(``--verdicts``) and the guard's messages. These tests have no ``patch`` marker: ``nox -s patched`` runs
them (``--harness-tests``), the other sessions leave them out.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
SUPPORT = ("conftest.py", "_support.py", "_database.py", "_isolation.py", "_managed_files_support.py", "_netguard.py")

LEAKING_TESTS = """
import os

import litellm
import pytest

pytestmark = pytest.mark.patch("9901")


def test_a_appends_to_a_callback_list():
    litellm.success_callback.append("sitepatch-leak-marker")


def test_b_sets_an_environment_variable():
    os.environ["SITEPATCH_LEAK_MARKER"] = "1"


def test_c_changes_a_litellm_setting():
    litellm.drop_params = not litellm.drop_params


def test_d_makes_a_router_and_leaves_it():
    from litellm import Router

    Router(model_list=[{
        "model_name": "sitepatch-guard-model",
        "litellm_params": {"model": "openai/gpt-4o-mini", "api_key": "sk-guard"},
        "model_info": {"id": "sitepatch-guard-deployment", "mode": "chat"},
    }])


def test_e_monkeypatches_what_it_changes(monkeypatch):
    monkeypatch.setattr(litellm, "success_callback", [*litellm.success_callback, "undone-by-monkeypatch"])
    monkeypatch.setenv("SITEPATCH_UNDONE", "1")


def test_f_sees_the_state_restored():
    names = ("callbacks", "success_callback", "_async_success_callback", "failure_callback", "input_callback")
    entries = [entry for name in names for entry in getattr(litellm, name)]
    assert "sitepatch-leak-marker" not in entries
    assert not any(getattr(entry, "__self__", None).__class__.__name__ == "Router" for entry in entries)
    assert "sitepatch-guard-deployment" not in litellm.model_cost
    assert "SITEPATCH_LEAK_MARKER" not in os.environ
"""

CLASSIFIED_TESTS = """
import pytest
from _support import run

pytestmark = pytest.mark.patch("9902")


def test_assertion_in_the_body_shows_the_defect():
    assert 1 == 2


def test_pytest_raises_that_did_not_raise_shows_the_defect():
    with pytest.raises(KeyError):
        pass


@pytest.mark.defect(raises="KeyError", match="the declared defect")
def test_declared_exception_shows_the_defect():
    raise KeyError("the declared defect")


@pytest.mark.defect(raises="KeyError", match="the declared defect")
def test_declared_exception_with_another_message_is_a_harness_error():
    raise KeyError("something else")


def test_other_exception_in_the_body_is_a_harness_error():
    raise LookupError("not an assertion")


@pytest.fixture
def broken_fixture():
    raise RuntimeError("the fixture broke")


def test_setup_error_is_a_harness_error(broken_fixture):
    pass


def test_assertion_after_a_refused_database_call_is_a_harness_error(prisma_client):
    table = prisma_client.db.litellm_managedfiletable
    with pytest.raises(AttributeError):
        run(table.group_by(by=["unified_file_id"]))  # the proxy would answer HTTP 500
    assert False, "HTTP 500"


def test_a_500_from_a_missing_module_is_a_harness_error():
    from _support import proxy_client

    async def app(scope, receive, send):
        import sitepatch_no_such_module  # what LiteLLM's auth error handler does with prisma

    response = proxy_client(app).get("/key/info")
    assert response.status_code == 401, response.text  # the 500 is not the defect


def test_passes():
    pass
"""


@pytest.fixture(scope="module")
def inner_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, str]:
    """Run the two small suites once; return their verdicts and pytest's output."""
    directory = tmp_path_factory.mktemp("harness-selftest")
    for name in SUPPORT:
        shutil.copy2(HERE / name, directory / name)
    (directory / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    (directory / "test_leaks.py").write_text(LEAKING_TESTS, encoding="utf-8")
    (directory / "test_classified.py").write_text(CLASSIFIED_TESTS, encoding="utf-8")
    verdicts = directory / "verdicts.json"
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(directory),
            "-p",
            "no:cacheprovider",
            "-p",
            "no:randomly",
            "-o",
            "filterwarnings=default",
            f"--verdicts={verdicts}",
            "-q",
        ],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 1, output
    return json.loads(verdicts.read_text(encoding="utf-8")), output


def _verdict(inner_run: tuple[dict, str], name: str) -> dict:
    tests = inner_run[0]["tests"]
    (nodeid,) = [nodeid for nodeid in tests if nodeid.endswith(f"::{name}")]
    return tests[nodeid]


@pytest.mark.parametrize(
    ("test", "named"),
    [
        pytest.param(
            "test_a_appends_to_a_callback_list",
            "litellm.success_callback gained 1 entry: ['sitepatch-leak-marker']",
            id="callback list",
        ),
        pytest.param(
            "test_b_sets_an_environment_variable", "os.environ gained 'SITEPATCH_LEAK_MARKER': '1'", id="environ"
        ),
        pytest.param("test_c_changes_a_litellm_setting", "litellm.drop_params was replaced", id="litellm setting"),
    ],
)
def test_the_guard_fails_a_leaking_test_naming_what_it_leaked(inner_run, test, named):
    verdict = _verdict(inner_run, test)
    assert verdict["verdict"] == "error"
    assert "harness error in teardown" in verdict["reason"]
    assert "the test leaked process-wide state" in verdict["reason"]
    assert named in inner_run[1]


def test_a_router_left_behind_is_retired_with_what_it_registered(inner_run):
    assert _verdict(inner_run, "test_d_makes_a_router_and_leaves_it")["verdict"] == "passed"


def test_state_changed_through_monkeypatch_is_no_leak(inner_run):
    assert _verdict(inner_run, "test_e_monkeypatches_what_it_changes")["verdict"] == "passed"


def test_the_next_test_starts_from_the_restored_state(inner_run):
    verdict = _verdict(inner_run, "test_f_sees_the_state_restored")
    assert verdict["verdict"] == "passed", verdict["reason"]


@pytest.mark.parametrize(
    ("test", "verdict", "reason"),
    [
        pytest.param("test_assertion_in_the_body_shows_the_defect", "failed", "AssertionError", id="assertion"),
        pytest.param(
            "test_pytest_raises_that_did_not_raise_shows_the_defect", "failed", "DID NOT RAISE", id="did not raise"
        ),
        pytest.param("test_declared_exception_shows_the_defect", "failed", "KeyError", id="declared exception"),
        pytest.param(
            "test_declared_exception_with_another_message_is_a_harness_error",
            "error",
            "unexpected KeyError",
            id="declared exception, other message",
        ),
        pytest.param(
            "test_other_exception_in_the_body_is_a_harness_error",
            "error",
            "unexpected LookupError",
            id="other exception",
        ),
        pytest.param("test_setup_error_is_a_harness_error", "error", "harness error in setup", id="set-up error"),
        pytest.param(
            "test_assertion_after_a_refused_database_call_is_a_harness_error",
            "error",
            "does not model LiteLLM_ManagedFileTable.group_by()",
            id="refused database call",
        ),
        pytest.param(
            "test_a_500_from_a_missing_module_is_a_harness_error",
            "error",
            "could not import sitepatch_no_such_module",
            id="500 from a missing module",
        ),
        pytest.param("test_passes", "passed", "", id="passed"),
    ],
)
def test_each_outcome_gets_its_verdict(inner_run, test, verdict, reason):
    found = _verdict(inner_run, test)
    assert found["verdict"] == verdict, found
    assert reason in found["reason"]
