"""Set-up shared by all regression tests: importing LiteLLM, running its coroutines, and the proxy.

Everything here works on LiteLLM's real objects: the proxy FastAPI ``app`` and its module globals, the
real pass-through initialisation, the real key cache. The database underneath is the stand-in of
``_database.py`` (the ``prisma_client`` fixture of ``conftest.py``); outbound HTTP is mocked with respx
in the tests themselves.

Every global that is touched is set through ``monkeypatch``, so the tests stay independent in any order.
"""

from __future__ import annotations

import asyncio
import importlib
import sys
import warnings
from typing import Any

import pytest

MASTER_KEY = "sk-sitepatch-regression-master-key"

HARNESS_FAULTS: list[str] = []
"""What the harness itself could not do during the current test (cleared before each test).

LiteLLM's proxy turns most exceptions into an HTTP 500, so a stand-in that raises because it does not
model a call (or the network guard refusing a connection) shows up in the test only as a wrong status.
Each such refusal is also recorded here; ``conftest.py`` then reports a failing test as a harness error,
not as the defect it is meant to show.
"""


def harness_fault(message: str) -> str:
    """Record that the harness could not do something the code under test asked for; return ``message``.

    Not recorded when the request comes from LiteLLM's success/failure logging (spend tracking, cost and
    model-info look-ups): that runs after the call has answered and swallows its errors, so refusing it
    changes nothing the test sees.

    :param message: what was asked and is not modelled, e.g. ``LiteLLM_ManagedFileTable.upsert``.
    """
    if not _in_litellm_logging():
        HARNESS_FAULTS.append(message)
    return message


def _in_litellm_logging() -> bool:
    frame: Any = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_filename.endswith(("litellm_logging.py", "logging_worker.py")):
            return True
        frame = frame.f_back
    return False


