"""Patch 0010: a pass-through endpoint with ``include_subpath: true`` and ``auth: false`` must not
require a LiteLLM key on its sub-paths, while built-in routes below the same prefix stay protected.

Drives the real proxy app (master key set) with pass-through endpoints registered by LiteLLM's own
``initialize_pass_through_endpoints``; only the upstream HTTP is mocked (respx). Virtual keys are
LiteLLM's own key objects: rows in the database stand-in (``_database.py``) and the proxy's key cache.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx
from _database import PrismaClientStandIn
from _support import (
    MASTER_KEY,
    add_pass_through_endpoints,
    add_virtual_key,
    bearer,
    cache_key_auth,
    configure_proxy,
    proxy_client,
)
from starlette.testclient import TestClient

# LiteLLM's own warnings are not under test; the project's `filterwarnings = error` would turn them
# into exceptions inside LiteLLM's request handling.
pytestmark = [pytest.mark.patch("0010"), pytest.mark.filterwarnings("ignore")]


UPSTREAM = "https://upstream.sitepatch.invalid"


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> TestClient:
    configure_proxy(monkeypatch, premium_user=True)
    add_pass_through_endpoints(
        monkeypatch,
        [
            {"path": "/public-api", "target": f"{UPSTREAM}/v1", "include_subpath": True, "auth": False},
            # A pass-through whose path is the prefix of built-in routes (/key/info, /key/list, ...).
            {"path": "/key", "target": f"{UPSTREAM}/keysvc", "include_subpath": True, "auth": False},
            {"path": "/secure-api", "target": f"{UPSTREAM}/secure", "include_subpath": True, "auth": True},
            # `auth` as Helm values and env templating write it: a string, which registration reads as on.
            {"path": "/strauth", "target": f"{UPSTREAM}/str", "include_subpath": True, "auth": "true"},
            {"path": "/strauth-cap", "target": f"{UPSTREAM}/strcap", "include_subpath": True, "auth": "True"},
            {"path": "/stroff", "target": f"{UPSTREAM}/stroff", "include_subpath": True, "auth": "false"},
            # `auth` left out: this version's own meaning of unset decides, for the sub-paths too.
            {"path": "/unset", "target": f"{UPSTREAM}/unset", "include_subpath": True},
            # Two entries with one path: the first one's routes are registered, so the first one decides.
            {"path": "/dup-closed", "target": f"{UPSTREAM}/dc1", "include_subpath": True, "auth": True},
            {"path": "/dup-closed", "target": f"{UPSTREAM}/dc2", "include_subpath": True, "auth": False},
            {"path": "/dup-open", "target": f"{UPSTREAM}/do1", "include_subpath": True, "auth": False},
            {"path": "/dup-open", "target": f"{UPSTREAM}/do2", "include_subpath": True, "auth": True},
        ],
    )
    return proxy_client()


def _upstream() -> respx.MockRouter:
    router = respx.mock(assert_all_called=False, assert_all_mocked=True)
    router.route(host="upstream.sitepatch.invalid").mock(
        side_effect=lambda request: httpx.Response(200, json={"upstream_path": request.url.path})
    )
    return router


def test_unauthenticated_subpath_is_forwarded(client: TestClient) -> None:
    with _upstream() as upstream:
        exact = client.get("/public-api")
        sub = client.post("/public-api/models/abc/run", json={"x": 1})
        deeper = client.get("/public-api/a/b/c?q=1")
        assert exact.status_code == 200, exact.text
        assert sub.status_code == 200, sub.text
        assert sub.json() == {"upstream_path": "/v1/models/abc/run"}
        assert deeper.status_code == 200, deeper.text
        assert deeper.json() == {"upstream_path": "/v1/a/b/c"}
        assert upstream.calls.call_count == 3


def test_builtin_route_below_pass_through_prefix_keeps_auth(client: TestClient) -> None:
    with _upstream() as upstream:
        # /key/info is a built-in route: FastAPI routes it to the key-management handler, not to
        # the pass-through's /key/{subpath:path} route, so it must still demand a key.
        for path in ("/key/info", "/key/list"):
            denied = client.get(path)
            assert denied.status_code == 401, (path, denied.status_code, denied.text)
        assert upstream.calls.call_count == 0

        # A sub-path that no built-in route claims is the pass-through's.
        forwarded = client.get("/key/some/other/path")
        assert forwarded.status_code == 200, forwarded.text
        assert forwarded.json() == {"upstream_path": "/keysvc/some/other/path"}
        assert upstream.calls.call_count == 1

        # Another method on a built-in's path: LiteLLM has no POST /key/info, so FastAPI dispatches the
        # request to the pass-through's /key/{subpath:path} route (unpatched too: with a key it is forwarded
        # there). Routing decides, so the pass-through's own `auth: false` applies and LiteLLM's key
        # handler is never reached.
        other_method = client.post("/key/info", json={"key": "sk-x"})
        assert other_method.status_code == 200, other_method.text
        assert other_method.json() == {"upstream_path": "/keysvc/info"}
        assert upstream.calls.call_count == 2


def test_subpath_of_authenticated_pass_through_still_needs_key(client: TestClient) -> None:
    with _upstream() as upstream:
        denied = client.get("/secure-api/resource")
        assert denied.status_code == 401, denied.text
        assert upstream.calls.call_count == 0
        allowed = client.get("/secure-api/resource", headers=bearer(MASTER_KEY))
        assert allowed.status_code == 200, allowed.text
        # and the unauthenticated pass-through's sub-path works in the same app
        open_sub = client.get("/public-api/x")
        assert open_sub.status_code == 200, open_sub.text
        assert upstream.calls.call_count == 2


def _unset_auth_means_required() -> bool:
    """litellm's own meaning of a pass-through without ``auth``: no auth up to 1.83, auth required from 1.84.0
    (read in check_api_key_for_custom_headers_or_pass_through_endpoints of each version)."""
    from importlib.metadata import version

    from packaging.version import Version

    return Version(version("litellm")) >= Version("1.84.0")


def test_auth_is_read_as_registration_reads_it_on_exact_path_and_subpaths(client: TestClient) -> None:
    """``auth: "true"`` (a string) registers the route with auth on, so the check must require a key too,
    on the exact path and on every sub-path; ``"false"`` is off; unset follows the installed version."""
    unset_open = not _unset_auth_means_required()
    cases = [
        ("/strauth", False),
        ("/strauth-cap", False),
        ("/stroff", True),
        ("/public-api", True),
        ("/unset", unset_open),
    ]
    with _upstream() as upstream:
        forwarded = 0
        for path, is_open in cases:
            for url in (path, f"{path}/x/y"):
                response = client.get(url)
                assert response.status_code == (200 if is_open else 401), (url, response.status_code, response.text)
                forwarded += is_open
            # with a key every one of them is forwarded
            allowed = client.get(f"{path}/with-key", headers=bearer(MASTER_KEY))
            assert allowed.status_code == 200, (path, allowed.text)
            forwarded += 1
        assert upstream.calls.call_count == forwarded


def test_first_of_two_entries_with_one_path_decides(client: TestClient) -> None:
    with _upstream() as upstream:
        for url in ("/dup-closed", "/dup-closed/x"):
            denied = client.get(url)
            assert denied.status_code == 401, (url, denied.text)
        assert upstream.calls.call_count == 0
        for url, upstream_path in (("/dup-open", "/do1"), ("/dup-open/x", "/do1/x")):
            opened = client.get(url)
            assert opened.status_code == 200, (url, opened.text)
            assert opened.json() == {"upstream_path": upstream_path}
        allowed = client.get("/dup-closed/x", headers=bearer(MASTER_KEY))
        assert allowed.status_code == 200, allowed.text
        assert allowed.json() == {"upstream_path": "/dc1/x"}
        assert upstream.calls.call_count == 3


# --------------------------------------------------------------------------------------------------
# Virtual keys: LiteLLM's own key objects in the database stand-in and the proxy's key cache
# --------------------------------------------------------------------------------------------------

KEY_PLAIN = "sk-regression-0010-plain-000001"  # a key with no grant beyond the LLM routes
KEY_BLOCKED = "sk-regression-0010-blocked-0002"
KEY_BLOCKED_TEAM = "sk-regression-0010-bteam-00003"  # a key of a blocked team
KEY_OVER_BUDGET = "sk-regression-0010-budget-0004"
KEY_OTHER_MODELS = "sk-regression-0010-models-0005"  # limited to a model this request does not name

VIRTUAL_KEYS: dict[str, dict[str, Any]] = {
    KEY_PLAIN: {"user_id": "u-plain"},
    KEY_BLOCKED: {"user_id": "u-blocked", "blocked": True},
    KEY_BLOCKED_TEAM: {"user_id": "u-bteam", "team_id": "team-blocked"},
    KEY_OVER_BUDGET: {"user_id": "u-budget", "spend": 10.0, "max_budget": 1.0},
    KEY_OTHER_MODELS: {"user_id": "u-models", "models": ["some-other-model"]},
}


@pytest.fixture
def keyed_client(monkeypatch: pytest.MonkeyPatch, prisma_client: PrismaClientStandIn) -> TestClient:
    proxy_server = configure_proxy(monkeypatch, prisma_client=prisma_client, premium_user=True)
    from litellm.proxy._types import LiteLLM_TeamTableCachedObj

    team = {"team_id": "team-blocked", "team_alias": "blocked team", "blocked": True}
    prisma_client.db.litellm_teamtable.add(**team)
    # and in the proxy's cache, where get_team_object looks first (1.110.2 reads the table through a
    # repository the stand-in does not answer, and would report the team as missing: 404)
    proxy_server.user_api_key_cache.set_cache(key="team_id:team-blocked", value=LiteLLM_TeamTableCachedObj(**team))
    for key, columns in VIRTUAL_KEYS.items():
        add_virtual_key(prisma_client, key, **columns)
        cached = dict(columns, team_blocked=True) if columns.get("team_id") == "team-blocked" else columns
        cache_key_auth(proxy_server, key, **cached)
    add_pass_through_endpoints(
        monkeypatch,
        [
            {"path": "/public-api", "target": f"{UPSTREAM}/v1", "include_subpath": True, "auth": False},
            {"path": "/unset", "target": f"{UPSTREAM}/unset", "include_subpath": True},
        ],
    )
    return proxy_client()


def test_virtual_keys_reach_an_open_subpath_and_keep_their_checks_where_a_key_is_required(
    keyed_client: TestClient,
) -> None:
    """``auth: false`` opens the sub-paths to any caller, a virtual key whatever its restrictions included
    (the patch's declared opening; unpatched such a key got 401 there). Where the endpoint requires a key
    (``auth`` unset from 1.84.0), the key's own checks still apply on the sub-paths: budget, blocked key or
    team, model access and the route check that admits a virtual key only to routes granted to it."""
    with _upstream() as upstream:
        forwarded = 0
        for key in VIRTUAL_KEYS:
            response = keyed_client.get("/public-api/items/abc", headers=bearer(key))
            assert response.status_code == 200, (key, response.status_code, response.text)
            assert response.json() == {"upstream_path": "/v1/items/abc"}
            forwarded += 1
        unset_open = not _unset_auth_means_required()
        for key in VIRTUAL_KEYS:
            response = keyed_client.get("/unset/a/b", headers=bearer(key))
            if unset_open:
                assert response.status_code == 200, (key, response.status_code, response.text)
                forwarded += 1
            else:
                assert response.status_code in {400, 401, 403}, (key, response.status_code, response.text)
        master = keyed_client.get("/unset/a/b", headers=bearer(MASTER_KEY))
        assert master.status_code == 200, master.text
        forwarded += 1
        assert upstream.calls.call_count == forwarded


def _registration_honours_methods() -> bool:
    """From 1.81.14 initialize_pass_through_endpoints registers each entry's routes with its own ``methods``
    (up to 1.81.13 every route got all five, so a second entry with the same path was never registered and
    the case below does not exist)."""
    from importlib.metadata import version

    from packaging.version import Version

    return Version(version("litellm")) >= Version("1.81.14")


if _registration_honours_methods():

    @pytest.fixture
    def methods_client(monkeypatch: pytest.MonkeyPatch, prisma_client: PrismaClientStandIn) -> TestClient:
        proxy_server = configure_proxy(monkeypatch, prisma_client=prisma_client, premium_user=True)
        add_virtual_key(prisma_client, KEY_BLOCKED, **VIRTUAL_KEYS[KEY_BLOCKED])
        cache_key_auth(proxy_server, KEY_BLOCKED, **VIRTUAL_KEYS[KEY_BLOCKED])
        add_pass_through_endpoints(
            monkeypatch,
            [
                {
                    "path": "/by-method",
                    "target": f"{UPSTREAM}/get",
                    "include_subpath": True,
                    "auth": False,
                    "methods": ["GET"],
                },
                {
                    "path": "/by-method",
                    "target": f"{UPSTREAM}/post",
                    "include_subpath": True,
                    "auth": True,
                    "methods": ["POST"],
                },
            ],
        )
        return proxy_client()

    def test_the_entry_whose_methods_serve_the_request_decides(methods_client: TestClient) -> None:
        """Two entries on one path, the first ``auth: false`` for GET, the second ``auth: true`` for POST:
        each is registered for its own methods, so a POST is served by the second and must be judged by
        it, on the sub-paths (an earlier base file of this patch, up to 1.83.13, let it through there with
        no key) and on the exact path (upstream lets it through with no key)."""
        with _upstream() as upstream:
            for url in ("/by-method/x", "/by-method"):
                for headers in ({}, bearer(KEY_BLOCKED)):
                    denied = methods_client.post(url, json={"x": 1}, headers=headers)
                    assert denied.status_code in {401, 403}, (url, headers, denied.status_code, denied.text)
            assert upstream.calls.call_count == 0
            for url, upstream_path in (("/by-method", "/post"), ("/by-method/x", "/post/x")):
                allowed = methods_client.post(url, json={"x": 1}, headers=bearer(MASTER_KEY))
                assert allowed.status_code == 200, (url, allowed.text)
                assert allowed.json() == {"upstream_path": upstream_path}
            for url, upstream_path in (("/by-method", "/get"), ("/by-method/x", "/get/x")):
                opened = methods_client.get(url)
                assert opened.status_code == 200, (url, opened.text)
                assert opened.json() == {"upstream_path": upstream_path}
            assert upstream.calls.call_count == 4
