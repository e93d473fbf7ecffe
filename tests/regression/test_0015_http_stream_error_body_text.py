"""Patch 0015: LiteLLM's HTTP handler keeps a refused streamed request's error body as text, not bytes.

For ``stream=True`` the stream branches of ``litellm/llms/custom_httpx/http_handler.py`` stored the raw
body bytes in the ``HTTPStatusError``'s ``message``/``text``, which LiteLLM's exception mapping then
renders as ``b'...'``, and which ``mask_sensitive_info`` (str only) does not mask. The tests drive the
real handler (``AsyncHTTPHandler``/``HTTPHandler``) and a provider whose streaming call lets that error
through to the mapping (``maritalk``, via ``litellm.acompletion``); the provider's HTTP is stood in for.
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