def import_litellm_quietly(*modules: str) -> None:
    """Import ``litellm`` and the given LiteLLM modules with their import-time warnings ignored.

    Importing LiteLLM, its proxy and litellm-enterprise warns (``open_text is deprecated``, pydantic's
    ``PydanticDeprecatedSince20`` ...). In a session run with warnings as errors the first such warning
    would abort the import half-way, inside whichever test happens to import first; these tests check
    behaviour, not third-party import hygiene. Warnings raised while a test runs still count.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for module in ("litellm", *modules):
            importlib.import_module(module)


PROXY_CALLBACKS: list[Any] = []
"""The hooks importing the proxy put into ``litellm.callbacks`` (taken out again by :func:`preload`)."""


def preload(*modules: str) -> None:
    """Import LiteLLM and ``modules`` (the proxy) once, before the first test, and keep the proxy's hooks aside.

    Importing ``litellm.proxy.proxy_server`` registers the proxy's own hooks (the model budget limiter,
    and more in later versions) in ``litellm.callbacks``, where every later SDK call would run them and
    copy them into the other callback lists. They are taken out of ``litellm.callbacks`` here, so the
    SDK-level tests run as in a process without the proxy, and :func:`configure_proxy` gives them back to
    each proxy test (through monkeypatch, so they are gone again after it).
    """
    import_litellm_quietly()
    import litellm

    before = list(litellm.callbacks)
    import_litellm_quietly(*modules)
    added = [entry for entry in litellm.callbacks if not any(entry is old for old in before)]
    PROXY_CALLBACKS[:] = added
    litellm.callbacks[:] = [entry for entry in litellm.callbacks if not any(entry is new for new in added)]


def run(coro: Any) -> Any:
    """Run one LiteLLM coroutine to completion on a fresh event loop.

    LiteLLM queues its async success/failure logging on a global worker. Await whatever it queued
    before the loop closes, so no logging coroutine is left un-awaited (pytest reports those as
    unraisable exceptions). ``asyncio.run`` cancels the worker's own task when the loop ends.
    """

    async def _main() -> Any:
        try:
            return await coro
        finally:
            from litellm.litellm_core_utils.logging_worker import GLOBAL_LOGGING_WORKER

            await GLOBAL_LOGGING_WORKER.clear_queue()

    return asyncio.run(_main())


def isolate_callback_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    """Give the test its own copies of LiteLLM's global callback lists, dropped when the test ends.

    On every call LiteLLM copies the entries of ``litellm.callbacks`` (the proxy's hooks, and the
    managed-files hook a test registers) into ``input_callback``, ``success_callback``,
    ``_async_success_callback`` and the failure lists, and never takes them out again: without this,
    each proxy test would leave its hook objects in those lists for every later test (the leak guard of
    ``conftest.py`` fails a test that does). The copy of ``litellm.callbacks`` starts with the proxy's
    own hooks (:data:`PROXY_CALLBACKS`), as in a running proxy.
    """
    import litellm
    from _isolation import CALLBACK_LISTS

    for name in CALLBACK_LISTS:
        entries = getattr(litellm, name, None)
        if isinstance(entries, list):
            monkeypatch.setattr(litellm, name, list(entries))
    proxy_hooks = [hook for hook in PROXY_CALLBACKS if not any(hook is entry for entry in litellm.callbacks)]
    litellm.callbacks[:0] = proxy_hooks


def bearer(key: str) -> dict[str, str]:
    """The headers that authenticate a request to the proxy with ``key``."""
    return {"Authorization": f"Bearer {key}"}


# --------------------------------------------------------------------------------------------------
# The proxy
# --------------------------------------------------------------------------------------------------


def configure_proxy(
    monkeypatch: pytest.MonkeyPatch,
    *,
    prisma_client: Any = None,
    general_settings: dict | None = None,
    premium_user: bool | None = None,
    llm_router: Any = None,
    model_list: list[dict] | None = None,
    proxy_key_cache: bool = False,
) -> Any:
    """Set the real proxy module's globals as its start-up would, with :data:`MASTER_KEY`; return the module.

    No lifespan is run (see :func:`proxy_client`): the proxy's startup event would read config and
    environment, and these globals are what it would set. The app's route list is replaced by a copy
    for the duration of the test, so routes a test adds (pass-through endpoints) disappear afterwards.

    The key cache is a fresh ``DualCache``, or with ``proxy_key_cache`` a fresh instance of the proxy's own
    cache class (``UserApiKeyCache`` from 1.84, whose eviction the key write paths call).
    """
    import_litellm_quietly("litellm.proxy.proxy_server")
    import litellm
    from litellm.caching.caching import DualCache
    from litellm.caching.llm_caching_handler import LLMClientCache
    from litellm.proxy import proxy_server

    monkeypatch.setattr(proxy_server, "master_key", MASTER_KEY)
    monkeypatch.setattr(proxy_server, "prisma_client", prisma_client)
    monkeypatch.setattr(proxy_server, "general_settings", dict(general_settings or {}))
    cache_type = type(proxy_server.user_api_key_cache) if proxy_key_cache else DualCache
    monkeypatch.setattr(proxy_server, "user_api_key_cache", cache_type())
    monkeypatch.setattr(proxy_server, "llm_router", llm_router)
    monkeypatch.setattr(proxy_server, "llm_model_list", model_list)
    monkeypatch.setattr(proxy_server, "config_passthrough_endpoints", None, raising=False)
    monkeypatch.setattr(proxy_server, "user_custom_auth", None, raising=False)
    if premium_user is not None:
        monkeypatch.setattr(proxy_server, "premium_user", premium_user)
    # provider SDK clients are cached across calls; do not reuse one made in another test's event loop
    monkeypatch.setattr(litellm, "in_memory_llm_clients_cache", LLMClientCache())
    isolate_callback_lists(monkeypatch)
    router = proxy_server.app.router
    monkeypatch.setattr(router, "routes", list(router.routes))
    return proxy_server


def proxy_client(app: Any = None) -> Any:
    """A TestClient on the real proxy app, without its lifespan; server errors come back as responses.

    A defect may well be an HTTP 500, so a 500 is an outcome the tests judge. But a 500 whose cause is an
    ``ImportError`` (the environment lacks a module the code imports on that path, as LiteLLM's auth error
    handler does with ``prisma`` from 1.84.8/1.89.1 on) says nothing about the code under test: it is recorded
    as a harness fault, so the test's verdict is a harness error and never "defect shown".
    """
    from litellm.proxy import proxy_server
    from starlette.testclient import TestClient

    inner = proxy_server.app if app is None else app

    async def environment_checked(scope: Any, receive: Any, send: Any) -> None:
        try:
            await inner(scope, receive, send)
        except ImportError as err:
            harness_fault(f"the proxy could not import {err.name or err}: install it (an environment fault): {err}")
            raise

    return TestClient(environment_checked, raise_server_exceptions=False)


def add_pass_through_endpoints(monkeypatch: pytest.MonkeyPatch, endpoints: list[dict]) -> None:
    """Register pass-through endpoints on the real app the way the proxy does at start-up
    (``general_settings.pass_through_endpoints`` -> ``initialize_pass_through_endpoints``)."""
    from litellm.proxy import proxy_server
    from litellm.proxy._types import LiteLLMRoutes
    from litellm.proxy.pass_through_endpoints import pass_through_endpoints as pt

    monkeypatch.setattr(pt, "_registered_pass_through_routes", {})
    # `auth: true` endpoints append their path to this list: give the test its own copy.
    openai_routes = LiteLLMRoutes.openai_routes
    monkeypatch.setattr(openai_routes, "_value_", list(openai_routes.value))
    monkeypatch.setitem(proxy_server.general_settings, "pass_through_endpoints", endpoints)
    run(pt.initialize_pass_through_endpoints(pass_through_endpoints=endpoints))


# --------------------------------------------------------------------------------------------------
# Virtual keys
# --------------------------------------------------------------------------------------------------


def add_virtual_key(prisma_client: Any, key: str, **columns: Any) -> None:
    """Store a virtual key in ``LiteLLM_VerificationToken`` as the proxy does: under its hash."""
    from litellm.proxy.utils import hash_token

    prisma_client.db.litellm_verificationtoken.add(token=hash_token(key), **columns)


def cache_key_auth(proxy_server: Any, key: str, **fields: Any) -> None:
    """Put a virtual key's auth object in the proxy's key cache, where ``user_api_key_auth`` looks
    first, so authenticating the key does not need the combined-view query."""
    from litellm.proxy._types import UserAPIKeyAuth
    from litellm.proxy.utils import hash_token

    hashed = hash_token(key)
    obj = UserAPIKeyAuth(token=hashed, api_key=hashed, **fields)
    proxy_server.user_api_key_cache.set_cache(key=hashed, value=obj)


def cache_user(proxy_server: Any, user_id: str, **fields: Any) -> None:
    """Put a user's row object in the proxy's cache, where ``get_user_object`` looks first (under the
    user id), as a running proxy has it after the user's first request."""
    from litellm.proxy._types import LiteLLM_UserTable

    proxy_server.user_api_key_cache.set_cache(key=user_id, value=LiteLLM_UserTable(user_id=user_id, **fields))
