"""A ``general_settings.custom_auth`` for the end-to-end virtual-key cases: keys without a database.

LiteLLM's own virtual keys live in its database (``LiteLLM_VerificationToken``), which the end-to-end proxy
does not have. A custom auth function is LiteLLM's documented way to authenticate without one: it returns
LiteLLM's own key object (``UserAPIKeyAuth``) for a key, and with ``custom_auth_run_common_checks: true``
the proxy runs its common checks (model access, team blocked, budgets, routes) on that object, as it does
for a database key. Copied next to the proxy's config.yaml and named there as ``custom_auth.user_api_key_auth``.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from litellm.proxy._types import UserAPIKeyAuth

MASTER_KEY = "sk-sitepatch-e2e-master-key"

KEYS: dict[str, dict[str, Any]] = {
    "sk-e2e-plain": {"user_id": "u-plain"},
    "sk-e2e-model-limited": {"user_id": "u-models", "models": ["e2e-other-model"]},
    "sk-e2e-blocked-team": {"user_id": "u-bteam", "team_id": "t-blocked", "team_blocked": True},
}
"""Each key's columns: a plain key, a key limited to another model, a key of a blocked team."""


async def user_api_key_auth(request: Request, api_key: str) -> UserAPIKeyAuth:
    """The key object of ``api_key``; any other key (or none) is refused."""
    key = api_key.removeprefix("Bearer ").strip()
    if key == MASTER_KEY:
        return UserAPIKeyAuth(api_key=key, user_role="proxy_admin")
    if key in KEYS:
        return UserAPIKeyAuth(api_key=key, **KEYS[key])
    raise Exception("invalid key")  # noqa: TRY002 - the proxy turns any exception of custom auth into a 401
