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

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.metadata import version
from pathlib import Path

import httpx
import pytest
from packaging.version import Version

MASTER_KEY = "sk-sitepatch-e2e-master-key"
STARTUP_TIMEOUT = 180.0
LAUNCHER = Path(__file__).with_name("_proxy_launcher.py")

# LiteLLM's meaning of a pass-through endpoint without `auth`: none up to 1.83, a key required from 1.84.0.
UNSET_AUTH_MEANS_REQUIRED = Version(version("litellm")) >= Version("1.84.0")


class _Upstream(BaseHTTPRequestHandler):
    """Answers every request with its method and path, as JSON."""

    calls: list[tuple[str, str]]

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.calls.append((self.command, self.path))
        body = json.dumps({"method": self.command, "upstream_path": self.path.split("?")[0]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    # http.server's handler names
    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _answer  # noqa: N815

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the base class's name)
        return


@pytest.fixture(scope="module")
def upstream() -> Iterator[tuple[str, list[tuple[str, str]]]]:
    calls: list[tuple[str, str]] = []
    handler = type("Handler", (_Upstream,), {"calls": calls})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", calls
    finally:
        server.shutdown()
        server.server_close()


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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory, upstream: tuple[str, list]) -> Iterator[httpx.Client]:
    work = tmp_path_factory.mktemp("e2e")
    config = work / "config.yaml"
    config.write_text(_config(upstream[0]), encoding="utf-8")
    log = work / "proxy.log"
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "LITELLM_MASTER_KEY", "LITELLM_LICENSE"}}
    env.update(
        LITELLM_LOCAL_MODEL_COST_MAP="True",
        LITELLM_TELEMETRY="False",
        SITEPATCH_E2E_LIFETIME=str(int(STARTUP_TIMEOUT + 300)),
        NO_PROXY="127.0.0.1,localhost",
    )
    command = [sys.executable, str(LAUNCHER), "--config", str(config), "--host", "127.0.0.1", "--port", str(port)]
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=work)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        with httpx.Client(base_url=base, timeout=15.0, trust_env=False) as client:
            while True:
                if process.poll() is not None:
                    pytest.fail(f"the proxy exited with {process.returncode}:\n{log.read_text()[-4000:]}")
                try:
                    if client.get("/health/liveliness").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(f"the proxy did not answer within {STARTUP_TIMEOUT}s:\n{log.read_text()[-4000:]}")
                time.sleep(0.5)
            yield client
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_subpaths_of_an_open_pass_through_are_forwarded_without_a_key(proxy: httpx.Client) -> None:
    for url, upstream_path in (("/public-api", "/v1"), ("/public-api/models/abc/run", "/v1/models/abc/run")):
        response = proxy.post(url, json={"x": 1})
        assert response.status_code == 200, (url, response.status_code, response.text)
        assert response.json() == {"method": "POST", "upstream_path": upstream_path}


def test_auth_true_as_a_string_requires_a_key_on_the_path_and_its_subpaths(proxy: httpx.Client) -> None:
    for url in ("/strauth", "/strauth/x/y"):
        denied = proxy.get(url)
        assert denied.status_code == 401, (url, denied.status_code, denied.text)
        allowed = proxy.get(url, headers=_auth(MASTER_KEY))
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
    allowed = proxy.get("/dup-closed/x", headers=_auth(MASTER_KEY))
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
    own = proxy.get("/key/list", headers=_auth(MASTER_KEY))
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
    allowed = proxy.get("/secure-api/resource", headers=_auth(MASTER_KEY))
    assert allowed.json() == {"method": "GET", "upstream_path": "/secure/resource"}
