"""Patch 0004: the managed-files hook's ``afile_retrieve`` fetches a batch output file's object from the
provider (litellm-enterprise < 0.1.28).

The hook had no ``llm_router`` parameter and returned the stored ``file_object``, which is None for a
batch output file. litellm >= 1.80.16 passes ``llm_router=`` to it, so with enterprise 0.1.25-0.1.27
every ``GET /files/{managed id}`` was a TypeError (HTTP 500). With litellm < 1.80.16 this test also
needs patches 0001 and 0005, which are selected together with this one there.
"""

from __future__ import annotations

import pytest
import respx
from _managed_files_support import assert_deployment_credentials, provider_file_object, provider_file_route

pytestmark = pytest.mark.patch("0004")


@pytest.mark.parametrize("provider", ["openai", "azure"])
def test_retrieve_batch_output_file_from_the_provider(managed_proxy, provider):
    provider_file_id = f"file-batch-output-0004-{provider}"
    file_id = managed_proxy.store_batch_output_file(provider, provider_file_id)

    with respx.mock(assert_all_called=False) as mock:
        retrieve = provider_file_route(mock, "GET", provider, provider_file_id).respond(
            200, json=provider_file_object(provider_file_id, filename="output-0004.jsonl")
        )
        response = managed_proxy.client.get(f"/v1/files/{file_id}", headers=managed_proxy.headers)

        assert retrieve.call_count == 1, response.text
        assert_deployment_credentials(retrieve.calls.last.request, provider)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == file_id
    assert body["object"] == "file"
    assert body["filename"] == "output-0004.jsonl"
    assert body["bytes"] == 1234
    assert body["purpose"] == "batch_output"


def test_retrieve_of_a_file_the_provider_no_longer_has_reports_the_provider_error(managed_proxy):
    """The provider's own error reaches the client (the patch keeps its 404; upstream from 0.1.28 wraps it in a 500)."""
    file_id = managed_proxy.store_batch_output_file("openai", "file-batch-output-0004-gone")

    with respx.mock(assert_all_called=False) as mock:
        retrieve = provider_file_route(mock, "GET", "openai", "file-batch-output-0004-gone").respond(
            404,
            json={
                "error": {
                    "message": "No such File object: file-batch-output-0004-gone",
                    "type": "invalid_request_error",
                    "param": "id",
                    "code": None,
                }
            },
        )
        response = managed_proxy.client.get(f"/v1/files/{file_id}", headers=managed_proxy.headers)

        assert retrieve.call_count == 1, response.text

    assert response.status_code >= 400, response.text
    assert "No such File object: file-batch-output-0004-gone" in response.text
