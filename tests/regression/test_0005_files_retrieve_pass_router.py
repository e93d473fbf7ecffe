"""Patch 0005: ``GET /files/{id}`` gives the router to the managed-files hook (litellm < 1.80.16).

Without the router the (patched, see 0004) hook cannot reach the deployment that holds a batch output
file, whose object the proxy never stored. Requires the hook to accept ``llm_router`` (patch 0004 or
litellm-enterprise >= 0.1.28); on litellm < 1.80.16 this test also needs patch 0001.
"""

from __future__ import annotations

import pytest
import respx
from _managed_files_support import assert_deployment_credentials, provider_file_object, provider_file_route

pytestmark = pytest.mark.patch("0005")


def test_get_file_of_a_batch_output_file_uses_the_deployment(managed_proxy):
    file_id = managed_proxy.store_batch_output_file("openai", "file-batch-output-0005")

    with respx.mock(assert_all_called=False) as mock:
        retrieve = provider_file_route(mock, "GET", "openai", "file-batch-output-0005").respond(
            200, json=provider_file_object("file-batch-output-0005")
        )
        response = managed_proxy.client.get(f"/files/{file_id}", headers=managed_proxy.headers)

        assert retrieve.call_count == 1, response.text
        assert_deployment_credentials(retrieve.calls.last.request, "openai")

    assert response.status_code == 200, response.text
    assert response.json()["id"] == file_id
    assert response.json()["filename"] == "batch_output.jsonl"
