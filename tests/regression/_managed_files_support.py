"""Set-up for the managed files and batches regression tests (patches 0001-0005).

What is real here: the proxy app (``litellm.proxy.proxy_server.app``) with a master key, LiteLLM's
``Router`` with an OpenAI and an Azure deployment, and the managed-files hook class of the installed
litellm-enterprise (``_PROXY_LiteLLMManagedFiles``), registered the way the proxy registers its hooks
(a wheel-only install does not register it: that needs the ``enterprise/`` package of the repository).
What is stood in for: the provider's HTTP API (respx, in each test) and the database the hook queries
(the shared in-memory ``prisma_client`` of ``_database.py``, whose ``LiteLLM_ManagedFileTable`` has the
installed schema's columns and Prisma's semantics). The proxy's own ``prisma_client`` stays None, as
before: only the hook is given the database.

Rows are written by the hook's own ``store_unified_file_id``, exactly as its batch post-call hook does
for a batch's output file: with ``file_object=None``. The fixtures ``managed_proxy`` and
``proxy_without_managed_files`` (``conftest.py``) build the proxy with :func:`build_managed_proxy`.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from _support import MASTER_KEY, bearer, configure_proxy, import_litellm_quietly, proxy_client, run

OPENAI_API_BASE = "https://api.openai.com/v1"
OPENAI_DEPLOYMENT_KEY = "sk-openai-deployment-key"
OPENAI_DEPLOYMENT_ID = "deployment-openai-batch"
OPENAI_MODEL_NAME = "gpt-4o-mini-batch"

AZURE_API_BASE = "https://sitepatch-tests.openai.azure.com"
AZURE_API_VERSION = "2024-10-21"
AZURE_DEPLOYMENT_KEY = "azure-deployment-key"
AZURE_DEPLOYMENT_ID = "deployment-azure-batch"
AZURE_MODEL_NAME = "azure-gpt-4o-batch"

MODEL_LIST: list[dict[str, Any]] = [
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

# One request of a batch input file, as the Batch API documents it (newer proxies validate the lines).
BATCH_INPUT_LINE = (
    b'{"custom_id": "request-1", "method": "POST", "url": "/v1/chat/completions", '
    b'"body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello"}]}}\n'
)

# provider -> (model group, deployment id, API key the provider must see)
DEPLOYMENTS = {
    "openai": (OPENAI_MODEL_NAME, OPENAI_DEPLOYMENT_ID, OPENAI_DEPLOYMENT_KEY),
    "azure": (AZURE_MODEL_NAME, AZURE_DEPLOYMENT_ID, AZURE_DEPLOYMENT_KEY),
}


# --------------------------------------------------------------------------------------------------
# The proxy with the managed-files hook
# --------------------------------------------------------------------------------------------------


class ManagedProxy:
    def __init__(self, client: Any, hook: Any, prisma_client: Any, router: Any) -> None:
        self.client = client
        self.hook = hook
        self.prisma_client = prisma_client
        self.router = router
        self.headers = bearer(MASTER_KEY)

    def stored_file(self, unified_file_id: str) -> dict[str, Any] | None:
        """The file's row in ``LiteLLM_ManagedFileTable`` as stored, or None."""
        return self.prisma_client.db.litellm_managedfiletable.row(unified_file_id=unified_file_id)

    def store_batch_output_file(self, provider: str, provider_file_id: str) -> str:
        """Register a batch output file the way the hook's batch post-call hook does; return its id."""
        from litellm.proxy import proxy_server
        from litellm.proxy._types import UserAPIKeyAuth

        model_group, deployment_id, _ = DEPLOYMENTS[provider]
        unified_file_id = self.hook.get_unified_output_file_id(
            output_file_id=provider_file_id, model_id=deployment_id, model_name=model_group
        )
        owner = UserAPIKeyAuth(api_key=MASTER_KEY, user_id=proxy_server.litellm_proxy_admin_name)
        run(
            self.hook.store_unified_file_id(
                file_id=unified_file_id,
                file_object=None,
                litellm_parent_otel_span=None,
                model_mappings={deployment_id: provider_file_id},
                user_api_key_dict=owner,
            )
        )
        return unified_file_id

    def upload_file(self, mock: Any, provider: str, provider_file_id: str) -> str:
        """Upload a file through the proxy (``POST /v1/files`` with ``target_model_names``); return its id.

        The proxy's own upload path runs: the hook's ``acreate_file`` uploads to the deployment (the
        provider's ``POST /files`` is answered by ``mock``) and stores the row with its file object.
        """
        model_group, _, _ = DEPLOYMENTS[provider]
        if provider == "openai":
            route = mock.route(method="POST", host="api.openai.com", path="/v1/files")
        else:
            route = mock.route(method="POST", host="sitepatch-tests.openai.azure.com", path="/openai/files")
        route.respond(200, json={**provider_file_object(provider_file_id, "input.jsonl"), "purpose": "batch"})
        response = self.client.post(
            "/v1/files",
            headers=self.headers,
            data={"purpose": "batch", "target_model_names": model_group},
            files={"file": ("input.jsonl", BATCH_INPUT_LINE, "application/jsonl")},
        )
        assert response.status_code == 200, response.text
        assert route.call_count == 1, response.text
        file_id: str = response.json()["id"]
        stored = self.stored_file(file_id)
        assert stored is not None, f"the upload of {provider_file_id} stored no managed file row"
        assert stored["file_object"] is not None
        return file_id


def provider_file_object(provider_file_id: str, filename: str = "batch_output.jsonl") -> dict[str, Any]:
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


def build_managed_proxy(monkeypatch: pytest.MonkeyPatch, prisma_client: Any, *, with_hook: bool) -> ManagedProxy:
    """The proxy app with a master key and a real Router, with or without the managed-files hook.

    Every global of litellm / proxy_server touched here is set through ``monkeypatch``.
    """
    import_litellm_quietly("litellm.proxy.proxy_server", "litellm_enterprise.proxy.hooks.managed_files")
    import litellm
    from litellm import Router
    from litellm.caching.caching import DualCache
    from litellm.proxy.utils import InternalUsageCache
    from litellm_enterprise.proxy.hooks.managed_files import _PROXY_LiteLLMManagedFiles

    router = Router(model_list=copy.deepcopy(MODEL_LIST))
    hook = _PROXY_LiteLLMManagedFiles(
        internal_usage_cache=InternalUsageCache(dual_cache=DualCache()),
        prisma_client=prisma_client,
    )
    proxy_server = configure_proxy(monkeypatch, llm_router=router, model_list=copy.deepcopy(MODEL_LIST))
    mapping = proxy_server.proxy_logging_obj.proxy_hook_mapping
    if with_hook:
        # register the hook as ProxyLogging._add_proxy_hooks does
        monkeypatch.setitem(mapping, "managed_files", hook)
        monkeypatch.setattr(litellm, "callbacks", [*litellm.callbacks, hook])
    else:
        if "managed_files" in mapping:
            monkeypatch.delitem(mapping, "managed_files")
        monkeypatch.setattr(
            litellm,
            "callbacks",
            [cb for cb in litellm.callbacks if not isinstance(cb, _PROXY_LiteLLMManagedFiles)],
        )
    return ManagedProxy(client=proxy_client(), hook=hook, prisma_client=prisma_client, router=router)
