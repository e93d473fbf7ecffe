"""Record the authorization matrix in the current environment: ``python tests/authz/record.py --out FILE``.

Runs every (config, request, method, caller) of ``authz_matrix.py`` against the real proxy app of the installed
LiteLLM, patched or not, and writes one JSON document of outcomes. The harness is the regression tests' own
(``tests/regression``): its ``conftest`` module is loaded first for the environment LiteLLM needs before its
import and the network guard (loopback only); ``_support`` configures the proxy and registers pass-through
endpoints through LiteLLM's ``initialize_pass_through_endpoints``; ``_database`` is the database; the callers'
keys are rows there and objects in the proxy's key cache, found by LiteLLM's own ``user_api_key_auth``.
Outbound HTTP (the pass-through upstream, the model provider) is answered by respx.

**Outcome of a case.** ``status``; ``upstream``/``provider``: whether the request reached the pass-through's
upstream or the model provider; ``write``: whether the key-management handler went on to write the target
key (a write asked of the database: the owner check let it through); ``admitted``: the request got past
authorization: it reached the upstream, the provider or a write, or it answered 2xx (for a request with
``reveals``: 2xx *and* the target key's alias in the answer, since ``/v2/key/info`` answers 200 with the
keys it filtered out left out). Anything else is refused. ``surface``/``auth``: how the comparator classifies
the case (``compare.py``): for pass-through configs, from the entry whose upstream the master key's
request reached (exact path or sub-path, and that entry's ``auth`` as registration reads it); a request
the master key does not reach an upstream with is a built-in route (``builtin-under-prefix``) or, on 404/405,
``not-served``.

**Control.** Before the matrix, each caller sends :data:`matrix.CONTROL`; restricted callers must be refused,
the others admitted. ``controls_ok`` is False otherwise, and ``compare.py`` turns that into a harness error.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import json
import logging
import re
import sys
import time
import warnings
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REGRESSION = HERE.parent / "regression"
sys.path[:0] = [str(REGRESSION), str(HERE)]

import authz_matrix as matrix  # noqa: E402 - after the path


def _load_regression_conftest() -> Any:
    """The regression ``conftest``: sets LiteLLM's import-time environment and installs the network guard."""
    spec = importlib.util.spec_from_file_location("_authz_regression_conftest", REGRESSION / "conftest.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Recorder:
    """One proxy app, reconfigured per config; a fresh database and key cache per request."""

    def __init__(self) -> None:
        self.conftest = _load_regression_conftest()
        import _support
        import httpx
        import pytest
        import respx

        self.support = _support
        self.pytest = pytest
        preloaded = [m for m in self.conftest.PRELOADED if importlib.util.find_spec(m.split(".")[0]) is not None]
        _support.preload(*preloaded)
        # LiteLLM logs every refused request with its traceback: thousands of them per recording
        for name in ("LiteLLM", "LiteLLM Proxy", "LiteLLM Router"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
        self.enterprise = "litellm_enterprise.proxy.hooks.managed_files" in preloaded

        self.mock = respx.mock(assert_all_called=False, assert_all_mocked=True)
        self.upstream = self.mock.route(host=matrix.UPSTREAM_HOST).mock(
            side_effect=lambda request: httpx.Response(200, json={"upstream": str(request.url)})
        )
        self.provider = self.mock.route(host="api.openai.com").mock(side_effect=_provider)
        self.hook: Any = None

    # -- the world ----------------------------------------------------------------------------------

    def _key_object(self, caller: matrix.Caller) -> dict[str, Any]:
        columns = dict(caller.columns)
        if "expires" in columns:
            columns["expires"] = datetime.now(timezone.utc) + timedelta(seconds=columns["expires"])
        return columns

    def fresh_world(self, monkeypatch: Any, proxy_server: Any, *, database: bool = True) -> Any:
        """A new key cache with the callers' key objects, and (``database``) a new database: teams, every
        caller's and victim's key row. Without ``database`` the config's database is kept: requests that
        write nothing (everything but key management) share one."""
        from _database import PrismaClientStandIn
        from litellm.caching.caching import DualCache

        db = proxy_server.prisma_client
        if database or not isinstance(db, _WriteTrackingStandIn):
            db = _WriteTrackingStandIn(PrismaClientStandIn)
            for team in matrix.TEAMS:
                db.db.litellm_teamtable.add(**team)
            for user_id in sorted({str(c.columns["user_id"]) for c in matrix.CALLERS if c.columns.get("user_id")}):
                db.db.litellm_usertable.add(user_id=user_id, user_role=matrix.USER_ROLE)
            for caller in (*matrix.CALLERS, *matrix.VICTIMS):
                if caller.key is not None and caller.name != matrix.MASTER:
                    self.support.add_virtual_key(db, caller.key, **self._key_object(caller))
            monkeypatch.setattr(proxy_server, "prisma_client", db)
        db.writes.clear()
        monkeypatch.setattr(proxy_server, "user_api_key_cache", _new_key_cache(DualCache))
        for caller in matrix.CALLERS:
            if caller.key is None or caller.name == matrix.MASTER:
                continue
            columns = {**self._key_object(caller), "user_role": matrix.USER_ROLE}
            # the key object as the proxy's combined-view lookup builds it: the key's columns and its team's
            team = next((t for t in matrix.TEAMS if t["team_id"] == columns.get("team_id")), None)
            if team is not None:
                columns["team_alias"] = team["team_alias"]
                columns["team_blocked"] = bool(team.get("blocked"))
            self.support.cache_key_auth(proxy_server, caller.key, **columns)
        return db

    # -- one request --------------------------------------------------------------------------------

    async def send(
        self,
        client: Any,
        monkeypatch: Any,
        proxy_server: Any,
        request: matrix.Request,
        method: str,
        caller: matrix.Caller,
    ) -> dict[str, Any]:
        keys = request.surface in {matrix.KEY_INFO, matrix.KEY_WRITE, matrix.FILES}
        db = self.fresh_world(monkeypatch, proxy_server, database=keys)
        path = request.path
        if matrix.MANAGED_FILE in path:
            path = path.replace(matrix.MANAGED_FILE, await self._store_managed_file(monkeypatch, db))
        key = self.support.MASTER_KEY if caller.name == matrix.MASTER else caller.key
        headers = self.support.bearer(key) if key else {}
        before_rows = _token_rows(db) if keys else None
        upstream_before, provider_before = self.upstream.call_count, self.provider.call_count
        self.support.HARNESS_FAULTS.clear()
        kwargs: dict[str, Any] = {"headers": headers}
        if request.body is not None and method not in {"GET", "OPTIONS"}:
            kwargs["json"] = request.body
        response = await client.request(method, path, **kwargs)
        self.conftest.close_queued_logging_coroutines()
        upstream = self.upstream.call_count > upstream_before
        target = None
        if upstream:
            answer = _json(response)
            target = answer.get("upstream") if isinstance(answer, dict) else None
        provider = self.provider.call_count > provider_before
        faults = sorted(set(self.support.HARNESS_FAULTS))
        write = (
            bool(db.writes) or any(_WRITE_FAULT.search(f) for f in faults) or (keys and _token_rows(db) != before_rows)
        )
        ok = 200 <= response.status_code < 300
        if request.reveals is not None:
            ok = ok and request.reveals in response.text
        return {
            "status": response.status_code,
            "upstream": upstream,
            "upstream_target": target,
            "provider": provider,
            "write": write,
            "admitted": upstream or provider or write or ok,
            "faults": faults,
            "detail": response.text[:160] if not (upstream or ok) else "",
        }

    # -- a config -----------------------------------------------------------------------------------

    def proxy(self, monkeypatch: Any, config: matrix.Config) -> tuple[Any, Any]:
        from litellm import Router

        if config.kind == "files":
            return self._managed_files_proxy(monkeypatch)
        model_list = [_deployment(matrix.MODEL_ALLOWED), _deployment(matrix.MODEL_OTHER)]
        proxy_server = self.support.configure_proxy(
            monkeypatch, premium_user=True, llm_router=Router(model_list=model_list), model_list=model_list
        )
        if config.endpoints:
            self.support.add_pass_through_endpoints(monkeypatch, [dict(e) for e in config.endpoints])
        return proxy_server, self.support.proxy_client().app

    def _managed_files_proxy(self, monkeypatch: Any) -> tuple[Any, Any]:
        """The proxy with the real managed-files hook (``_managed_files_support.build_managed_proxy``)."""
        from _database import PrismaClientStandIn
        from _managed_files_support import build_managed_proxy
        from litellm.proxy import proxy_server

        managed = build_managed_proxy(monkeypatch, PrismaClientStandIn(), with_hook=True)
        monkeypatch.setattr(proxy_server, "premium_user", True)
        self.hook = managed.hook
        return proxy_server, managed.client.app

    async def _store_managed_file(self, monkeypatch: Any, db: Any) -> str:
        """Store a batch output file owned by the victim's key, as the hook's batch post-call hook does."""
        from _managed_files_support import OPENAI_DEPLOYMENT_ID, OPENAI_MODEL_NAME
        from litellm.proxy._types import UserAPIKeyAuth
        from litellm.proxy.utils import hash_token

        owner = next(v for v in matrix.VICTIMS if v.name == matrix.MANAGED_FILE_OWNER)
        assert owner.key is not None
        monkeypatch.setattr(self.hook, "prisma_client", db)
        file_id: str = self.hook.get_unified_output_file_id(
            output_file_id="file-authz-owned", model_id=OPENAI_DEPLOYMENT_ID, model_name=OPENAI_MODEL_NAME
        )
        await self.hook.store_unified_file_id(
            file_id=file_id,
            file_object=None,
            litellm_parent_otel_span=None,
            model_mappings={OPENAI_DEPLOYMENT_ID: "file-authz-owned"},
            user_api_key_dict=UserAPIKeyAuth(api_key=hash_token(owner.key), user_id=owner.columns["user_id"]),
        )
        return file_id

    def run(self, app: Any, cases: Any) -> Any:
        """Run ``cases(client)`` on one event loop, with an ASGI client on ``app`` (no lifespan, as
        ``_support.proxy_client``, whose ImportError check ``app`` is; one loop instead of one per request)."""
        import httpx

        async def main() -> Any:
            from litellm.litellm_core_utils.logging_worker import GLOBAL_LOGGING_WORKER

            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
                try:
                    return await cases(client)
                finally:
                    await GLOBAL_LOGGING_WORKER.clear_queue()

        return asyncio.run(main())

    def controls(self) -> list[dict[str, Any]]:
        with self.pytest.MonkeyPatch.context() as monkeypatch:
            proxy_server, app = self.proxy(monkeypatch, matrix.Config("control", (), ()))
            return self.run(app, lambda client: self._controls(client, monkeypatch, proxy_server))

    async def _controls(self, client: Any, monkeypatch: Any, proxy_server: Any) -> list[dict[str, Any]]:
        out = []
        if True:
            for caller in matrix.CALLERS:
                outcome = await self.send(client, monkeypatch, proxy_server, matrix.CONTROL, "POST", caller)
                outcome["caller"] = caller.name
                outcome["expected_admitted"] = not caller.restricted
                refused_for_its_restriction = (
                    not outcome["admitted"]
                    and not outcome["provider"]
                    and re.search(caller.reason, outcome["detail"], re.IGNORECASE) is not None
                )
                outcome["ok"] = refused_for_its_restriction if caller.restricted else outcome["admitted"]
                outcome["expected_reason"] = caller.reason
                out.append(outcome)
        return out

    def config(self, config: matrix.Config) -> list[dict[str, Any]]:
        with self.pytest.MonkeyPatch.context() as monkeypatch:
            proxy_server, app = self.proxy(monkeypatch, config)
            return self.run(app, lambda client: self._config(client, monkeypatch, proxy_server, config))

    async def _config(
        self, client: Any, monkeypatch: Any, proxy_server: Any, config: matrix.Config
    ) -> list[dict[str, Any]]:
        out = []
        if True:
            master = next(c for c in matrix.CALLERS if c.name == matrix.MASTER)
            for request in config.requests:
                for method in request.methods:
                    first = await self.send(client, monkeypatch, proxy_server, request, method, master)
                    surface, auth, entry = classify(config, request, first)
                    for caller in matrix.CALLERS:
                        outcome = (
                            first
                            if caller is master
                            else await self.send(client, monkeypatch, proxy_server, request, method, caller)
                        )
                        out.append(
                            {
                                "config": config.name,
                                "request": request.name,
                                "method": method,
                                "caller": caller.name,
                                "surface": surface,
                                "auth": auth,
                                "entry": entry,
                                **outcome,
                            }
                        )
        return out


def classify(config: matrix.Config, request: matrix.Request, master: dict[str, Any]) -> tuple[str, str, int | None]:
    """(surface, auth, entry index) of a case, from the master key's outcome (see the module docstring)."""
    if request.surface is not None:
        return request.surface, "any", None
    path = request.path.split("?", 1)[0]
    target = master.get("upstream_target")
    if master["upstream"] and isinstance(target, str):
        prefix = f"https://{matrix.UPSTREAM_HOST}/{config.name}/"
        index = int(target.removeprefix(prefix).split("/", 1)[0])
        entry = config.endpoints[index]
        surface = matrix.PASS_THROUGH_EXACT if path == entry["path"] else matrix.PASS_THROUGH_SUBPATH
        return surface, matrix.auth_class(entry.get("auth"), present="auth" in entry), index
    if master["status"] in {404, 405}:
        return matrix.NOT_SERVED, "any", None
    first = config.endpoints[0] if config.endpoints else {}
    return matrix.BUILTIN_UNDER_PREFIX, matrix.auth_class(first.get("auth"), present="auth" in first), None


class _WriteTrackingStandIn:
    """The database stand-in, noting each write method the handler asks of LiteLLM's ``PrismaClient``.

    The stand-in models reads; a key write (``delete_data``, ``update_data``, the deleted-keys table's
    ``create_many`` ...) is asked for only after the handler's owner checks passed, which is what the recorder
    needs to know (the request is then a harness fault and an HTTP 500 or 400, but an admitted one).
    """

    WRITES = ("delete_data", "update_data", "insert_data")

    def __init__(self, base: type) -> None:
        self._inner = base()
        self.writes: list[str] = []

    def __getattr__(self, name: str) -> Any:
        if name in self.WRITES:
            self.writes.append(name)
        return getattr(self._inner, name)


_WRITE_FAULT = re.compile(r"\b(create_many|update_many|delete_many|update_data|delete_data|insert_data)\b")
"""A write the stand-in does not model: asked for only after the handler's owner checks let the request through."""


def _new_key_cache(dual_cache: type) -> Any:
    """A new key cache of the proxy's own type: ``UserApiKeyCache`` where the installed LiteLLM has it (1.110:
    its team look-up reads ``user_api_key_cache.redis_connection``, which a plain ``DualCache`` lacks, and
    turns the AttributeError into "Team doesn't exist in db"), a ``DualCache`` before."""
    try:
        from litellm.proxy.common_utils.user_api_key_cache import UserApiKeyCache
    except ImportError:
        return dual_cache()
    return UserApiKeyCache()


def _token_rows(db: Any) -> list[dict[str, Any]]:
    return json.loads(json.dumps(db.db.litellm_verificationtoken.rows, default=str, sort_keys=True))


def _json(response: Any) -> Any:
    with contextlib.suppress(ValueError):
        return response.json()
    return None


def _deployment(name: str) -> dict[str, Any]:
    return {
        "model_name": name,
        "litellm_params": {
            "model": "openai/gpt-4o-mini",
            "api_key": "sk-authz-provider",
            "api_base": matrix.PROVIDER_BASE,
        },
        "model_info": {"id": f"deployment-{name}"},
    }


def _provider(request: Any) -> Any:
    """The provider's answer: a chat completion, or a file object / deletion for ``/files/{id}``."""
    import httpx

    if "/files/" not in request.url.path:
        return httpx.Response(200, json=_completion())
    file_id = request.url.path.rsplit("/", 1)[-1]
    if request.method == "DELETE":
        return httpx.Response(200, json={"id": file_id, "object": "file", "deleted": True})
    from _managed_files_support import provider_file_object

    return httpx.Response(200, json=provider_file_object(file_id))


def _completion() -> dict[str, Any]:
    return {
        "id": "chatcmpl-authz",
        "object": "chat.completion",
        "created": 1765700000,
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def record(only: list[str] | None = None) -> dict[str, Any]:
    """Run the control and the matrix; return the JSON document."""
    from importlib.metadata import PackageNotFoundError, version

    started = time.monotonic()
    recorder = Recorder()
    distributions = {}
    for name in ("litellm", "litellm-enterprise"):
        with contextlib.suppress(PackageNotFoundError):
            distributions[name] = version(name)
    outcomes: list[dict[str, Any]] = []
    with recorder.mock:
        controls = recorder.controls()
        for config in matrix.CONFIGS:
            if only and config.name not in only:
                continue
            if config.kind == "files" and not recorder.enterprise:
                continue  # no managed-files hook without litellm-enterprise
            outcomes.extend(recorder.config(config))
    return {
        "schema": 1,
        "distributions": distributions,
        "size": matrix.size(),
        "controls_ok": all(c["ok"] for c in controls),
        "controls": controls,
        "outcomes": outcomes,
        "seconds": round(time.monotonic() - started, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="the JSON file to write")
    parser.add_argument("--only", action="append", help="record only this config (repeatable; for debugging)")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    document = record(args.only)
    Path(args.out).write_text(json.dumps(document, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    bad = [c["caller"] for c in document["controls"] if not c["ok"]]
    print(
        f"recorded {len(document['outcomes'])} cases in {document['seconds']}s "
        f"({document['distributions']}); control {'ok' if not bad else 'FAILED for ' + ', '.join(bad)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
