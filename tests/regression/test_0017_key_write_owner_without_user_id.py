"""Patch 0017: a key without a user id (None or "") owns no other key on the write path either.

``can_modify_verification_token`` (``can_delete_verification_token`` up to 1.80.10) grants delete and
regenerate when ``key_info.user_id is not None and key_info.user_id == user_api_key_dict.user_id``: two
keys whose user id is ``""`` own each other. ``/key/update`` has the same match from 1.83.10
(``is_key_owner``, then ``caller_is_creator``), and up to 1.83.9 makes no owner check at all when the
target key has no user id: any key may update it.

Real proxy app with a master key and the real ``/key/delete``, ``/key/update`` and
``/key/{key}/regenerate`` handlers; the callers' keys are found in the proxy's key cache, the key and team
rows come from the in-memory database stand-in (``_database.py``), read and written by LiteLLM's own code.
Regenerating a virtual key is an enterprise feature on these versions: the proxy runs with
``premium_user=True``.

Each test first checks that the callers LiteLLM lets in keep their access (the owner with a real user
id, the master key, the team admin of a team key without a user id), then that every other caller is
refused: keys whose user id is ``""`` or None, and a key of another user, against keys whose user id is
``""``, None or a real one; and, refused before any write path, a blocked key, a key allowed other routes
only, and no key. Which of those refusals the unpatched proxy misses depends on the version
(``""`` against ``""`` on every version; any caller against a key without a user id on ``/key/update`` up
to 1.83.9); the patched proxy refuses them all.
"""

from __future__ import annotations

from typing import Any

import pytest
from _database import PrismaClientStandIn
from _support import (
    MASTER_KEY,
    add_virtual_key,
    bearer,
    cache_key_auth,
    cache_user,
    configure_proxy,
    proxy_client,
)
from starlette.testclient import TestClient

# LiteLLM's own warnings are not under test; the project's `filterwarnings = error` would turn them
# into exceptions inside LiteLLM's request handling.
pytestmark = [pytest.mark.patch("0017"), pytest.mark.filterwarnings("ignore")]

TEAM = "team-0017"
TEAM_ADMIN = "user-team-admin"

# callers (each also a key in the table)
EMPTY_CALLER = "sk-regression-0017-empty-caller"  # user id ""
NONE_CALLER = "sk-regression-0017-none-caller"  # no user id
OTHER_CALLER = "sk-regression-0017-other-caller"  # user-x, owns none of the targets
OWNER_CALLER = "sk-regression-0017-owner-caller"  # user-c, owns OWNED
TEAM_ADMIN_CALLER = "sk-regression-0017-team-admin"  # admin of TEAM
BLOCKED_CALLER = "sk-regression-0017-blocked-caller"  # user id "", blocked
ROUTE_LIMITED_CALLER = "sk-regression-0017-routes-caller"  # user id "", allowed only /chat/completions
NO_KEY = ""  # no Authorization header

# targets: one set per endpoint, so a write that goes through does not hide the next one
TARGET_KINDS = {"empty": "", "none": None, "owned": "user-c"}


def _target(endpoint: str, kind: str) -> str:
    return f"sk-regression-0017-{endpoint}-{kind}"


def _team_target(endpoint: str) -> str:
    return f"sk-regression-0017-{endpoint}-team"


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch, prisma_client: PrismaClientStandIn) -> Any:
    proxy_server = configure_proxy(monkeypatch, prisma_client=prisma_client, premium_user=True, proxy_key_cache=True)
    prisma_client.db.litellm_teamtable.add(
        team_id=TEAM,
        team_alias="team 0017",
        admins=[TEAM_ADMIN],
        members=[TEAM_ADMIN],
        members_with_roles=[{"user_id": TEAM_ADMIN, "role": "admin"}],
    )
    callers: dict[str, str | None] = {
        EMPTY_CALLER: "",
        NONE_CALLER: None,
        OTHER_CALLER: "user-x",
        OWNER_CALLER: "user-c",
        TEAM_ADMIN_CALLER: TEAM_ADMIN,
    }
    for key, user_id in callers.items():
        # created_by: a key made by a caller whose user id is "" records "" (generate_key_fn)
        add_virtual_key(prisma_client, key, key_alias=key[-16:], user_id=user_id, created_by=user_id)
        if user_id:
            prisma_client.db.litellm_usertable.add(user_id=user_id, user_role="internal_user")
            cache_user(proxy_server, user_id, user_role="internal_user")
            cache_key_auth(proxy_server, key, user_id=user_id, user_role="internal_user")
        else:
            # a key of no user (None, or "": an empty form field, a blank SSO claim) reaches the key
            # routes through its own allowed routes, as a management key does
            cache_key_auth(proxy_server, key, user_id=user_id, allowed_routes=["/key/*"])
    add_virtual_key(prisma_client, BLOCKED_CALLER, user_id="", created_by="", blocked=True)
    cache_key_auth(proxy_server, BLOCKED_CALLER, user_id="", allowed_routes=["/key/*"], blocked=True)
    add_virtual_key(prisma_client, ROUTE_LIMITED_CALLER, user_id="", created_by="")
    cache_key_auth(proxy_server, ROUTE_LIMITED_CALLER, user_id="", allowed_routes=["/chat/completions"])
    for endpoint in ("delete", "update", "regenerate"):
        for kind, user_id in TARGET_KINDS.items():
            key = _target(endpoint, kind)
            add_virtual_key(prisma_client, key, key_alias=key[-18:], user_id=user_id, created_by=user_id)
        # the owner's own key, for the owner to write
        key = _target(endpoint, "mine")
        add_virtual_key(prisma_client, key, key_alias=key[-18:], user_id="user-c", created_by="user-c")
        # a team's key without a user id (a service account's)
        key = _team_target(endpoint)
        add_virtual_key(prisma_client, key, key_alias=key[-18:], team_id=TEAM, created_by=TEAM_ADMIN)
    return proxy_server


