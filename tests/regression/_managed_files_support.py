"""Shared set-up for the managed files and batches regression tests (patches 0001-0005).

What is real here: the proxy app (``litellm.proxy.proxy_server.app``) with a master key, LiteLLM's
``Router`` with an OpenAI and an Azure deployment, and the managed-files hook class of the installed
litellm-enterprise (``_PROXY_LiteLLMManagedFiles``), registered the way the proxy registers its hooks
(a wheel-only install does not register it: that needs the ``enterprise/`` package of the repository).
What is stood in for: the provider's HTTP API (respx, in each test) and the one database table the hook
queries, ``LiteLLM_ManagedFileTable`` (``ManagedFileTable`` below, with Prisma's semantics for the calls
the tests reach: ``create``, ``find_first`` and ``delete``).

Rows are written by the hook's own ``store_unified_file_id``, exactly as its batch post-call hook does
for a batch's output file: with ``file_object=None``.
"""

from __future__ import annotations

import asyncio
import copy
import json
import uuid
from datetime import datetime, timezone
from types import SimpleNamespace
from typing import Any, Dict, Iterator, List, Optional

import pytest

MASTER_KEY = "sk-sitepatch-managed-files-master"

OPENAI_API_BASE = "https://api.openai.com/v1"
OPENAI_DEPLOYMENT_KEY = "sk-openai-deployment-key"
OPENAI_DEPLOYMENT_ID = "deployment-openai-batch"
OPENAI_MODEL_NAME = "gpt-4o-mini-batch"

AZURE_API_BASE = "https://sitepatch-tests.openai.azure.com"
AZURE_API_VERSION = "2024-10-21"
AZURE_DEPLOYMENT_KEY = "azure-deployment-key"
AZURE_DEPLOYMENT_ID = "deployment-azure-batch"
AZURE_MODEL_NAME = "azure-gpt-4o-batch"

MODEL_LIST: List[Dict[str, Any]] = [
    {
        "model_name": OPENAI_MODEL_NAME,
        "litellm_params": {
            "model": "openai/gpt-4o-mini",
            "api_key": OPENAI_DEPLOYMENT_KEY,
            "api_base": OPENAI_API_BASE,
        },
        "model_info": {"id": OPENAI_DEPLOYMENT_ID, "mode": "batch"},
    },
    {
        "model_name": AZURE_MODEL_NAME,
        "litellm_params": {
            "model": "azure/gpt-4o-batch",
            "api_key": AZURE_DEPLOYMENT_KEY,
            "api_base": AZURE_API_BASE,
            "api_version": AZURE_API_VERSION,
        },
        "model_info": {"id": AZURE_DEPLOYMENT_ID, "mode": "batch"},
    },
]

# provider -> (model group, deployment id, API key the provider must see)
DEPLOYMENTS = {
    "openai": (OPENAI_MODEL_NAME, OPENAI_DEPLOYMENT_ID, OPENAI_DEPLOYMENT_KEY),
    "azure": (AZURE_MODEL_NAME, AZURE_DEPLOYMENT_ID, AZURE_DEPLOYMENT_KEY),
}


# --------------------------------------------------------------------------------------------------
# In-memory stand-in for prisma_client.db.litellm_managedfiletable
# --------------------------------------------------------------------------------------------------

_JSON_FIELDS = ("file_object", "model_mappings")


class ManagedFileRow:
    """A row as Prisma returns it: attributes, Json columns already decoded, ``model_dump()``."""

    def __init__(self, values: Dict[str, Any]) -> None:
        self._values = values
        for key, value in values.items():
            setattr(self, key, value)

    def model_dump(self) -> Dict[str, Any]:
        return copy.deepcopy(self._values)


