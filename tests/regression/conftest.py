"""Shared set-up for the LiteLLM regression tests.

These tests run inside a pin's virtual environment (see ``noxfile.py``), never in the engine's own test
session. The environment below must be in place before the first ``import litellm``: LiteLLM reads it at
import time, and without it importing LiteLLM reaches the network.

Also here: the ``patch`` marker with ``--patches`` and ``--patch-report``; the fixtures every test gets
(LiteLLM imported quietly, queued logging coroutines closed); and the fixtures tests ask for: the
database stand-in ``prisma_client`` (``_database.py``) and the managed-files proxies
(``_managed_files_support.py``). The support modules import LiteLLM only inside functions, so importing
them here does not import it before the environment is set.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from _database import PrismaClientStandIn
from _managed_files_support import ManagedProxy, build_managed_proxy
from _support import import_litellm_quietly

_LOCAL_HOSTS = ("localhost", "127.", "::1", "0.0.0.0", "testserver")


def _refuse_network(event: str, args: tuple[object, ...]) -> None:
    """An audit hook: any socket connection or name lookup beyond this machine fails the test that made it.

    Provider HTTP is stubbed with respx and the proxy is driven in-process, so a real connection is a bug
    in the test (or LiteLLM reaching for the internet, e.g. a cost map download) that must not pass silently.
    """
    if event == "socket.getaddrinfo":
        host = args[0]
    elif event == "socket.connect":
        address = args[1]
        if not isinstance(address, tuple):  # a Unix socket path
            return
        host = address[0]
    else:
        return
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if host is None or (isinstance(host, str) and host.startswith(_LOCAL_HOSTS)):
        return
    raise RuntimeError(f"network access refused in a regression test: {event} {host!r}")


sys.addaudithook(_refuse_network)

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("DISABLE_AIOHTTP_TRANSPORT", "True")
os.environ.setdefault("LITELLM_TELEMETRY", "False")


def _bundled_tokenizers() -> str | None:
    import importlib.util

    spec = importlib.util.find_spec("litellm")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "litellm_core_utils" / "tokenizers"
    return str(path) if path.is_dir() else None


_tok = _bundled_tokenizers()
if _tok is not None:
    os.environ.setdefault("TIKTOKEN_CACHE_DIR", _tok)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--patches",
        default=None,
        help="comma-separated patch numbers whose tests to run (default: all)",
    )
    parser.addoption(
        "--patch-report",
        default=None,
        help="write a JSON report of test outcomes per patch number to this file",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "patch(number): the sitepatch patch this test proves")
    config._patch_outcomes = {}  # type: ignore[attr-defined]


def patch_number(item: pytest.Item) -> str | None:
    marker = item.get_closest_marker("patch")
    return str(marker.args[0]) if marker is not None and marker.args else None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    wanted = config.getoption("--patches")
    if wanted is None:
        return
    numbers = {n.strip() for n in wanted.split(",") if n.strip()}
    keep = [item for item in items if patch_number(item) in numbers]
    drop = [item for item in items if patch_number(item) not in numbers]
    if drop:
        config.hook.pytest_deselected(items=drop)
    items[:] = keep


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    outcomes = getattr(pytest_runtest_logreport, "_sink", None)
    if outcomes is None:
        return
    if report.when == "call" or report.outcome != "passed":
        outcomes.setdefault(report.nodeid, []).append(report.outcome)


def pytest_sessionstart(session: pytest.Session) -> None:
    pytest_runtest_logreport._sink = {}  # type: ignore[attr-defined]


def pytest_sessionfinish(session: pytest.Session) -> None:
    import json

    path = session.config.getoption("--patch-report")
    if not path:
        return
    sink: dict[str, list[str]] = pytest_runtest_logreport._sink  # type: ignore[attr-defined]
    numbers = {item.nodeid: patch_number(item) for item in session.items}
    report: dict[str, dict[str, str]] = {}
    for nodeid, results in sink.items():
        verdict = "passed" if all(r == "passed" for r in results) else "failed"
        if any(r == "skipped" for r in results):
            verdict = "skipped"
        report.setdefault(numbers.get(nodeid) or "none", {})[nodeid] = verdict
    Path(path).write_text(json.dumps(report, indent=2, sort_keys=True) + "\n", encoding="utf-8")


# --------------------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session", autouse=True)
def _litellm_imported() -> None:
    import_litellm_quietly()


def close_queued_logging_coroutines() -> None:
    """Close the logging coroutines still queued in litellm's global logging worker.

    Each TestClient request runs on its own short-lived event loop. A success-logging coroutine that
    litellm queued just before that loop closed is never run; when the worker later re-binds to a new
    loop (litellm >= 1.80.16 drops the old queue) the coroutine is garbage-collected and Python warns
    "coroutine 'Logging.async_success_handler' was never awaited" -- inside whichever test runs then,
    where a warnings-as-errors session fails it. Closing them before and after each test keeps the
    tests independent of their order. Only queued, never-started logging work is discarded.
    """
    logging_worker = sys.modules.get("litellm.litellm_core_utils.logging_worker")
    queue = getattr(getattr(logging_worker, "GLOBAL_LOGGING_WORKER", None), "_queue", None)
    if queue is None:
        return
    while True:
        try:
            task = queue.get_nowait()
        except (asyncio.QueueEmpty, RuntimeError):
            return
        coroutine = task.get("coroutine") if isinstance(task, dict) else None
        if coroutine is not None:
            coroutine.close()


@pytest.fixture(autouse=True)
def _no_queued_logging_coroutines() -> Iterator[None]:
    close_queued_logging_coroutines()
    yield
    close_queued_logging_coroutines()


@pytest.fixture
def prisma_client() -> PrismaClientStandIn:
    """A new, empty in-memory database behind LiteLLM's own query code."""
    return PrismaClientStandIn()


@pytest.fixture
def managed_proxy(monkeypatch: pytest.MonkeyPatch, prisma_client: PrismaClientStandIn) -> ManagedProxy:
    """The proxy with the real managed-files hook of litellm-enterprise registered."""
    return build_managed_proxy(monkeypatch, prisma_client, with_hook=True)


@pytest.fixture
def proxy_without_managed_files(monkeypatch: pytest.MonkeyPatch, prisma_client: PrismaClientStandIn) -> ManagedProxy:
    """The proxy as a wheel-only install runs it: no managed-files hook."""
    return build_managed_proxy(monkeypatch, prisma_client, with_hook=False)
