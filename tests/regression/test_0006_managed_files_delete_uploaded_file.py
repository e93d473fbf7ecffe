"""Patch 0006: DELETE of an uploaded managed file returns the provider's confirmation, not the stored
file object (litellm-enterprise < 0.1.68).

The file is uploaded through the proxy's own ``POST /v1/files`` (``target_model_names``), so the hook
stores its row with the file object, as in production. The hook's ``afile_delete`` then returned that
stored object, so the client saw the upload's file object without ``deleted: true``.
"""

from __future__ import annotations

import pytest
import respx
from _managed_files_support import assert_deployment_credentials, provider_file_route

pytestmark = pytest.mark.patch("0006")


@pytest.mark.parametrize("provider", ["openai", "azure"])
def test_delete_of_an_uploaded_file_returns_the_provider_confirmation(managed_proxy, provider):
    provider_file_id = f"file-upload-0006-{provider}"
    with respx.mock(assert_all_called=False) as mock:
        file_id = managed_proxy.upload_file(mock, provider, provider_file_id)
        delete = provider_file_route(mock, "DELETE", provider, provider_file_id).respond(
            200, json={"id": provider_file_id, "object": "file", "deleted": True}
        )
        response = managed_proxy.client.delete(f"/v1/files/{file_id}", headers=managed_proxy.headers)

        assert delete.call_count == 1, response.text
        assert_deployment_credentials(delete.calls.last.request, provider)

    assert response.status_code == 200, response.text
    assert response.json() == {"id": file_id, "object": "file", "deleted": True}
    assert managed_proxy.stored_file(file_id) is None
