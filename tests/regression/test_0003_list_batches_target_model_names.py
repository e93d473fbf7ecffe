"""Patch 0003: ``GET /batches?target_model_names=...`` (litellm < 1.80.11).

The proxy's pre-call logic always sets ``data["model"]`` (to None here), and ``list_batches`` called
``llm_router.alist_batches(model=..., **data)``: "got multiple values for keyword argument 'model'"
(HTTP 500). Tested without the managed-files hook, as a wheel-only install runs the proxy.
"""

from __future__ import annotations

import pytest
import respx
from _managed_files_support import OPENAI_MODEL_NAME, assert_deployment_credentials

pytestmark = pytest.mark.patch("0003")

PROVIDER_BATCH = {
    "id": "batch_0003",
    "object": "batch",
    "endpoint": "/v1/chat/completions",
    "input_file_id": "file-batch-input-0003",
    "completion_window": "24h",
    "status": "completed",
    "created_at": 1765700000,
    "output_file_id": "file-batch-output-0003",
}


def test_list_batches_by_target_model_names(proxy_without_managed_files):
    proxy = proxy_without_managed_files

    with respx.mock(assert_all_called=False) as mock:
        listing = mock.route(method="GET", host="api.openai.com", path="/v1/batches").respond(
            200,
            json={
                "object": "list",
                "data": [PROVIDER_BATCH],
                "first_id": "batch_0003",
                "last_id": "batch_0003",
                "has_more": False,
            },
        )
        response = proxy.client.get(
            "/v1/batches",
            params={"target_model_names": OPENAI_MODEL_NAME, "limit": 5},
            headers=proxy.headers,
        )

        assert listing.call_count == 1, response.text
        assert listing.calls.last.request.url.params.get("limit") == "5"
        assert_deployment_credentials(listing.calls.last.request, "openai")

    assert response.status_code == 200, response.text
    body = response.json()
    assert [batch["id"] for batch in body["data"]] == ["batch_0003"]
    assert body["has_more"] is False
