"""Patch 0013: ``POST /v2/key/info`` returns only keys the caller may see, never hashed tokens, and
``{"key_aliases": [...]}`` is resolved to those aliases instead of listing every key (backport of the
LiteLLM 1.83.5 fix).

Real proxy app with a master key and the real handler, which runs LiteLLM's own
``PrismaClient.get_data`` query code; only the Prisma tables underneath are the shared in-memory
stand-in (``_database.py``).
The caller owns a user id, so the result does not depend on patch 0012.
"""

from __future__ import annotations

import pytest
from _database import PrismaClientStandIn
from _support import MASTER_KEY, add_virtual_key, bearer, cache_key_auth, configure_proxy, proxy_client
from starlette.testclient import TestClient

# LiteLLM's own warnings are not under test; the project's `filterwarnings = error` would turn them
# into exceptions inside LiteLLM's request handling.
pytestmark = [pytest.mark.patch("0013"), pytest.mark.filterwarnings("ignore")]

KEY_OWN = "sk-regression-key-own-00001"  # user-1's key: the caller
KEY_OWN_2 = "sk-regression-key-own-00002"  # another key of user-1
KEY_OTHER = "sk-regression-key-other-0003"  # user-2's key, holds a callback secret
KEY_ORPHAN = "sk-regression-key-orphan-004"  # no user id
SECRET = "sk-lf-regression-secret"


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch, prisma_client: PrismaClientStandIn) -> TestClient:
    proxy_server = configure_proxy(monkeypatch, prisma_client=prisma_client)
    add_virtual_key(prisma_client, KEY_OWN, key_alias="own", user_id="user-1")
    add_virtual_key(prisma_client, KEY_OWN_2, key_alias="own-2", user_id="user-1")
    add_virtual_key(
        prisma_client,
        KEY_OTHER,
        key_alias="other",
        user_id="user-2",
        metadata={"logging": [{"callback_name": "langfuse", "callback_vars": {"langfuse_secret_key": SECRET}}]},
    )
    add_virtual_key(prisma_client, KEY_ORPHAN, key_alias="orphan")
    cache_key_auth(proxy_server, KEY_OWN, user_id="user-1")
    return proxy_client()


def _aliases(response) -> list:
    assert response.status_code == 200, response.text
    info = response.json()["info"]
    assert all("token" not in row for row in info), info
    return sorted(row["key_alias"] for row in info)


def test_v2_key_info_filters_keys_the_caller_may_not_see(client: TestClient) -> None:
    response = client.post("/v2/key/info", json={"keys": [KEY_OWN_2, KEY_OTHER]}, headers=bearer(KEY_OWN))
    assert SECRET not in response.text
    assert _aliases(response) == ["own-2"]


def test_v2_key_info_aliases_do_not_list_every_key(client: TestClient) -> None:
    # An alias that matches nothing must not turn into an unfiltered query over all keys.
    nothing = client.post("/v2/key/info", json={"key_aliases": ["no-such-alias"]}, headers=bearer(KEY_OWN))
    assert _aliases(nothing) == []

    mine = client.post("/v2/key/info", json={"key_aliases": ["own-2", "other"]}, headers=bearer(KEY_OWN))
    assert SECRET not in mine.text
    assert _aliases(mine) == ["own-2"]


def test_v2_key_info_admin_still_sees_requested_keys_without_tokens(client: TestClient) -> None:
    response = client.post("/v2/key/info", json={"key_aliases": ["other", "orphan"]}, headers=bearer(MASTER_KEY))
    assert _aliases(response) == ["orphan", "other"]