class ManagedFileTable:
    """``LiteLLM_ManagedFileTable`` (litellm/proxy/schema.prisma): the calls these tests make the hook use."""

    def __init__(self) -> None:
        self.rows: Dict[str, Dict[str, Any]] = {}

    @staticmethod
    def _decode(value: Any) -> Any:
        # Prisma takes Json columns as JSON text and hands them back decoded.
        return json.loads(value) if isinstance(value, str) else value

    @staticmethod
    def _matches(row: Dict[str, Any], where: Dict[str, Any]) -> bool:
        return all(row.get(key) == wanted for key, wanted in where.items())

    async def create(self, data: Dict[str, Any]) -> ManagedFileRow:
        if data["unified_file_id"] in self.rows:
            raise RuntimeError("Unique constraint failed on the fields: (`unified_file_id`)")
        now = datetime.now(timezone.utc)
        row: Dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "unified_file_id": data["unified_file_id"],
            "file_object": None,
            "model_mappings": None,
            "flat_model_file_ids": list(data.get("flat_model_file_ids") or []),
            "storage_backend": data.get("storage_backend"),
            "storage_url": data.get("storage_url"),
            "created_at": now,
            "created_by": data.get("created_by"),
            "updated_at": now,
            "updated_by": data.get("updated_by"),
        }
        for key in _JSON_FIELDS:
            if key in data:
                row[key] = self._decode(data[key])
        self.rows[row["unified_file_id"]] = row
        return ManagedFileRow(copy.deepcopy(row))

    async def find_first(self, where: Dict[str, Any]) -> Optional[ManagedFileRow]:
        for row in self.rows.values():
            if self._matches(row, where):
                return ManagedFileRow(copy.deepcopy(row))
        return None

    async def delete(self, where: Dict[str, Any]) -> Optional[ManagedFileRow]:
        for key, row in list(self.rows.items()):
            if self._matches(row, where):
                del self.rows[key]
                return ManagedFileRow(row)
        raise RuntimeError("Record to delete does not exist.")


class MemoryPrisma:
    """What the hook sees as ``prisma_client``: only ``.db.litellm_managedfiletable``."""

    def __init__(self) -> None:
        self.db = SimpleNamespace(litellm_managedfiletable=ManagedFileTable())

    @property
    def managed_files(self) -> ManagedFileTable:
        return self.db.litellm_managedfiletable


# --------------------------------------------------------------------------------------------------
# The proxy with the managed-files hook
# --------------------------------------------------------------------------------------------------


class ManagedProxy:
    def __init__(self, client: Any, hook: Any, prisma: MemoryPrisma, router: Any) -> None:
        self.client = client
        self.hook = hook
        self.prisma = prisma
        self.router = router
        self.headers = {"Authorization": f"Bearer {MASTER_KEY}"}

    def store_batch_output_file(self, provider: str, provider_file_id: str) -> str:
        """Register a batch output file the way the hook's batch post-call hook does; return its id."""
        from litellm.proxy._types import UserAPIKeyAuth

        model_group, deployment_id, _ = DEPLOYMENTS[provider]
        unified_file_id = self.hook.get_unified_output_file_id(
            output_file_id=provider_file_id, model_id=deployment_id, model_name=model_group
        )
        owner = UserAPIKeyAuth(api_key=MASTER_KEY, user_id=_proxy_admin_name())
        asyncio.run(
            self.hook.store_unified_file_id(
                file_id=unified_file_id,
                file_object=None,
                litellm_parent_otel_span=None,
                model_mappings={deployment_id: provider_file_id},
                user_api_key_dict=owner,
            )
        )
        return unified_file_id


def _proxy_admin_name() -> str:
    from litellm.proxy import proxy_server

    return proxy_server.litellm_proxy_admin_name


def provider_file_object(provider_file_id: str, filename: str = "batch_output.jsonl") -> Dict[str, Any]:
    """The provider's answer to GET /files/{id} for a batch output file."""
    return {
        "id": provider_file_id,
        "object": "file",
        "bytes": 1234,
        "created_at": 1765700000,
        "filename": filename,
        "purpose": "batch_output",
        "status": "processed",
    }


def provider_file_route(mock: Any, method: str, provider: str, provider_file_id: str) -> Any:
    """A respx route for the provider's ``/files/{id}`` endpoint (OpenAI or Azure OpenAI)."""
    if provider == "openai":
        return mock.route(method=method, host="api.openai.com", path=f"/v1/files/{provider_file_id}")
    return mock.route(
        method=method,
        host="sitepatch-tests.openai.azure.com",
        path=f"/openai/files/{provider_file_id}",
        params={"api-version": AZURE_API_VERSION},
    )


def assert_deployment_credentials(request: Any, provider: str) -> None:
    """The provider was called with the API key of the deployment that holds the file."""
    _, _, key = DEPLOYMENTS[provider]
    if provider == "openai":
        assert request.headers.get("authorization") == f"Bearer {key}"
    else:
        assert request.headers.get("api-key") == key


