"""Patch 0012: a virtual key without a user id must not read the info (metadata, callback secrets) of
other keys that also have no user id (``None == None`` in ``_can_user_query_key_info``).

Real proxy app with a master key and the real ``GET /key/info`` handler; the caller's key is found in
the proxy's key cache, the key rows come from the shared in-memory database
stand-in (``_database.py``), read by LiteLLM's own handler code.
"""

from __future__ import annotations

import pytest
from _database import PrismaClientStandIn
from _support import MASTER_KEY, add_virtual_key, bearer, cache_key_auth, configure_proxy, proxy_client
from starlette.testclient import TestClient

# LiteLLM's own warnings are not under test; the project's `filterwarnings = error` would turn them
# into exceptions inside LiteLLM's request handling.
pytestmark = [pytest.mark.patch("0012"), pytest.mark.filterwarnings("ignore")]

KEY_A = "sk-regression-key-alpha-0001"  # no user id, no team
KEY_B = "sk-regression-key-bravo-0002"  # no user id, no team, holds a callback secret
KEY_C = "sk-regression-key-charl-0003"  # belongs to user-c
KEY_D = "sk-regression-key-delta-0004"  # user id "" (an empty form field, a blank SSO claim)
KEY_E = "sk-regression-key-echoo-0005"  # user id "", holds a callback secret
SECRET = "sk-lf-regression-secret"


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch, prisma_client: PrismaClientStandIn) -> TestClient:
    proxy_server = configure_proxy(monkeypatch, prisma_client=prisma_client)
    add_virtual_key(prisma_client, KEY_A, key_alias="alpha")
    add_virtual_key(
        prisma_client,
        KEY_B,
        key_alias="bravo",
        metadata={"logging": [{"callback_name": "langfuse", "callback_vars": {"langfuse_secret_key": SECRET}}]},
    )
    add_virtual_key(prisma_client, KEY_C, key_alias="charlie", user_id="user-c")
    cache_key_auth(proxy_server, KEY_A)
    cache_key_auth(proxy_server, KEY_C, user_id="user-c")
    add_virtual_key(
        prisma_client,
        KEY_D,
        key_alias="delta",
        user_id="",
    )
    add_virtual_key(
        prisma_client,
        KEY_E,
        key_alias="echo",
        user_id="",
        metadata={"logging": [{"callback_name": "langfuse", "callback_vars": {"langfuse_secret_key": SECRET}}]},
    )
    cache_key_auth(proxy_server, KEY_D, user_id="")
    return proxy_client()


def test_key_without_user_id_cannot_read_other_key_without_user_id(client: TestClient) -> None:
    response = client.get("/key/info", params={"key": KEY_B}, headers=bearer(KEY_A))
    assert response.status_code == 403, response.text
    assert SECRET not in response.text


def test_key_without_user_id_still_reads_itself_and_admin_reads_all(client: TestClient) -> None:
    own = client.get("/key/info", headers=bearer(KEY_A))
    assert own.status_code == 200, own.text
    assert own.json()["info"]["key_alias"] == "alpha"

    admin = client.get("/key/info", params={"key": KEY_B}, headers=bearer(MASTER_KEY))
    assert admin.status_code == 200, admin.text
    assert admin.json()["info"]["key_alias"] == "bravo"

    # a user's own key keeps working through the user-id match
    owner = client.get("/key/info", params={"key": KEY_C}, headers=bearer(KEY_C))
    assert owner.status_code == 200, owner.text

    # ... and the key without a user id is still refused the others
    for other in (KEY_B, KEY_C):
        refused = client.get("/key/info", params={"key": other}, headers=bearer(KEY_A))
        assert refused.status_code == 403, (other, refused.text)


def test_empty_user_id_counts_as_no_owner(client: TestClient) -> None:
    """``""`` is no user id either (upstream's later guard tests truthiness): two keys with an empty user id
    do not own each other, nor the keys without one."""
    for other in (KEY_E, KEY_B):
        refused = client.get("/key/info", params={"key": other}, headers=bearer(KEY_D))
        assert refused.status_code == 403, (other, refused.text)
        assert SECRET not in refused.text
    own = client.get("/key/info", headers=bearer(KEY_D))
    assert own.status_code == 200, own.text
    assert own.json()["info"]["key_alias"] == "delta"
