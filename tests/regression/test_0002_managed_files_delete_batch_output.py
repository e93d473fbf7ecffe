"""Patch 0002: the managed-files hook's ``afile_delete`` confirms the deletion of a batch output file
(litellm-enterprise < 0.1.28).

The hook deleted the file at the provider, dropped the provider's answer, and then raised
"LiteLLM Managed File object with id=... not found" because the row it had just removed had no stored
file object. The fix answers with the provider's confirmation under the unified file id. (An uploaded
file's deletion: patch 0006.)
"""

from __future__ import annotations

import pytest
import respx
from _managed_files_support import assert_deployment_credentials, provider_file_route

pytestmark = pytest.mark.patch("0002")


@pytest.mark.parametrize("provider", ["openai", "azure"])
def test_delete_batch_output_file_returns_the_provider_confirmation(managed_proxy, provider):
    provider_file_id = f"file-batch-output-0002-{provider}"
    file_id = managed_proxy.store_batch_output_file(provider, provider_file_id)

    with respx.mock(assert_all_called=False) as mock:
        delete = provider_file_route(mock, "DELETE", provider, provider_file_id).respond(
            200, json={"id": provider_file_id, "object": "file", "deleted": True}
        )
        response = managed_proxy.client.delete(f"/v1/files/{file_id}", headers=managed_proxy.headers)

        assert delete.call_count == 1, response.text
        assert_deployment_credentials(delete.calls.last.request, provider)

    assert response.status_code == 200, response.text
    assert response.json() == {"id": file_id, "object": "file", "deleted": True}
    assert managed_proxy.stored_file(file_id) is None
