"""Patch 0020: the managed-files hook runs its owner check for ``afile_retrieve`` too
(litellm-enterprise 0.1.25 to 0.1.28).

litellm 1.81.6 to 1.81.8 run the pre-call hooks of ``GET /files/{id}`` with ``{"file_id": <managed id>}`` and
call type ``afile_retrieve``, and pin litellm-enterprise 0.1.27, whose hook checks only ``afile_content`` and
``afile_delete``: any key then reads another user's file. No pin of this project is in that range, and
litellm 1.80.10 to 1.81.5 give the hooks no file id (patch 0018 checks in the endpoint there), so the test
makes exactly that call: the proxy's own ``ProxyLogging.pre_call_hook`` with the real hook registered, the
caller's key objects as the proxy's auth makes them. The file is stored by the hook's own
``store_unified_file_id``, as its upload path does, owned by ``user-a``.
"""

from __future__ import annotations

from typing import Any

import pytest
from _managed_files_support import DEPLOYMENTS, ManagedProxy
from _support import MASTER_KEY, run

pytestmark = [pytest.mark.patch("0020"), pytest.mark.filterwarnings("ignore")]


def _store_owned_file(proxy: ManagedProxy) -> str:
    from litellm.proxy._types import UserAPIKeyAuth
    from litellm.types.llms.openai import OpenAIFileObject

    _, deployment_id, _ = DEPLOYMENTS["openai"]
    file_id = proxy.hook.get_unified_output_file_id(
        output_file_id="file-0020-owned", model_id=deployment_id, model_name=DEPLOYMENTS["openai"][0]
    )
    file_object = OpenAIFileObject(
        id=file_id,
        object="file",
        bytes=1234,
        created_at=1765700000,
        filename="owned-0020.jsonl",
        purpose="batch",
        status="uploaded",
    )
    run(
        proxy.hook.store_unified_file_id(
            file_id=file_id,
            file_object=file_object,
            litellm_parent_otel_span=None,
            model_mappings={deployment_id: "file-0020-owned"},
            user_api_key_dict=UserAPIKeyAuth(api_key="owner", user_id="user-a", team_id="team-a"),
        )
    )
    return file_id


def _pre_call(caller: Any, file_id: str) -> Any:
    """The pre-call hooks of ``GET /files/{id}`` as litellm 1.81.6 runs them."""
    from litellm.proxy import proxy_server

    return run(
        proxy_server.proxy_logging_obj.pre_call_hook(
            user_api_key_dict=caller, data={"file_id": file_id}, call_type="afile_retrieve"
        )
    )


def _key(key: str, **fields: Any) -> Any:
    """A virtual key's auth object as the proxy's key lookup returns it (token and api_key hashed)."""
    from litellm.proxy._types import UserAPIKeyAuth
    from litellm.proxy.utils import hash_token

    return UserAPIKeyAuth(token=hash_token(key), api_key=hash_token(key), **fields)


def test_another_teams_key_is_refused_the_file_details(managed_proxy: ManagedProxy) -> None:
    from fastapi import HTTPException
    from litellm.proxy import proxy_server
    from litellm.proxy._types import LitellmUserRoles, UserAPIKeyAuth

    file_id = _store_owned_file(managed_proxy)

    other_team = _key("sk-0020-other-team", user_id="user-b", team_id="team-b")
    with pytest.raises(HTTPException) as refused:
        _pre_call(other_team, file_id)
    assert refused.value.status_code == 403

    for name, caller in {
        "key without a user id": _key("sk-0020-no-user"),
        'key whose user id is ""': _key("sk-0020-empty-user", user_id=""),
        "key of another user in the owner's team": _key("sk-0020-same-team", user_id="user-a2", team_id="team-a"),
    }.items():
        with pytest.raises(HTTPException) as refused:
            _pre_call(caller, file_id)
        assert refused.value.status_code == 403, name

    owner = _key("sk-0020-owner", user_id="user-a", team_id="team-a")
    assert _pre_call(owner, file_id)["file_id"] == file_id
    # the master key, as user_api_key_auth makes its auth object
    admin = UserAPIKeyAuth(
        api_key=MASTER_KEY, user_role=LitellmUserRoles.PROXY_ADMIN, user_id=proxy_server.litellm_proxy_admin_name
    )
    assert _pre_call(admin, file_id)["file_id"] == file_id
