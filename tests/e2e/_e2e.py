"""What the end-to-end tests share: a loopback upstream that records its calls, and a real proxy process.

The proxy is LiteLLM's own command line started through ``_proxy_launcher.py`` (loopback only, a lifetime
limit) on a free 127.0.0.1 port, without a database. Bounded in time: it must answer within
``STARTUP_TIMEOUT`` seconds, every request has a timeout, and the launcher ends the proxy by itself after
``SITEPATCH_E2E_LIFETIME`` seconds.
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
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

MASTER_KEY = "sk-sitepatch-e2e-master-key"
STARTUP_TIMEOUT = 180.0
LAUNCHER = Path(__file__).with_name("_proxy_launcher.py")

Calls = list[tuple[str, str]]
"""The (method, path) of every request the upstream answered, in order."""


class _Upstream(BaseHTTPRequestHandler):
    """Answers every request with its method and path, as JSON."""

    calls: Calls

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


@contextmanager
def serve_upstream() -> Iterator[tuple[str, Calls]]:
    """A loopback HTTP upstream: its base URL and the list its calls are recorded in."""
    calls: Calls = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), type("Handler", (_Upstream,), {"calls": calls}))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", calls
    finally:
        server.shutdown()
        server.server_close()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_proxy(work: Path) -> Iterator[httpx.Client]:
    """Start ``litellm --config work/config.yaml`` in ``work``; yield an HTTP client once it answers.

    The environment loses the variables that would give the proxy a database, a master key or a licence of its
    own; the process is terminated (killed if it must) when the block ends, and its log is shown on failure.
    """
    log = work / "proxy.log"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "LITELLM_MASTER_KEY", "LITELLM_LICENSE"}}
    env.update(
        LITELLM_LOCAL_MODEL_COST_MAP="True",
        LITELLM_TELEMETRY="False",
        SITEPATCH_E2E_LIFETIME=str(int(STARTUP_TIMEOUT + 300)),
        NO_PROXY="127.0.0.1,localhost",
    )
    command = [sys.executable, str(LAUNCHER), "--config", str(work / "config.yaml"), "--host", "127.0.0.1"]
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*command, "--port", str(port)], stdout=out, stderr=subprocess.STDOUT, env=env, cwd=work
        )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=15.0, trust_env=False) as client:
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


def bearer(key: str) -> dict[str, str]:
    """The headers that authenticate a request to the proxy with ``key``."""
    return {"Authorization": f"Bearer {key}"}
