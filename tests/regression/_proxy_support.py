"""Helpers for the proxy-level regression tests of patches 0010-0013.

Everything here works on LiteLLM's real objects: the proxy FastAPI ``app`` and its module globals,
the real pass-through initialisation, the real ``PrismaClient.get_data`` query code. The only thing
replaced is the database underneath ``PrismaClient.db`` (the tests have no database, and
``litellm[proxy]`` does not always install ``prisma``): :class:`FakeVerificationTokenTable` answers the
few Prisma calls the key-info endpoints make, from rows held in memory. Outbound HTTP is mocked with
respx in the tests themselves.

Every global that is touched is set through ``monkeypatch`` so that tests stay independent in any
order.
"""

from __future__ import annotations

import asyncio
import importlib
import warnings
from collections.abc import Iterable
from typing import Any

import pytest

MASTER_KEY = "sk-regression-master-key"


def import_quietly(*modules: str) -> None:
    """Import LiteLLM modules with warnings silenced.

    Importing LiteLLM (and its proxy) emits deprecation warnings from its own code and from pydantic
    (e.g. ``PydanticDeprecatedSince20``); with the project's ``filterwarnings = error`` whichever test
    happens to import first would fail on them. Nothing under test is imported here for the first time
    by the tests' own actions."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for module in modules:
            importlib.import_module(module)


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


def configure_proxy(
    monkeypatch: pytest.MonkeyPatch,
    *,
    general_settings: dict | None = None,
    prisma_client: Any = None,
    premium_user: bool | None = None,
) -> Any:
    """Point the real proxy module at a master key and the given settings; return the proxy module.

    The app's route list is replaced by a copy for the duration of the test, so routes added by the
    test (pass-through endpoints) disappear afterwards.
    """
    from litellm.caching import DualCache
    from litellm.proxy import proxy_server

    monkeypatch.setattr(proxy_server, "master_key", MASTER_KEY)
    monkeypatch.setattr(proxy_server, "general_settings", dict(general_settings or {}))
    monkeypatch.setattr(proxy_server, "prisma_client", prisma_client)
    monkeypatch.setattr(proxy_server, "user_api_key_cache", DualCache())
    monkeypatch.setattr(proxy_server, "config_passthrough_endpoints", None, raising=False)
    monkeypatch.setattr(proxy_server, "user_custom_auth", None, raising=False)
    if premium_user is not None:
        monkeypatch.setattr(proxy_server, "premium_user", premium_user)
    router = proxy_server.app.router
    monkeypatch.setattr(router, "routes", list(router.routes))
    return proxy_server


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
    asyncio.run(pt.initialize_pass_through_endpoints(pass_through_endpoints=endpoints))


# --------------------------------------------------------------------------------------------------
# Database stand-in for the key-info endpoints
# --------------------------------------------------------------------------------------------------


def _matches(row: Any, where: dict | None) -> bool:
    for field, cond in (where or {}).items():
        if field == "OR":
            if not any(_matches(row, sub) for sub in cond):
                return False
            continue
        value = getattr(row, field, None)
        if isinstance(cond, dict):
            if "in" in cond and value not in cond["in"]:
                return False
            continue
        if value != cond:
            return False
    return True


class FakeVerificationTokenTable:
    """The Prisma calls made on ``litellm_verificationtoken`` by the key-info endpoints."""

    def __init__(self, rows: Iterable[Any]) -> None:
        self.rows = list(rows)
        self.calls: list[tuple[str, dict]] = []

    async def find_unique(self, where: dict, include: dict | None = None, **_: Any) -> Any:
        self.calls.append(("find_unique", where))
        for row in self.rows:
            if _matches(row, where):
                return row.model_copy(deep=True)
        return None

    async def find_many(self, where: dict | None = None, **_: Any) -> list:
        self.calls.append(("find_many", where or {}))
        return [row.model_copy(deep=True) for row in self.rows if _matches(row, where)]


class FakeDB:
    def __init__(self, tokens: FakeVerificationTokenTable) -> None:
        self.litellm_verificationtoken = tokens


def make_prisma_client(rows: Iterable[Any]) -> Any:
    """An object that has LiteLLM's own ``PrismaClient`` query methods (``get_data``, ``hash_token``)
    bound to it, with :class:`FakeDB` as its ``db``."""
    from litellm.proxy.utils import PrismaClient

    class _PrismaClientStandIn:
        get_data = PrismaClient.get_data
        hash_token = PrismaClient.hash_token

        def __init__(self) -> None:
            self.db = FakeDB(FakeVerificationTokenTable(rows))
            self.proxy_logging_obj = None

    return _PrismaClientStandIn()


def verification_token_row(token: str, **fields: Any) -> Any:
    """A row as Prisma would return it, as LiteLLM's own ``LiteLLM_VerificationToken`` model."""
    from litellm.proxy._types import LiteLLM_VerificationToken
    from litellm.proxy.utils import hash_token

    return LiteLLM_VerificationToken(token=hash_token(token), **fields)


def cache_key_auth(proxy_server: Any, token: str, **fields: Any) -> None:
    """Put a virtual key's auth object in the proxy's key cache, where ``user_api_key_auth`` looks
    first, so authenticating the key does not need the combined-view query."""
    from litellm.proxy._types import UserAPIKeyAuth
    from litellm.proxy.utils import hash_token

    hashed = hash_token(token)
    obj = UserAPIKeyAuth(token=hashed, api_key=hashed, **fields)
    proxy_server.user_api_key_cache.set_cache(key=hashed, value=obj)
