"""Patch 0018: ``DELETE /files/{id}`` and ``GET /files/{id}`` of a managed file run the managed-files hook's
owner check (litellm 1.80.10 to 1.81.5).

There, ``delete_file`` calls no pre-call logic at all and ``get_file`` runs it without the file id, so the
hook's ``check_managed_file_id_access`` never sees the file: any key that knows a managed file's id could
delete it (the proxy deletes it at the provider too) or read its details, and with patch 0004 have a batch
output file's object fetched from the provider with the deployment's credentials.

Real proxy app, real virtual keys (rows of ``LiteLLM_VerificationToken`` in the database stand-in, looked up by
the proxy's own auth code), the real managed-files hook of the installed litellm-enterprise, provider HTTP
through respx. The owner uploads the file through the proxy's own ``POST /v1/files``, so the hook records
the owner as the proxy does (``created_by``). The hook's check of these releases compares ``created_by`` with
the caller's user id (its table has no team column): the owner is the same user, everyone else is refused,
and the proxy admin (the master key) keeps access to every file, as before the patch.
"""

from __future__ import annotations

from typing import Any

import pytest
import respx
from _managed_files_support import (
    DEPLOYMENTS,
    ManagedProxy,
    build_managed_proxy,
    provider_file_object,
    provider_file_route,
)
from _support import MASTER_KEY, bearer, cache_key_auth, run

# LiteLLM's own warnings are not under test.
pytestmark = [pytest.mark.patch("0018"), pytest.mark.filterwarnings("ignore")]

OWNER = "sk-0018-owner-key-team-a"
OTHER_TEAM = "sk-0018-other-team-key-b"

# Every other kind of caller: none of them owns the file, so none may use it.
OTHER_CALLERS: dict[str, dict[str, Any]] = {
    "key of another team": {"key": OTHER_TEAM},
    "key of another user in the owner's team": {"key": "sk-0018-same-team", "user_id": "user-a2", "team_id": "team-a"},
    "key without a user id": {"key": "sk-0018-no-user-id", "user_id": None},
    'key whose user id is ""': {"key": "sk-0018-empty-user-id", "user_id": ""},
    "key limited to other models": {"key": "sk-0018-other-models", "user_id": "user-m", "models": ["gpt-x"]},
    "over-budget key": {"key": "sk-0018-over-budget", "user_id": "user-o", "spend": 10.0, "max_budget": 1.0},
    "blocked key": {"key": "sk-0018-blocked", "user_id": "user-blocked", "blocked": True},
    "key of a blocked team": {
        "key": "sk-0018-blocked-team",
        "user_id": "user-bt",
        "team_id": "team-blocked",
        "team_blocked": True,
    },
    "key limited to other routes": {"key": "sk-0018-other-routes", "user_id": "user-r", "allowed_routes": ["/models"]},
    "no key": {"key": None},
}
REFUSED = {400, 401, 403}
PATCH_0004_DEFECT = "afile_retrieve() got an unexpected keyword argument 'llm_router'"


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch, prisma_client: Any) -> ManagedProxy:
    """The proxy with the managed-files hook, whose auth finds virtual keys in the same database."""
    from litellm.proxy import proxy_server

    managed = build_managed_proxy(monkeypatch, prisma_client, with_hook=True)
    monkeypatch.setattr(proxy_server, "prisma_client", prisma_client)
    db = prisma_client.db
    db.litellm_teamtable.add(team_id="team-a", team_alias="team a")
    db.litellm_teamtable.add(team_id="team-b", team_alias="team b")
    db.litellm_teamtable.add(team_id="team-blocked", team_alias="blocked team", blocked=True)
    cache_key_auth(proxy_server, OWNER, user_id="user-a", team_id="team-a")
    cache_key_auth(proxy_server, OTHER_TEAM, user_id="user-b", team_id="team-b")
    for caller in OTHER_CALLERS.values():
        if caller["key"] is not None and caller["key"] != OTHER_TEAM:
            cache_key_auth(proxy_server, caller["key"], **{k: v for k, v in caller.items() if k != "key"})
    return managed


def _headers(key: str | None) -> dict[str, str]:
    return {} if key is None else bearer(key)


def _upload(proxy: ManagedProxy, mock: Any, provider_file_id: str) -> str:
    """The owner uploads a file through the proxy; the hook stores it as the owner's."""
    proxy.headers = bearer(OWNER)
    try:
        file_id = proxy.upload_file(mock, "openai", provider_file_id)
    finally:
        proxy.headers = bearer(MASTER_KEY)
    stored = proxy.stored_file(file_id)
    assert stored is not None
    assert stored["created_by"] == "user-a"
    return file_id


