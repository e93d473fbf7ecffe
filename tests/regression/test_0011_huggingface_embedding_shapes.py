"""Patch 0011: Hugging Face embeddings come back OpenAI-shaped, one vector per input, whatever shape
the HF inference API answered with; a bare-string ``input`` is one input.

Goes through ``litellm.embedding`` / ``litellm.aembedding`` and LiteLLM's real HF handler; only the HF
HTTP (model-info lookup on the Hub and the inference call) is mocked with respx.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import respx
from _support import run

# LiteLLM's own warnings are not under test; the project's `filterwarnings = error` would turn them
# into exceptions inside LiteLLM's request handling.
pytestmark = [pytest.mark.patch("0011"), pytest.mark.filterwarnings("ignore")]


MODEL = "BAAI/bge-small-en-v1.5"


def _embed(body: Any, inputs: Any, *, task: str = "feature-extraction", use_async: bool = False):
    """Call LiteLLM with HF answering ``body``; return (response, JSON body LiteLLM sent to HF)."""
    import litellm

    with respx.mock(assert_all_mocked=True, assert_all_called=False) as mock:
        mock.get(f"https://huggingface.co/api/models/{MODEL}").mock(
            return_value=httpx.Response(200, json={"pipeline_tag": task})
        )
        inference = mock.post(f"https://router.huggingface.co/hf-inference/pipeline/{task}/{MODEL}").mock(
            return_value=httpx.Response(200, json=body)
        )
        kwargs = {"model": f"huggingface/{MODEL}", "input": inputs, "api_key": "hf_regression"}
        response = run(litellm.aembedding(**kwargs)) if use_async else litellm.embedding(**kwargs)
        assert inference.call_count == 1
        sent = json.loads(inference.calls.last.request.content)
    return response, sent


def _vectors(response: Any) -> list:
    assert response.object == "list"
    items = [item if isinstance(item, dict) else item.model_dump() for item in response.data]
    assert [item["index"] for item in items] == list(range(len(items)))
    assert all(item["object"] == "embedding" for item in items)
    return [item["embedding"] for item in items]


def test_flat_vector_is_one_embedding() -> None:
    response, sent = _embed([0.1, 0.2, 0.3], ["hello world"])
    assert sent == {"inputs": ["hello world"]}
    assert _vectors(response) == [[0.1, 0.2, 0.3]]

    # A flat list of numbers from a pairwise task (sentence-similarity) stays one score per sentence.
    scores, sent = _embed([0.9, 0.1], ["source", "a", "b"], task="sentence-similarity")
    assert sent == {"inputs": {"source_sentence": "source", "sentences": ["a", "b"]}}
    assert _vectors(scores) == [0.9, 0.1]


def test_bare_string_input_is_one_input() -> None:
    as_list, _ = _embed([[0.5, 0.25]], ["hello world"])
    response, sent = _embed([0.5, 0.25], "hello world")
    assert sent == {"inputs": ["hello world"]}
    assert _vectors(response) == [[0.5, 0.25]]
    # usage counts the tokens of the one string, not of each character
    assert response.usage.prompt_tokens == as_list.usage.prompt_tokens
    assert response.usage.prompt_tokens < len("hello world")


@pytest.mark.defect(raises="APIConnectionError", match="'int' object is not subscriptable")
def test_integer_components_are_accepted() -> None:
    response, _ = _embed([[1, 2, 3], [4, 5.5, 6]], ["a", "b"])
    vectors = _vectors(response)
    assert vectors == [[1.0, 2.0, 3.0], [4.0, 5.5, 6.0]]
    assert all(isinstance(x, float) for vector in vectors for x in vector)


def test_token_level_output_gives_one_vector_per_input() -> None:
    # [batch][tokens][dim] (e.g. a model without pooling): the first token's vector per input,
    # as LiteLLM already took it from the pipeline's [batch][1][tokens][dim] shape.
    token_level = [
        [[0.1, 0.2], [0.5, 0.6], [0.7, 0.8]],
        [[0.3, 0.4], [0.9, 1.0]],
    ]
    response, _ = _embed(token_level, ["a b c", "d e"])
    assert _vectors(response) == [[0.1, 0.2], [0.3, 0.4]]

    # one input, [tokens][dim] without a batch axis
    response, _ = _embed([[0.1, 0.2], [0.5, 0.6], [0.7, 0.8]], ["a b c"])
    assert _vectors(response) == [[0.1, 0.2]]

    # the pipeline's [batch][1][tokens][dim] keeps its previous result
    response, _ = _embed([[[[0.1, 0.2], [0.5, 0.6]]], [[[0.3, 0.4], [0.7, 0.8]]]], ["a b", "c d"])
    assert _vectors(response) == [[0.1, 0.2], [0.3, 0.4]]


def test_dict_bodies_are_read_as_embeddings() -> None:
    response, _ = _embed({"embeddings": [[0.1, 0.2], [0.3, 0.4]]}, ["a", "b"])
    assert _vectors(response) == [[0.1, 0.2], [0.3, 0.4]]

    openai_shaped = {
        "object": "list",
        "data": [
            {"object": "embedding", "index": 1, "embedding": [0.3, 0.4]},
            {"object": "embedding", "index": 0, "embedding": [0.1, 0.2]},
        ],
    }
    response, _ = _embed(openai_shaped, ["a", "b"])
    assert _vectors(response) == [[0.1, 0.2], [0.3, 0.4]]


def test_async_embedding_shapes() -> None:
    response, sent = _embed([0.1, 0.2, 0.3], "hello world", use_async=True)
    assert sent == {"inputs": ["hello world"]}
    assert _vectors(response) == [[0.1, 0.2, 0.3]]

    response, _ = _embed([[[0.1, 0.2], [0.5, 0.6]], [[0.3, 0.4], [0.9, 1.0]]], ["a", "b"], use_async=True)
    assert _vectors(response) == [[0.1, 0.2], [0.3, 0.4]]


@pytest.mark.parametrize("use_async", [pytest.param(False, id="sync"), pytest.param(True, id="async")])
def test_fewer_vectors_than_inputs_fail_clearly(use_async: bool) -> None:
    """A response with fewer vectors than inputs is an error naming both counts, never a shorter list
    that a caller pairing embeddings with inputs by index would silently misalign."""
    import litellm

    bodies = [
        [[0.1, 0.2]],  # one sentence vector for two inputs
        {"embeddings": [[0.1, 0.2]]},
        {"data": [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2]}]},
        [0.1, 0.2],  # a flat vector: one embedding, not one per input
    ]
    for body in bodies:
        with pytest.raises(litellm.exceptions.APIError) as caught:
            _embed(body, ["first input", "second input"], use_async=use_async)
        assert caught.value.status_code == 500, body
        assert "returned 1 embeddings for 2 inputs" in str(caught.value), (body, str(caught.value))
