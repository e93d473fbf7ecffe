"""End to end: patch 0010 in a real proxy process, configured the way operators configure it.

Starts ``litellm --config <yaml>`` (LiteLLM's own CLI, through ``_proxy_launcher.py``) on a free
127.0.0.1 port, without a database and with a master key, and a small HTTP upstream on loopback; then
talks HTTP to the proxy. What only the real server shows: the YAML as LiteLLM parses it (``auth: "true"``
is a string), the routes LiteLLM registers from it, FastAPI's routing between built-in and pass-through
routes, and the proxy's whole authentication path.

Run by ``nox -s "e2e(PIN)"`` on a patched install of the pin; on an unpatched install these tests fail.
Bounded in time: the proxy must answer within ``STARTUP_TIMEOUT`` seconds, every request has a timeout,
and the launcher ends the proxy by itself after ``SITEPATCH_E2E_LIFETIME`` seconds.
"""

from __future__ import annotations

from collections.abc import Iterator
from importlib.metadata import version

import httpx
import pytest
from _e2e import MASTER_KEY, Calls, bearer, running_proxy, serve_upstream
from packaging.version import Version

# LiteLLM's meaning of a pass-through endpoint without `auth`: none up to 1.83, a key required from 1.84.0.
UNSET_AUTH_MEANS_REQUIRED = Version(version("litellm")) >= Version("1.84.0")


@pytest.fixture(scope="module")
def upstream() -> Iterator[tuple[str, Calls]]:
    with serve_upstream() as served:
        yield served


def _config(upstream_url: str) -> str:
    """The proxy's config.yaml, written as YAML (so `auth: "true"` reaches LiteLLM as a string)."""

    def endpoint(path: str, target: str, auth: str | None) -> str:
        lines = [f"    - path: {path}", f"      target: {upstream_url}{target}", "      include_subpath: true"]
        if auth is not None:
            lines.append(f"      auth: {auth}")
        return "\n".join(lines)

    endpoints = [
        endpoint("/public-api", "/v1", "false"),
        endpoint("/key", "/keysvc", "false"),
        endpoint("/secure-api", "/secure", "true"),
        endpoint("/strauth", "/str", '"true"'),
        endpoint("/unset", "/unset", None),
        endpoint("/dup-closed", "/dc1", "true"),
        endpoint("/dup-closed", "/dc2", "false"),
        endpoint("/dup-open", "/do1", "false"),
        endpoint("/dup-open", "/do2", "true"),
    ]
    return "\n".join(
        [
            "model_list: []",
            "general_settings:",
            f"  master_key: {MASTER_KEY}",
            "  pass_through_endpoints:",
            *endpoints,
            "",
        ]
    )


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory, upstream: tuple[str, Calls]) -> Iterator[httpx.Client]:
    work = tmp_path_factory.mktemp("e2e")
    (work / "config.yaml").write_text(_config(upstream[0]), encoding="utf-8")
    with running_proxy(work) as client:
        yield client


def test_subpaths_of_an_open_pass_through_are_forwarded_without_a_key(proxy: httpx.Client) -> None:
    for url, upstream_path in (("/public-api", "/v1"), ("/public-api/models/abc/run", "/v1/models/abc/run")):
        response = proxy.post(url, json={"x": 1})
        assert response.status_code == 200, (url, response.status_code, response.text)
        assert response.json() == {"method": "POST", "upstream_path": upstream_path}


def test_auth_true_as_a_string_requires_a_key_on_the_path_and_its_subpaths(proxy: httpx.Client) -> None:
    for url in ("/strauth", "/strauth/x/y"):
        denied = proxy.get(url)
        assert denied.status_code == 401, (url, denied.status_code, denied.text)
        allowed = proxy.get(url, headers=bearer(MASTER_KEY))
        assert allowed.status_code == 200, (url, allowed.status_code, allowed.text)


def test_unset_auth_on_subpaths_follows_the_versions_meaning_of_unset(proxy: httpx.Client) -> None:
    expected = 401 if UNSET_AUTH_MEANS_REQUIRED else 200
    for url in ("/unset", "/unset/x"):
        response = proxy.get(url)
        assert response.status_code == expected, (url, response.status_code, response.text)


def test_first_of_two_entries_with_one_path_decides(proxy: httpx.Client) -> None:
    for url in ("/dup-closed", "/dup-closed/x"):
        denied = proxy.get(url)
        assert denied.status_code == 401, (url, denied.status_code, denied.text)
    allowed = proxy.get("/dup-closed/x", headers=bearer(MASTER_KEY))
    assert allowed.json() == {"method": "GET", "upstream_path": "/dc1/x"}
    for url, upstream_path in (("/dup-open", "/do1"), ("/dup-open/x", "/do1/x")):
        opened = proxy.get(url)
        assert opened.status_code == 200, (url, opened.status_code, opened.text)
        assert opened.json() == {"method": "GET", "upstream_path": upstream_path}


def test_builtin_routes_below_a_pass_through_keep_their_auth(proxy: httpx.Client) -> None:
    for url in ("/key/info", "/key/list"):
        denied = proxy.get(url)
        assert denied.status_code == 401, (url, denied.status_code, denied.text)
    # the master key reaches LiteLLM's own handler, not the upstream
    own = proxy.get("/key/list", headers=bearer(MASTER_KEY))
    assert "upstream_path" not in own.text, own.text
    # a sub-path no built-in claims is the pass-through's
    forwarded = proxy.get("/key/some/other/path")
    assert forwarded.json() == {"method": "GET", "upstream_path": "/keysvc/some/other/path"}
    # LiteLLM serves no POST /key/info: FastAPI dispatches it to the pass-through, whose `auth: false` applies
    other_method = proxy.post("/key/info", json={"key": "sk-x"})
    assert other_method.status_code == 200, (other_method.status_code, other_method.text)
    assert other_method.json() == {"method": "POST", "upstream_path": "/keysvc/info"}


def test_subpath_of_an_authenticated_pass_through_still_needs_a_key(proxy: httpx.Client) -> None:
    denied = proxy.get("/secure-api/resource")
    assert denied.status_code == 401, denied.text
    allowed = proxy.get("/secure-api/resource", headers=bearer(MASTER_KEY))
    assert allowed.json() == {"method": "GET", "upstream_path": "/secure/resource"}