def test_another_teams_key_cannot_delete_a_managed_file(proxy: ManagedProxy) -> None:
    with respx.mock(assert_all_called=False) as mock:
        file_id = _upload(proxy, mock, "file-0018-delete")
        delete = provider_file_route(mock, "DELETE", "openai", "file-0018-delete").respond(
            200, json={"id": "file-0018-delete", "object": "file", "deleted": True}
        )
        refused = proxy.client.delete(f"/v1/files/{file_id}", headers=bearer(OTHER_TEAM))

        assert refused.status_code == 403, refused.text
        assert delete.call_count == 0, "the provider's file was deleted for a key that does not own it"
        assert proxy.stored_file(file_id) is not None

        owner = proxy.client.delete(f"/v1/files/{file_id}", headers=bearer(OWNER))
        assert owner.status_code == 200, owner.text
        assert delete.call_count == 1
    assert proxy.stored_file(file_id) is None


def test_the_master_key_still_deletes_every_managed_file(proxy: ManagedProxy) -> None:
    """The proxy admin keeps what it had; the key of another team is refused first (the defect)."""
    with respx.mock(assert_all_called=False) as mock:
        file_id = _upload(proxy, mock, "file-0018-admin")
        delete = provider_file_route(mock, "DELETE", "openai", "file-0018-admin").respond(
            200, json={"id": "file-0018-admin", "object": "file", "deleted": True}
        )
        refused = proxy.client.delete(f"/files/{file_id}", headers=bearer(OTHER_TEAM))
        assert refused.status_code == 403, refused.text
        assert delete.call_count == 0

        admin = proxy.client.delete(f"/files/{file_id}", headers=bearer(MASTER_KEY))
        assert admin.status_code == 200, admin.text
        assert delete.call_count == 1
    assert proxy.stored_file(file_id) is None


def test_another_teams_key_cannot_read_a_managed_file(proxy: ManagedProxy) -> None:
    with respx.mock(assert_all_called=False) as mock:
        file_id = _upload(proxy, mock, "file-0018-read")
        refused = proxy.client.get(f"/v1/files/{file_id}", headers=bearer(OTHER_TEAM))
        assert refused.status_code == 403, refused.text
        assert "input.jsonl" not in refused.text

        for key in (OWNER, MASTER_KEY):
            allowed = proxy.client.get(f"/v1/files/{file_id}", headers=bearer(key))
            if PATCH_0004_DEFECT in allowed.text:
                # litellm 1.80.16-1.81.8 with enterprise 0.1.27 and without patch 0004 fail every GET of a
                # managed file so, for every caller: 0004's defect. The owner check let the caller through.
                continue
            assert allowed.status_code == 200, allowed.text
            assert allowed.json()["id"] == file_id
            assert allowed.json()["filename"] == "input.jsonl"


def test_another_teams_key_cannot_have_a_batch_output_file_fetched(proxy: ManagedProxy) -> None:
    """A batch output file of the owner: the provider is not asked on behalf of another team's key.

    With patch 0004 the hook fetches such a file's object from the provider; unpatched, litellm < 1.80.16
    fails earlier on this row (patch 0001's defect) and 1.80.16 to 1.81.5 on the hook's signature (0004's).
    """
    from litellm.proxy._types import UserAPIKeyAuth

    _, deployment_id, _ = DEPLOYMENTS["openai"]
    file_id = proxy.hook.get_unified_output_file_id(
        output_file_id="file-0018-output", model_id=deployment_id, model_name=DEPLOYMENTS["openai"][0]
    )
    run(
        proxy.hook.store_unified_file_id(
            file_id=file_id,
            file_object=None,
            litellm_parent_otel_span=None,
            model_mappings={deployment_id: "file-0018-output"},
            user_api_key_dict=UserAPIKeyAuth(api_key="owner", user_id="user-a", team_id="team-a"),
        )
    )
    with respx.mock(assert_all_called=False) as mock:
        retrieve = provider_file_route(mock, "GET", "openai", "file-0018-output").respond(
            200, json=provider_file_object("file-0018-output")
        )
        refused = proxy.client.get(f"/v1/files/{file_id}", headers=bearer(OTHER_TEAM))

        assert refused.status_code == 403, refused.text
        assert retrieve.call_count == 0, "the provider was asked for another team's file"


def test_no_other_caller_deletes_or_reads_a_managed_file(proxy: ManagedProxy) -> None:
    """Every kind of caller but the owner and the admin: refused (401/403/400), the file untouched."""
    with respx.mock(assert_all_called=False) as mock:
        file_id = _upload(proxy, mock, "file-0018-matrix")
        delete = provider_file_route(mock, "DELETE", "openai", "file-0018-matrix").respond(
            200, json={"id": "file-0018-matrix", "object": "file", "deleted": True}
        )
        answers = {}
        for name, caller in OTHER_CALLERS.items():
            for method in ("GET", "DELETE"):
                response = proxy.client.request(method, f"/v1/files/{file_id}", headers=_headers(caller["key"]))
                answers[f"{method} by {name}"] = response.status_code
        admitted = {request: status for request, status in answers.items() if status not in REFUSED}
        assert admitted == {}, answers
        assert delete.call_count == 0
        assert proxy.stored_file(file_id) is not None