@pytest.fixture
def client(proxy: Any) -> TestClient:
    return proxy_client()


def _hashed(key: str) -> str:
    from litellm.proxy.utils import hash_token

    return str(hash_token(key))


def _row(prisma_client: PrismaClientStandIn, key: str) -> dict[str, Any] | None:
    return prisma_client.db.litellm_verificationtoken.row(token=_hashed(key))


def _headers(caller: str) -> dict[str, str]:
    return bearer(caller) if caller else {}


def _delete(client: TestClient, caller: str, key: str) -> Any:
    return client.post("/key/delete", json={"keys": [key]}, headers=_headers(caller))


def _update(client: TestClient, caller: str, key: str) -> Any:
    return client.post(
        "/key/update", json={"key": key, "metadata": {"written-by": caller[-12:]}}, headers=_headers(caller)
    )


def _regenerate(client: TestClient, caller: str, key: str) -> Any:
    return client.post(f"/key/{key}/regenerate", json={}, headers=_headers(caller))


# the callers this patch is about first, then those the proxy refuses before any write path (they must stay
# refused)
REFUSED_CALLERS = (EMPTY_CALLER, NONE_CALLER, OTHER_CALLER, BLOCKED_CALLER, ROUTE_LIMITED_CALLER, NO_KEY)


def _refusals(client: TestClient, prisma_client: PrismaClientStandIn, endpoint: str, call: Any) -> list[str]:
    """Every (caller, target) pair that must be refused and was not, with the status it got."""
    admitted = []
    for kind in TARGET_KINDS:
        key = _target(endpoint, kind)
        for caller in REFUSED_CALLERS:
            before = _row(prisma_client, key)
            response = call(client, caller, key)
            after = _row(prisma_client, key)
            if response.status_code < 400 or after != before:
                admitted.append(
                    f"{caller or 'no key'} -> {kind} target: HTTP {response.status_code} {response.text[:120]}"
                )
    return admitted


def test_key_without_user_id_cannot_delete_other_keys(client: TestClient, prisma_client: PrismaClientStandIn) -> None:
    # the owner, the master key and the team admin keep their access
    owned = _delete(client, OWNER_CALLER, _target("delete", "mine"))
    assert owned.status_code == 200, owned.text
    assert _row(prisma_client, _target("delete", "mine")) is None
    team = _delete(client, TEAM_ADMIN_CALLER, _team_target("delete"))
    assert team.status_code == 200, team.text
    assert _row(prisma_client, _team_target("delete")) is None

    admitted = _refusals(client, prisma_client, "delete", _delete)
    assert admitted == [], "deleted by a key that does not own it:\n" + "\n".join(admitted)

    for kind in TARGET_KINDS:
        by_admin = _delete(client, MASTER_KEY, _target("delete", kind))
        assert by_admin.status_code == 200, (kind, by_admin.text)
        assert _row(prisma_client, _target("delete", kind)) is None


def test_key_without_user_id_cannot_update_other_keys(client: TestClient, prisma_client: PrismaClientStandIn) -> None:
    own = _update(client, OWNER_CALLER, _target("update", "mine"))
    assert own.status_code == 200, own.text
    row = _row(prisma_client, _target("update", "mine"))
    assert row is not None
    assert row["metadata"] == {"written-by": OWNER_CALLER[-12:]}
    team = _update(client, TEAM_ADMIN_CALLER, _team_target("update"))
    assert team.status_code == 200, team.text

    admitted = _refusals(client, prisma_client, "update", _update)
    assert admitted == [], "updated by a key that does not own it:\n" + "\n".join(admitted)

    for kind in TARGET_KINDS:
        by_admin = _update(client, MASTER_KEY, _target("update", kind))
        assert by_admin.status_code == 200, (kind, by_admin.text)


def test_key_without_user_id_cannot_regenerate_other_keys(
    client: TestClient, prisma_client: PrismaClientStandIn
) -> None:
    own = _regenerate(client, OWNER_CALLER, _target("regenerate", "mine"))
    assert own.status_code == 200, own.text
    assert _row(prisma_client, _target("regenerate", "mine")) is None  # stored under the new key's hash
    team = _regenerate(client, TEAM_ADMIN_CALLER, _team_target("regenerate"))
    assert team.status_code == 200, team.text

    admitted = _refusals(client, prisma_client, "regenerate", _regenerate)
    assert admitted == [], "regenerated by a key that does not own it:\n" + "\n".join(admitted)

    for kind in TARGET_KINDS:
        by_admin = _regenerate(client, MASTER_KEY, _target("regenerate", kind))
        assert by_admin.status_code == 200, (kind, by_admin.text)
