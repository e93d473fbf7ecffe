"""Patch 0001: ``LiteLLM_ManagedFileTable.file_object`` is optional (litellm < 1.80.16).

A batch's output file is registered by the managed-files hook with ``file_object=None``. Reading that
row back failed pydantic validation ("Input should be a valid dictionary or instance of
OpenAIFileObject"), so e.g. ``DELETE /files/{id}`` answered 500 before it ever reached the provider.
"""

from __future__ import annotations

import pytest
import respx
from _managed_files_support import OPENAI_DEPLOYMENT_ID, assert_deployment_credentials, provider_file_route
from _support import run

pytestmark = pytest.mark.patch("0001")


@pytest.mark.defect(raises="ValidationError", match="validation error for LiteLLM_ManagedFileTable")
def test_hook_reads_back_a_batch_output_file_row(managed_proxy):
    file_id = managed_proxy.store_batch_output_file("openai", "file-batch-output-0001a")
    assert managed_proxy.stored_file(file_id)["file_object"] is None

    stored = run(managed_proxy.hook.get_unified_file_id(file_id))

    assert stored is not None
    assert stored.file_object is None
    assert stored.model_mappings == {OPENAI_DEPLOYMENT_ID: "file-batch-output-0001a"}


def test_delete_of_a_batch_output_file_reaches_the_provider(managed_proxy):
    file_id = managed_proxy.store_batch_output_file("openai", "file-batch-output-0001b")

    with respx.mock(assert_all_called=False) as provider:
        delete = provider_file_route(provider, "DELETE", "openai", "file-batch-output-0001b").respond(
            200, json={"id": "file-batch-output-0001b", "object": "file", "deleted": True}
        )
        response = managed_proxy.client.delete(f"/v1/files/{file_id}", headers=managed_proxy.headers)

        assert "validation error for LiteLLM_ManagedFileTable" not in response.text
        assert delete.call_count == 1, response.text
        assert_deployment_credentials(delete.calls.last.request, "openai")

    assert managed_proxy.stored_file(file_id) is None
