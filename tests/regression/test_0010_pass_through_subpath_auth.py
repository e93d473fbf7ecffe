"""Patch 0010: a pass-through endpoint with ``include_subpath: true`` and ``auth: false`` must not
require a LiteLLM key on its sub-paths, while built-in routes below the same prefix stay protected.

Drives the real proxy app (master key set) with pass-through endpoints registered by LiteLLM's own
``initialize_pass_through_endpoints``; only the upstream HTTP is mocked (respx).
"""

from __future__ import annotations

import httpx
import pytest
import respx
from _support import MASTER_KEY, add_pass_through_endpoints, bearer, configure_proxy, proxy_client
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
