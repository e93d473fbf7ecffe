"""Patch 0014: a refused streaming Anthropic request reports the provider's error as text, not ``b'...'``.

LiteLLM's Anthropic chat handler built ``AnthropicError`` from the streamed body as bytes, so the client
saw ``AnthropicException - b'{"type":"error",...}'``: the Python repr of the body, with its quotes
escaped. The tests drive LiteLLM's real completion path (``litellm.acompletion``/``litellm.completion``
with ``stream=True``) and the real proxy's ``/v1/chat/completions``; only Anthropic's HTTP API is stood
in for (respx), answering 400 with Anthropic's documented error body.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import respx
from _support import MASTER_KEY, bearer, configure_proxy, isolate_callback_lists, proxy_client, run

pytestmark = pytest.mark.patch("0014")

ANTHROPIC_MESSAGES = "https://api.anthropic.com/v1/messages"
MODEL = "anthropic/claude-3-5-sonnet-20241022"
PROVIDER_MESSAGE = "max_tokens: 999999 > 64000, which is the maximum allowed number of output tokens"
ERROR_BODY = {"type": "error", "error": {"type": "invalid_request_error", "message": PROVIDER_MESSAGE}}
# What a client must see after "AnthropicException - ": the provider's JSON as it was sent.
ERROR_TEXT = json.dumps(ERROR_BODY, separators=(",", ":"))


def refuse(mock: Any) -> Any:
    return mock.post(ANTHROPIC_MESSAGES).respond(
        400, content=ERROR_TEXT.encode(), headers={"content-type": "application/json"}
    )


def assert_reported_as_text(message: str) -> None:
    assert f"AnthropicException - {ERROR_TEXT}" in message, message
    assert "b'" not in message, message


def request(stream: bool) -> dict[str, Any]:
    return {
        "model": MODEL,
        "messages": [{"role": "user", "content": "hello"}],
        "max_tokens": 999999,
        "api_key": "sk-ant-test-key",
        "stream": stream,
    }


def test_async_streaming_error_is_the_provider_text():
    import litellm

    async def call() -> None:
        response = await litellm.acompletion(**request(stream=True))
        async for _ in response:
            pass

    with respx.mock(assert_all_called=False) as mock:
        route = refuse(mock)
        with pytest.raises(litellm.BadRequestError) as raised:
            run(call())
        assert route.call_count == 1

    assert raised.value.status_code == 400
    assert_reported_as_text(str(raised.value))


def test_sync_streaming_error_is_the_provider_text():
    import litellm

    with respx.mock(assert_all_called=False) as mock:
        route = refuse(mock)
        with pytest.raises(litellm.BadRequestError) as raised:
            for _ in litellm.completion(**request(stream=True)):
                pass
        assert route.call_count == 1

    assert raised.value.status_code == 400
    assert_reported_as_text(str(raised.value))


def test_streaming_and_non_streaming_errors_read_alike():
    """The same refusal without streaming was always reported as text: the streaming one now matches."""
    import litellm

    with respx.mock(assert_all_called=False) as mock:
        refuse(mock)
        with pytest.raises(litellm.BadRequestError) as plain:
            litellm.completion(**request(stream=False))
        with pytest.raises(litellm.BadRequestError) as streamed:
            for _ in litellm.completion(**request(stream=True)):
                pass

    assert str(streamed.value) == str(plain.value)


@pytest.fixture
def anthropic_proxy(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The real proxy app with a Router holding one Anthropic deployment; a TestClient on it.

    Built in set-up, so a proxy that cannot even be imported is a set-up error, not a shown defect.
    """
    from litellm import Router

    isolate_callback_lists(monkeypatch)  # before Router() registers its callbacks on them
    model_list = [
        {
            "model_name": "claude",
            "litellm_params": {"model": MODEL, "api_key": "sk-ant-test-key", "max_tokens": 999999},
        }
    ]
    configure_proxy(monkeypatch, llm_router=Router(model_list=model_list, num_retries=0), model_list=model_list)
    return proxy_client()


def test_proxy_streaming_error_message_is_the_provider_text(anthropic_proxy):
    with respx.mock(assert_all_called=False) as mock:
        route = refuse(mock)
        response = anthropic_proxy.post(
            "/v1/chat/completions",
            headers=bearer(MASTER_KEY),
            json={"model": "claude", "messages": [{"role": "user", "content": "hello"}], "stream": True},
        )
        assert route.call_count >= 1, response.text

    assert response.status_code == 400, response.text
    assert_reported_as_text(response.json()["error"]["message"])
