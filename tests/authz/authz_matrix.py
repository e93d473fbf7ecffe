"""The authorization matrix: configurations x requests x callers, as plain data (no LiteLLM here).

:data:`CONFIGS` are pass-through endpoint sets, registered by the recorder through LiteLLM's own
``initialize_pass_through_endpoints`` (``_support.add_pass_through_endpoints``), plus the key-management and
managed-files set-ups. Each config lists its requests; each request is tried with each method it lists (the
methods the path serves and one it does not) by every caller of :data:`CALLERS`.

Callers are LiteLLM's own key objects: a row in the database stand-in's ``LiteLLM_VerificationToken`` and the
proxy's key cache (``_support.add_virtual_key`` / ``cache_key_auth``), teams as ``LiteLLM_TeamTable`` rows. The
:data:`CONTROL` request is one each restricted caller must be refused on unpatched because of its restriction
alone (and each unrestricted caller admitted): if not, the fixture is broken and the run is a harness error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

UPSTREAM_HOST = "upstream.authz.invalid"
PROVIDER_BASE = "https://api.openai.com/v1"
MODEL_ALLOWED = "authz-model-a"
MODEL_OTHER = "authz-model-b"

# Surfaces a request is classified under (the ``surface=`` of an ``Opens:`` clause).
PASS_THROUGH_EXACT = "pass-through-exact"
PASS_THROUGH_SUBPATH = "pass-through-subpath"
BUILTIN_UNDER_PREFIX = "builtin-under-prefix"
KEY_INFO = "key-info"
KEY_WRITE = "key-write"
FILES = "files"
NOT_SERVED = "not-served"
SURFACES = (PASS_THROUGH_EXACT, PASS_THROUGH_SUBPATH, BUILTIN_UNDER_PREFIX, KEY_INFO, KEY_WRITE, FILES, NOT_SERVED)


@dataclass(frozen=True)
class Caller:
    """One kind of caller: its key (``None``: no key) and the columns of its key row."""

    name: str
    key: str | None
    columns: dict[str, Any] = field(default_factory=dict)
    restricted: bool = False
    """Whether the control request must refuse it (blocked, expired, over budget, limited ...)."""
    reason: str = ""
    """For a restricted caller: a regular expression the refusal must match (case-insensitive), so a refusal
    for another cause (a team the database stand-in did not find) is a harness error, not a pass."""


@dataclass(frozen=True)
class Request:
    """One request of a config: a path and the methods to try it with."""

    path: str
    methods: tuple[str, ...]
    surface: str | None = None
    """Fixed surface (key management, files); ``None``: classified from routing (pass-through configs)."""
    body: dict[str, Any] | None = None
    reveals: str | None = None
    """A text whose presence in a 2xx answer means the request was served (a target key's alias)."""
    target: str | None = None
    """What the request acts on when its path does not say (the victim key in a body): part of the case's name."""

    @property
    def name(self) -> str:
        """The request as the recordings and violations name it: its path, and its target if the body holds it."""
        return self.path if self.target is None else f"{self.path} [{self.target}]"


@dataclass(frozen=True)
class Config:
    """A named set-up: pass-through endpoints (as ``general_settings.pass_through_endpoints``) and requests."""

    name: str
    endpoints: tuple[dict[str, Any], ...]
    requests: tuple[Request, ...]
    kind: str = "pass-through"
    """``pass-through``, ``keys`` or ``files``."""


USER_ROLE = "internal_user"
"""The role of every caller's user (a ``LiteLLM_UserTable`` row; the key object carries it as the combined
view does): an internal user may manage their own keys, so key management reaches the owner checks."""

MASTER = "master"
NO_KEY = "no-key"

_DAY = 86400

CALLERS: tuple[Caller, ...] = (
    Caller(NO_KEY, None, restricted=True, reason="no api key"),
    Caller(MASTER, "MASTER"),  # the recorder puts the proxy's master key here
    Caller("valid", "sk-authz-valid-000001", {"user_id": "u-valid", "key_alias": "a-valid"}),
    Caller(
        "blocked",
        "sk-authz-blocked-00002",
        {"user_id": "u-blocked", "blocked": True},
        restricted=True,
        reason="key is blocked",
    ),
    Caller(
        "blocked-team",
        "sk-authz-bteam-000003",
        {"user_id": "u-bteam", "team_id": "team-blocked"},
        restricted=True,
        reason="team=team-blocked is blocked",
    ),
    Caller(
        "over-budget",
        "sk-authz-budget-00004",
        {"user_id": "u-budget", "spend": 10.0, "max_budget": 1.0},
        restricted=True,
        reason="budget",
    ),
    Caller(
        "model-limited",
        "sk-authz-models-00005",
        {"user_id": "u-models", "models": [MODEL_OTHER]},
        restricted=True,
        reason="model",
    ),
    Caller(
        "route-limited",
        "sk-authz-routes-00006",
        {"user_id": "u-routes", "allowed_routes": ["/embeddings"]},
        restricted=True,
        reason="not allowed to call (this )?route",
    ),
    Caller(
        "expired",
        "sk-authz-expired-0007",
        {"user_id": "u-expired", "expires": -_DAY},
        restricted=True,
        reason="expired",
    ),
    Caller("other-user", "sk-authz-other-000008", {"user_id": "u-other"}),
    Caller("other-team", "sk-authz-teamb-000009", {"user_id": "u-teamb", "team_id": "team-b"}),
    Caller("user-id-empty", "sk-authz-uidempty-010", {"user_id": ""}),
    Caller("user-id-none", "sk-authz-uidnone-0011", {}),
)
"""Every kind of caller the brief names. ``expires`` is seconds from now (the recorder makes it a datetime)."""

TEAMS: tuple[dict[str, Any], ...] = (
    {"team_id": "team-blocked", "team_alias": "blocked team", "blocked": True},
    {"team_id": "team-b", "team_alias": "team b"},
)

VICTIMS: tuple[Caller, ...] = (
    Caller("victim", "sk-authz-victim-00101", {"user_id": "u-victim", "key_alias": "t-victim"}),
    Caller("victim-empty", "sk-authz-victim-e0102", {"user_id": "", "key_alias": "t-victim-empty"}),
    Caller("victim-none", "sk-authz-victim-n0103", {"key_alias": "t-victim-none"}),
    Caller(
        "victim-team-b", "sk-authz-victim-t0104", {"user_id": "u-victim-b", "team_id": "team-b", "key_alias": "t-vb"}
    ),
)
"""Keys that belong to nobody among the callers (only stored, never used to authenticate): key-management targets."""

CONTROL = Request(
    "/chat/completions",
    ("POST",),
    surface="control",
    body={"model": MODEL_ALLOWED, "messages": [{"role": "user", "content": "hi"}]},
)
"""Refused for every restricted caller by its restriction alone; admitted for the others."""

METHODS = ("GET", "POST", "OPTIONS")
"""Per pass-through request: two methods every entry serves unless it lists ``methods``, and ``OPTIONS``,
which registration never adds."""
METHODS_LISTED = ("GET", "POST", "PUT")
"""For entries that list ``methods: [GET]`` / ``[POST]``: ``PUT`` is the one they do not serve (where
registration honours ``methods``, from 1.81.14)."""


def _target(config: str, index: int) -> str:
    return f"https://{UPSTREAM_HOST}/{config}/{index}"


def _pass_through(name: str, path: str, *entries: dict[str, Any], extra: tuple[Request, ...] = ()) -> Config:
    methods = METHODS_LISTED if any("methods" in entry for entry in entries) else METHODS
    endpoints = tuple(
        {"path": path, "target": _target(name, index), "include_subpath": True, **entry}
        for index, entry in enumerate(entries)
    )
    requests = (Request(path, methods), Request(f"{path}/a/b", methods), *extra)
    return Config(name, endpoints, requests)


_KEY_PREFIX_BUILTINS = (
    Request("/key/info", ("GET", "POST", "DELETE")),
    Request("/key/list", ("GET", "POST")),
    Request("/key/generate", ("GET",)),
)
_CHAT_PREFIX_BUILTINS = (Request("/chat/completions", ("GET", "POST"), body=CONTROL.body),)


MANAGED_FILE = "{managed-file-id}"
"""Stands for the managed file's unified id in a request path (the recorder asks the hook for it)."""
MANAGED_FILE_OWNER = "victim"


def _key_requests() -> tuple[Request, ...]:
    out: list[Request] = []
    for victim in VICTIMS:
        key, alias = victim.key, victim.columns["key_alias"]
        out += [
            Request(f"/key/info?key={key}", ("GET",), surface=KEY_INFO, reveals=alias),
            Request(
                "/v2/key/info", ("POST",), surface=KEY_INFO, body={"keys": [key]}, reveals=alias, target=victim.name
            ),
            Request("/key/delete", ("POST",), surface=KEY_WRITE, body={"keys": [key]}, target=victim.name),
            Request(
                "/key/update",
                ("POST",),
                surface=KEY_WRITE,
                body={"key": key, "metadata": {"authz": "x"}},
                target=victim.name,
            ),
            Request(f"/key/{key}/regenerate", ("POST",), surface=KEY_WRITE, body={}),
        ]
    return tuple(out)


CONFIGS: tuple[Config, ...] = (
    _pass_through("auth-false", "/pt", {"auth": False}),
    _pass_through("auth-true", "/pt", {"auth": True}),
    _pass_through("auth-unset", "/pt", {}),
    _pass_through("auth-str-true", "/pt", {"auth": "true"}),
    _pass_through("auth-str-false", "/pt", {"auth": "false"}),
    # duplicate paths with methods (hole 2: honoured by registration from 1.81.14)
    _pass_through(
        "dup-methods-off-get-on-post", "/pt", {"auth": False, "methods": ["GET"]}, {"auth": True, "methods": ["POST"]}
    ),
    _pass_through(
        "dup-methods-on-get-off-post", "/pt", {"auth": True, "methods": ["GET"]}, {"auth": False, "methods": ["POST"]}
    ),
    _pass_through("dup-methods-off-get-unset-post", "/pt", {"auth": False, "methods": ["GET"]}, {"methods": ["POST"]}),
    # duplicate paths without methods: the first one's routes are registered
    _pass_through("dup-on-then-off", "/pt", {"auth": True}, {"auth": False}),
    _pass_through("dup-off-then-on", "/pt", {"auth": False}, {"auth": True}),
    # a pass-through above built-in routes
    _pass_through("key-prefix-false", "/key", {"auth": False}, extra=_KEY_PREFIX_BUILTINS),
    _pass_through("key-prefix-unset", "/key", {}, extra=_KEY_PREFIX_BUILTINS),
    _pass_through("chat-prefix-false", "/chat", {"auth": False}, extra=_CHAT_PREFIX_BUILTINS),
    # the seed (sitecustomize evaluation, 1.81.0): an open `include_subpath` forwarder
    _pass_through("seed-sitecustomize", "/lab-api", {"auth": False}),
    Config("keys", (), _key_requests(), kind="keys"),
    # the managed-files hook of litellm-enterprise (where installed), a file owned by the victim's user
    Config(
        "files",
        (),
        (Request(f"/v1/files/{MANAGED_FILE}", ("GET", "DELETE"), surface=FILES),),
        kind="files",
    ),
)


def auth_class(value: Any, *, present: bool = True) -> str:
    """An entry's ``auth`` as registration reads it: ``on`` (``str(auth).lower() == "true"``), ``off`` or ``unset``.

    >>> [auth_class(v) for v in (True, "True", False, "false", "no")], auth_class(None, present=False)
    (['on', 'on', 'off', 'off', 'off'], 'unset')
    """
    if not present or value is None:
        return "unset"
    return "on" if str(value).lower() == "true" else "off"


def size() -> dict[str, int]:
    """How many (config, request, method) cells and callers the matrix has."""
    cells = sum(len(r.methods) for c in CONFIGS for r in c.requests)
    return {
        "configs": len(CONFIGS),
        "requests": sum(len(c.requests) for c in CONFIGS),
        "request_methods": cells,
        "callers": len(CALLERS),
        "cases": cells * len(CALLERS),
    }
