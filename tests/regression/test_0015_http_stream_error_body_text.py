"""Patch 0015: LiteLLM's HTTP handler keeps a refused streamed request's error body as text, not bytes.

For ``stream=True`` the stream branches of ``litellm/llms/custom_httpx/http_handler.py`` stored the raw
body bytes in the ``HTTPStatusError``'s ``message``/``text``, which LiteLLM's exception mapping then
renders as ``b'...'``, and which ``mask_sensitive_info`` (str only) does not mask. The tests drive the
real handler (``AsyncHTTPHandler``/``HTTPHandler``) and a provider whose streaming call lets that error
through to the mapping (``maritalk``, via ``litellm.acompletion``); the provider's HTTP is stood in for.

The handlers that keep a ``str(response.read())`` of their own after ``client.post(..., stream=True)``
(LangGraph, SageMaker, Bedrock AgentCore, the OpenAI-like handler behind maritalk, Gemini's synchronous
stream) never reach it for a refused request: their client is always LiteLLM's ``HTTPHandler`` /
``AsyncHTTPHandler``, whose ``post`` raises the ``HTTPStatusError`` first. What their callers see is
that error's body, the one this patch turns into text: ``test_sibling_streaming_error_is_reported_as_text``
and ``test_sibling_async_streaming_error_is_reported_as_text``.
"""

from __future__ import annotations

import json

import httpx
import pytest
import respx
from _support import run

pytestmark = pytest.mark.patch("0015")

API_BASE = "https://llm.sitepatch.test/v1"
ERROR_TEXT = json.dumps({"detail": "model sabia-9 does not exist"}, separators=(",", ":"))


def refuse(mock: respx.MockRouter, body: str = ERROR_TEXT) -> respx.Route:
    return mock.post(f"{API_BASE}/chat/completions").respond(
        400, content=body.encode(), headers={"content-type": "application/json"}
    )


def test_provider_streaming_error_is_reported_as_text():
    import litellm

    async def call() -> None:
        response = await litellm.acompletion(
            model="maritalk/sabia-9",
            messages=[{"role": "user", "content": "hello"}],
            api_key="maritalk-test-key",
            api_base=API_BASE,
            stream=True,
        )
        async for _ in response:
            pass

    with respx.mock(assert_all_called=False) as mock:
        route = refuse(mock)
        # APIConnectionError on older releases, BadRequestError (the status is 400) on newer ones
        with pytest.raises((litellm.APIConnectionError, litellm.BadRequestError)) as raised:
            run(call())
        assert route.call_count == 1

    message = str(raised.value)
    assert f"MaritalkException - {ERROR_TEXT}" in message, message
    assert "b'" not in message, message


AWS = {
    "aws_access_key_id": "AKIDSITEPATCHTEST",
    "aws_secret_access_key": "sitepatch-test",
    "aws_region_name": "us-east-1",
}
AGENT_ARN = "arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/agent-9"
GEMINI_ERROR_TEXT = json.dumps(
    {"error": {"code": 400, "message": "Invalid JSON payload.", "status": "INVALID_ARGUMENT"}}, indent=2
)
SIBLINGS = [
    # (request, URL the provider is called at, the provider's name in the mapped error, the error body)
    pytest.param(
        {"model": "langgraph/agent-9", "api_base": "https://langgraph.sitepatch.test", "api_key": "lg-test-key"},
        "https://langgraph.sitepatch.test/runs/stream",
        "LanggraphException",
        ERROR_TEXT,
        id="langgraph",
    ),
    pytest.param(
        {"model": "maritalk/sabia-9", "api_base": API_BASE, "api_key": "maritalk-test-key"},
        f"{API_BASE}/chat/completions",
        "MaritalkException",
        ERROR_TEXT,
        id="openai_like (maritalk)",
    ),
    pytest.param(
        {"model": "sagemaker/endpoint-9", **AWS},
        "https://runtime.sagemaker.us-east-1.amazonaws.com/endpoints/endpoint-9/",
        "SagemakerException",
        ERROR_TEXT,
        id="sagemaker",
    ),
    pytest.param(
        {"model": f"bedrock/agentcore/{AGENT_ARN}", **AWS},
        "https://bedrock-agentcore.us-east-1.amazonaws.com/runtimes/",
        "BedrockException",
        ERROR_TEXT,
        id="bedrock agentcore",
    ),
    pytest.param(
        {"model": "gemini/gemini-2.0-flash", "api_key": "gemini-test-key"},
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:streamGenerateContent",
        "Vertex_ai_betaException",
        GEMINI_ERROR_TEXT,
        id="gemini",
    ),
]


