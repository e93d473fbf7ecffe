"""Start LiteLLM's own command line (``litellm --config CONFIG --host H --port P``) in this process.

Used by the end-to-end tests instead of the ``litellm`` console script for three reasons, and nothing else:

- an audit hook refuses every connection and name lookup beyond loopback, so the proxy cannot reach the
  network (the tests' only upstream is on 127.0.0.1);
- a timer ends the process after ``SITEPATCH_E2E_LIFETIME`` seconds (default 600), so a proxy whose test
  runner died does not outlive it;
- LiteLLM 1.80 and 1.81 accept ``auth: true`` on a pass-through endpoint only with an enterprise licence
  (a signed key): the launcher sets ``proxy_server.premium_user`` as a valid licence would. Config parsing,
  route registration, routing and authentication are LiteLLM's own, unchanged.

Arguments are passed to LiteLLM's ``run_server`` (the ``litellm`` command) as they are.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "regression"))  # the shared network rule
from _netguard import nonlocal_host


def _loopback_only(event: str, args: tuple[object, ...]) -> None:
    host = nonlocal_host(event, args)
    if host is not None:
        raise RuntimeError(f"network access refused in an end-to-end test: {event} {host}")


def main() -> None:
    sys.addaudithook(_loopback_only)
    lifetime = float(os.environ.get("SITEPATCH_E2E_LIFETIME", "600"))
    timer = threading.Timer(lifetime, os._exit, args=(3,))
    timer.daemon = True
    timer.start()

    from litellm.proxy import proxy_server
    from litellm.proxy.proxy_cli import run_server

    proxy_server.premium_user = True
    run_server.main(args=sys.argv[1:], prog_name="litellm")


if __name__ == "__main__":
    main()
