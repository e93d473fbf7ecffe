"""The loopback-only network rule shared by the regression tests and the end-to-end proxy.

The regression conftest installs it as an audit hook in the test process; ``tests/e2e/_proxy_launcher.py`` installs
it in the ``litellm`` process it starts (which cannot import the conftest). One rule, so the two cannot drift.
"""

from __future__ import annotations

LOCAL_HOSTS = ("localhost", "127.", "::1", "0.0.0.0")
"""Host prefixes that stay on this machine."""


def nonlocal_host(event: str, args: tuple[object, ...], *, also_local: tuple[str, ...] = ()) -> str | None:
    """The host a ``socket.getaddrinfo``/``socket.connect`` audit event reaches beyond this machine, else None.

    :param also_local: more host prefixes to treat as local (the in-process ASGI client's ``testserver``).
    """
    if event == "socket.getaddrinfo":
        host = args[0]
    elif event == "socket.connect":
        address = args[1]
        if not isinstance(address, tuple):  # a Unix socket path
            return None
        host = address[0]
    else:
        return None
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if host is None or (isinstance(host, str) and host.startswith((*LOCAL_HOSTS, *also_local))):
        return None
    return repr(host)
