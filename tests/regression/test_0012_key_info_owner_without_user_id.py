"""Patch 0012: a virtual key without a user id must not read the info (metadata, callback secrets) of
other keys that also have no user id (``None == None`` in ``_can_user_query_key_info``).

Real proxy app with a master key and the real ``GET /key/info`` handler; the caller's key is found in
the proxy's key cache, the key rows come from an in-memory stand-in for Prisma's
``litellm_verificationtoken`` table.
"""

from __future__ import annotations

import pytest
from _proxy_support import (
    MASTER_KEY,
    cache_key_auth,
    configure_proxy,
    import_quietly,
    make_prisma_client,
    verification_token_row,
)
from starlette.testclient import TestClient

# LiteLLM's own warnings are not under test; the project's `filterwarnings = error` would turn them
# into exceptions inside LiteLLM's request handling.
pytestmark = [pytest.mark.patch("0012"), pytest.mark.filterwarnings("ignore")]

KEY_A = "sk-regression-key-alpha-0001"  # no user id, no team
KEY_B = "sk-regression-key-bravo-0002"  # no user id, no team, holds a callback secret
KEY_C = "sk-regression-key-charl-0003"  # belongs to user-c
SECRET = "sk-lf-regression-secret"


@pytest.fixture(autouse=True, scope="module")
def _litellm_imported() -> None:
    import_quietly("litellm", "litellm.proxy.proxy_server")


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> TestClient:
    rows = [
        verification_token_row(KEY_A, key_alias="alpha"),
        verification_token_row(
            KEY_B,
            key_alias="bravo",
            metadata={"logging": [{"callback_name": "langfuse", "callback_vars": {"langfuse_secret_key": SECRET}}]},
        ),
        verification_token_row(KEY_C, key_alias="charlie", user_id="user-c"),
    ]
    proxy_server = configure_proxy(monkeypatch, prisma_client=make_prisma_client(rows))
    cache_key_auth(proxy_server, KEY_A)
    cache_key_auth(proxy_server, KEY_C, user_id="user-c")
    return TestClient(proxy_server.app, raise_server_exceptions=False)


def _auth(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


def test_key_without_user_id_cannot_read_other_key_without_user_id(client: TestClient) -> None:
    response = client.get("/key/info", params={"key": KEY_B}, headers=_auth(KEY_A))
    assert response.status_code == 403, response.text
    assert SECRET not in response.text


def test_key_without_user_id_still_reads_itself_and_admin_reads_all(client: TestClient) -> None:
    own = client.get("/key/info", headers=_auth(KEY_A))
    assert own.status_code == 200, own.text
    assert own.json()["info"]["key_alias"] == "alpha"

    admin = client.get("/key/info", params={"key": KEY_B}, headers=_auth(MASTER_KEY))
    assert admin.status_code == 200, admin.text
    assert admin.json()["info"]["key_alias"] == "bravo"

    # a user's own key keeps working through the user-id match
    owner = client.get("/key/info", params={"key": KEY_C}, headers=_auth(KEY_C))
    assert owner.status_code == 200, owner.text

    # ... and the key without a user id is still refused the others
    for other in (KEY_B, KEY_C):
        refused = client.get("/key/info", params={"key": other}, headers=_auth(KEY_A))
        assert refused.status_code == 403, (other, refused.text)
