"""Patch 0019: a refused streaming Gemini request reports the provider's error as text, not ``b'...'``.

LiteLLM's Gemini / Vertex AI ``make_call`` (the asynchronous stream) built ``VertexAIError`` from
``str(await e.response.aread())``, the Python repr of the body bytes, so the client saw
``Vertex_ai_betaException - b'{...}'`` with its quotes escaped and newlines as ``\\n``. The tests drive LiteLLM's real completion path
(``litellm.acompletion`` with ``stream=True``) and the real proxy's ``/v1/chat/completions`` over a real
``Router``; only Google AI Studio's HTTP API is stood in for (respx), answering 400 with Google's error body.

Vertex AI (``vertex_ai/...``) goes through the same ``make_call``, but only after google-auth has turned
its credentials into a token, and google-auth is not installed by ``litellm[proxy]`` (so not in the pins'
environments): a Vertex request cannot get as far as the provider's HTTP offline, and only Google AI
Studio is tested. The synchronous stream's error comes from ``HTTPHandler.post`` and is patch 0015's
(``test_0015_http_stream_error_body_text.py``).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import respx
from _support import MASTER_KEY, bearer, configure_proxy, isolate_callback_lists, proxy_client, run

pytestmark = pytest.mark.patch("0019")

MODEL = "gemini/gemini-2.0-flash"
STREAM_URL = "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:streamGenerateContent"
GENERATE_URL = "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:generateContent"
PROVIDER_MESSAGE = "Unable to submit request because it has an empty text parameter."
ERROR_BODY = {"error": {"code": 400, "message": PROVIDER_MESSAGE, "status": "INVALID_ARGUMENT"}}
# Google answers with indented JSON: as bytes' repr its newlines became a literal "\n".
ERROR_TEXT = json.dumps(ERROR_BODY, indent=2)


def refuse(mock: respx.MockRouter, url: str = STREAM_URL) -> respx.Route:
    # The API key and alt=sse ride in the query string, which differs between releases: match the path.
    return mock.post(url__startswith=url).respond(
        400, content=ERROR_TEXT.encode(), headers={"content-type": "application/json; charset=UTF-8"}
    )


def refusals() -> tuple[type[Exception], ...]:
    """What a refused Gemini stream raises: BadRequestError, or, where the release opens the stream only at
    the first chunk (1.80.10), the MidStreamFallbackError (a ServiceUnavailableError) that wraps it."""
    import litellm

    return (litellm.BadRequestError, litellm.ServiceUnavailableError)


def proxy_error_message(response: Any) -> str:
    """The error message of a proxy answer: its JSON body, or the ``data:`` event of a stream already begun."""
    if response.headers.get("content-type", "").startswith("application/json"):
        return str(response.json()["error"]["message"])
    events = [json.loads(line[len("data:") :]) for line in response.text.splitlines() if line.startswith("data:")]
    errors = [event["error"]["message"] for event in events if isinstance(event, dict) and "error" in event]
    assert errors, response.text
    return str(errors[0])


def assert_reported_as_text(message: str) -> None:
    assert ERROR_TEXT in message, message
    assert "b'" not in message, message


@pytest.fixture(autouse=True)
def _own_callback_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    """Give each test copies of LiteLLM's callback lists, dropped when it ends.

    The first Gemini call imports LiteLLM's Vertex context-caching module, whose module-level
    ``Cache(type="local")`` appends ``"cache"`` to ``input_callback``, ``success_callback`` and
    ``_async_success_callback``: LiteLLM's own import-time side effect, which the leak guard would
    otherwise blame on whichever of these tests runs first.
    """
    import litellm
    from _isolation import CALLBACK_LISTS

    for name in CALLBACK_LISTS:
        entries = getattr(litellm, name, None)
        if isinstance(entries, list):
            monkeypatch.setattr(litellm, name, list(entries))


def request(*, stream: bool) -> dict[str, Any]:
    return {
        "model": MODEL,
        "messages": [{"role": "user", "content": "hello"}],
        "api_key": "gemini-test-key",
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
        with pytest.raises(refusals()) as raised:
            run(call())
        assert route.call_count == 1

    assert_reported_as_text(str(raised.value))


def test_async_streaming_and_non_streaming_errors_carry_the_same_body():
    """The same refusal without streaming was always reported as text: the streaming one now carries it alike.

    (The two name the provider differently, ``Vertex_ai_betaException`` and ``GeminiException``, in every
    release, and 1.80.10 wraps the streaming one: the body that follows the name is compared.)
    """
    import litellm

    async def streamed() -> None:
        response = await litellm.acompletion(**request(stream=True))
        async for _ in response:
            pass

    with respx.mock(assert_all_called=False) as mock:
        refuse(mock, GENERATE_URL)
        refuse(mock, STREAM_URL)
        with pytest.raises(litellm.BadRequestError) as plain:
            run(litellm.acompletion(**request(stream=False)))
        with pytest.raises(refusals()) as stream:
            run(streamed())

    assert_reported_as_text(str(plain.value))
    body = str(plain.value).split(" - ", 1)[1]
    assert body in str(stream.value), str(stream.value)
    assert "b'" not in str(stream.value), str(stream.value)


@pytest.fixture
def gemini_proxy(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The real proxy app with a Router holding one Gemini deployment; a TestClient on it.

    Built in set-up, so a proxy that cannot even be imported is a set-up error, not a shown defect.
    """
    from litellm import Router

    isolate_callback_lists(monkeypatch)  # before Router() registers its callbacks on them
    model_list = [{"model_name": "gemini", "litellm_params": {"model": MODEL, "api_key": "gemini-test-key"}}]
    configure_proxy(monkeypatch, llm_router=Router(model_list=model_list, num_retries=0), model_list=model_list)
    return proxy_client()


def test_proxy_streaming_error_message_is_the_provider_text(gemini_proxy):
    with respx.mock(assert_all_called=False) as mock:
        route = refuse(mock)
        response = gemini_proxy.post(
            "/v1/chat/completions",
            headers=bearer(MASTER_KEY),
            json={"model": "gemini", "messages": [{"role": "user", "content": "hello"}], "stream": True},
        )
        assert route.call_count >= 1, response.text

    # 400 with the error as JSON; on 1.80.10 a 503 carrying it as a stream's error event (MidStreamFallbackError)
    assert response.status_code >= 400, response.text
    assert_reported_as_text(proxy_error_message(response))