@pytest.mark.parametrize(("params", "url", "provider", "body"), SIBLINGS)
def test_sibling_streaming_error_is_reported_as_text(
    params: dict[str, str], url: str, provider: str, body: str, monkeypatch: pytest.MonkeyPatch
):
    """A refused synchronous stream of each of these providers reports the provider's body as text."""
    import litellm
    from _isolation import CALLBACK_LISTS

    # A first Gemini call imports LiteLLM's context-caching module, whose module-level Cache() adds "cache"
    # to the callback lists: give the test its own copies.
    for name in CALLBACK_LISTS:
        entries = getattr(litellm, name, None)
        if isinstance(entries, list):
            monkeypatch.setattr(litellm, name, list(entries))

    with respx.mock(assert_all_called=False) as mock:
        route = mock.post(url__startswith=url).respond(
            400, content=body.encode(), headers={"content-type": "application/json"}
        )
        with pytest.raises((litellm.APIConnectionError, litellm.BadRequestError)) as raised:
            for _ in litellm.completion(messages=[{"role": "user", "content": "hello"}], stream=True, **params):
                pass
        assert route.call_count >= 1

    message = str(raised.value)
    assert provider in message, message
    assert body in message, message
    assert "b'" not in message, message


# Their asynchronous streams too (maritalk's is test_provider_streaming_error_is_reported_as_text; SageMaker's
# async stream reads the body itself and was always text; Gemini's async stream is patch 0019's).
ASYNC_SIBLINGS = [param for param in SIBLINGS if param.id in {"langgraph", "bedrock agentcore"}]


@pytest.mark.parametrize(("params", "url", "provider", "body"), ASYNC_SIBLINGS)
def test_sibling_async_streaming_error_is_reported_as_text(params: dict[str, str], url: str, provider: str, body: str):
    """A refused asynchronous stream of these providers reports the provider's body as text."""
    import litellm

    async def call() -> None:
        response = await litellm.acompletion(messages=[{"role": "user", "content": "hello"}], stream=True, **params)
        async for _ in response:
            pass

    with respx.mock(assert_all_called=False) as mock:
        route = mock.post(url__startswith=url).respond(
            400, content=body.encode(), headers={"content-type": "application/json"}
        )
        with pytest.raises((litellm.APIConnectionError, litellm.BadRequestError)) as raised:
            run(call())
        assert route.call_count >= 1

    message = str(raised.value)
    assert provider in message, message
    assert body in message, message
    assert "b'" not in message, message


def test_async_stream_error_attributes_are_text():
    from litellm.llms.custom_httpx.http_handler import AsyncHTTPHandler

    async def call() -> None:
        handler = AsyncHTTPHandler()
        try:
            await handler.post(f"{API_BASE}/chat/completions", json={}, stream=True)
        finally:
            await handler.close()

    with respx.mock(assert_all_called=False) as mock:
        refuse(mock)
        with pytest.raises(httpx.HTTPStatusError) as raised:
            run(call())

    assert raised.value.message == ERROR_TEXT  # type: ignore[attr-defined]
    assert raised.value.text == ERROR_TEXT  # type: ignore[attr-defined]


def test_sync_stream_error_body_is_masked_text_as_without_stream():
    from litellm.llms.custom_httpx.http_handler import HTTPHandler

    body = '{"detail":"bad request for https://llm.sitepatch.test/v1?key=secret-api-key"}'
    messages = {}
    handler = HTTPHandler()
    try:
        for stream in (False, True):
            with respx.mock(assert_all_called=False) as mock:
                refuse(mock, body)
                with pytest.raises(httpx.HTTPStatusError) as raised:
                    handler.post(f"{API_BASE}/chat/completions", json={}, stream=stream)
            messages[stream] = raised.value.message  # type: ignore[attr-defined]
    finally:
        handler.close()

    assert "secret-api-key" not in messages[False]  # the non-stream branch always masked
    assert messages[True] == messages[False]