def import_proxy_quietly() -> None:
    """Import litellm, its proxy app and the managed-files hook with import-time warnings ignored.

    Importing them warns (``open_text is deprecated``, pydantic ``PydanticDeprecatedSince20`` ...). In a
    session run with warnings as errors the first such warning aborts the import half-way; these
    tests check behaviour, not third-party import hygiene. Warnings raised while a test runs still count.
    """
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import litellm  # noqa: F401
        import litellm.proxy.proxy_server  # noqa: F401
        import litellm_enterprise.proxy.hooks.managed_files  # noqa: F401


def _build_proxy(monkeypatch: pytest.MonkeyPatch, with_hook: bool) -> ManagedProxy:
    """The proxy app with a master key and a real Router, optionally with the managed-files hook.

    Every global of litellm / proxy_server touched here is set through ``monkeypatch``.
    """
    import_proxy_quietly()
    import litellm
    from fastapi.testclient import TestClient
    from litellm import Router
    from litellm.caching.caching import DualCache
    from litellm.caching.llm_caching_handler import LLMClientCache
    from litellm.proxy import proxy_server
    from litellm.proxy.utils import InternalUsageCache
    from litellm_enterprise.proxy.hooks.managed_files import _PROXY_LiteLLMManagedFiles

    router = Router(model_list=copy.deepcopy(MODEL_LIST))
    prisma = MemoryPrisma()
    hook = _PROXY_LiteLLMManagedFiles(
        internal_usage_cache=InternalUsageCache(dual_cache=DualCache()),
        prisma_client=prisma,
    )

    monkeypatch.setattr(proxy_server, "master_key", MASTER_KEY)
    monkeypatch.setattr(proxy_server, "prisma_client", None)
    monkeypatch.setattr(proxy_server, "llm_router", router)
    monkeypatch.setattr(proxy_server, "llm_model_list", copy.deepcopy(MODEL_LIST))
    monkeypatch.setattr(proxy_server, "general_settings", {})
    monkeypatch.setattr(proxy_server, "user_api_key_cache", DualCache())
    # provider SDK clients are cached across calls; do not reuse one made in another test's event loop
    monkeypatch.setattr(litellm, "in_memory_llm_clients_cache", LLMClientCache())
    if with_hook:
        # register the hook as ProxyLogging._add_proxy_hooks does
        monkeypatch.setitem(proxy_server.proxy_logging_obj.proxy_hook_mapping, "managed_files", hook)
        monkeypatch.setattr(litellm, "callbacks", [*litellm.callbacks, hook])
    else:
        mapping = proxy_server.proxy_logging_obj.proxy_hook_mapping
        if "managed_files" in mapping:
            monkeypatch.delitem(mapping, "managed_files")
        monkeypatch.setattr(
            litellm,
            "callbacks",
            [cb for cb in litellm.callbacks if not isinstance(cb, _PROXY_LiteLLMManagedFiles)],
        )

    # No lifespan: the proxy's startup event would read config and environment; the globals above
    # are what it would set.
    client = TestClient(proxy_server.app, raise_server_exceptions=False)
    return ManagedProxy(client=client, hook=hook, prisma=prisma, router=router)


def close_queued_logging_coroutines() -> None:
    """Close the logging coroutines still queued in litellm's global logging worker.

    Each TestClient request runs on its own short-lived event loop. A success-logging coroutine that
    litellm queued just before that loop closed is never run; when the worker later re-binds to a new
    loop (litellm >= 1.80.16 drops the old queue) the coroutine is garbage-collected and Python warns
    "coroutine 'Logging.async_success_handler' was never awaited" -- inside whichever test runs then,
    where a warnings-as-errors session fails it. Closing them before and after each test keeps the
    tests independent of their order. Only queued, never-started logging work is discarded.
    """
    from litellm.litellm_core_utils import logging_worker

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


@pytest.fixture
def managed_proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[ManagedProxy]:
    """The proxy with the real managed-files hook of litellm-enterprise registered."""
    import_proxy_quietly()
    close_queued_logging_coroutines()
    yield _build_proxy(monkeypatch, with_hook=True)
    close_queued_logging_coroutines()


@pytest.fixture
def proxy_without_managed_files(monkeypatch: pytest.MonkeyPatch) -> Iterator[ManagedProxy]:
    """The proxy as a wheel-only install runs it: no managed-files hook."""
    import_proxy_quietly()
    close_queued_logging_coroutines()
    yield _build_proxy(monkeypatch, with_hook=False)
    close_queued_logging_coroutines()
