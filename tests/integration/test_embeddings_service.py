"""The embeddings app with the real model and a real Redis."""

from __future__ import annotations

import asyncio
import base64
import re
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from ai_stack.embeddings.app import create_app
from ai_stack.embeddings.model import Encoder
from ai_stack.embeddings.settings import EmbeddingsSettings
from aiohttp.test_utils import TestClient
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import CollectorRegistry

from tests.harness.processes import RedisServer

pytestmark = pytest.mark.slow

TEXTS = [
    "How do I enable the OpenSSH daemon on NixOS?",
    "PostgreSQL VACUUM reclaims storage occupied by dead tuples.",
    "def add(a, b):\n    return a + b",
    "Qdrant stores vectors with payloads and supports filtered search.",
    "",
]


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=1, keepdims=True).clip(1e-12)
    b = b / np.linalg.norm(b, axis=1, keepdims=True).clip(1e-12)
    return np.sum(a * b, axis=1)


def metric(text: str, name: str, labels: str = "") -> float:
    pattern = re.escape(name + (("{" + labels + "}") if labels else "")) + r" ([0-9.e+-]+)"
    match = re.search(pattern, text)
    if match is None:
        raise AssertionError(f"metric {name}{{{labels}}} is not exported")
    return float(match.group(1))


ClientFactory = Callable[..., Any]


class HeldEncoder:
    """The real encoder, but each encode waits until the test opens `gate`."""

    def __init__(self, encoder: Encoder, gate: threading.Event) -> None:
        self.name, self.dimension, self.max_seq_length = (
            encoder.name,
            encoder.dimension,
            encoder.max_seq_length,
        )
        self.count_tokens = encoder.count_tokens
        self._encoder = encoder
        self._gate = gate
        self.batches: list[list[str]] = []

    def encode(self, texts: list[str]) -> np.ndarray:
        self._gate.wait(10)
        self.batches.append(list(texts))
        return self._encoder.encode(texts)


@pytest.fixture
def make_client(aiohttp_client: Any, encoder: Encoder, redis_server: RedisServer) -> ClientFactory:
    async def factory(load: Any = None, **overrides: Any) -> TestClient:
        overrides.setdefault("redis_url", redis_server.url)
        settings = EmbeddingsSettings(**overrides)
        app = create_app(settings, load=load or (lambda: encoder), registry=CollectorRegistry())
        client: TestClient = await aiohttp_client(app)
        for _ in range(100):
            if (await client.get("/health/ready")).status == 200:
                return client
            await asyncio.sleep(0.05)
        raise TimeoutError("embeddings app never became ready")

    return factory


async def test_embed_matches_in_process_encode(make_client: ClientFactory, reference_model: Any) -> None:
    client = await make_client()
    response = await client.post("/embed", json={"inputs": TEXTS})
    assert response.status == 200
    served = np.array(await response.json(), dtype=np.float32)
    reference = reference_model.encode(TEXTS, normalize_embeddings=True)
    assert served.shape == (len(TEXTS), 384)
    assert cosine(served, reference).min() >= 0.9999
    np.testing.assert_allclose(np.linalg.norm(served, axis=1), 1.0, atol=1e-5)


async def test_single_string_and_unnormalised(make_client: ClientFactory, reference_model: Any) -> None:
    client = await make_client()
    body = await (await client.post("/embed", json={"inputs": TEXTS[0], "normalize": False})).json()
    reference = reference_model.encode([TEXTS[0]], normalize_embeddings=False)
    np.testing.assert_allclose(np.array(body), reference, rtol=1e-4, atol=1e-5)


async def test_openai_endpoint_float_and_base64(make_client: ClientFactory, reference_model: Any) -> None:
    client = await make_client()
    floats = await (await client.post("/v1/embeddings", json={"input": TEXTS[:3], "model": "x"})).json()
    packed = await (
        await client.post("/v1/embeddings", json={"input": TEXTS[:3], "encoding_format": "base64"})
    ).json()
    reference = reference_model.encode(TEXTS[:3], normalize_embeddings=True)
    as_floats = np.array([item["embedding"] for item in floats["data"]])
    as_base64 = np.array(
        [np.frombuffer(base64.b64decode(i["embedding"]), dtype="<f4") for i in packed["data"]]
    )
    assert cosine(as_floats, reference).min() >= 0.9999
    np.testing.assert_allclose(as_base64, as_floats, atol=1e-6)
    assert [item["index"] for item in floats["data"]] == [0, 1, 2]
    assert floats["model"] == "sentence-transformers/all-MiniLM-L6-v2"
    expected_tokens = sum(len(ids) for ids in reference_model.tokenizer(TEXTS[:3])["input_ids"])
    assert floats["usage"]["prompt_tokens"] == expected_tokens


async def test_info(make_client: ClientFactory) -> None:
    client = await make_client()
    info = await (await client.get("/info")).json()
    assert info["dimension"] == 384 and info["max_sequence_length"] == 256


async def test_limits(make_client: ClientFactory) -> None:
    client = await make_client(max_inputs_per_request=4, max_chars_per_input=50, max_queue_texts=16)
    too_many = await client.post("/embed", json={"inputs": ["a"] * 5})
    assert too_many.status == 413
    assert "at most 4" in (await too_many.json())["error"]["message"]
    too_long = await client.post("/embed", json={"inputs": ["x" * 51]})
    assert too_long.status == 413
    cut = await client.post("/embed", json={"inputs": ["x" * 51], "truncate": True})
    assert cut.status == 200
    empty = await client.post("/embed", json={"inputs": []})
    assert empty.status == 422
    assert (await empty.json())["error"]["code"] == "empty_input"
    wrong = await client.post("/embed", json={"inputs": [1, 2]})
    assert wrong.status == 422
    unknown = await client.post("/embed", json={"inputs": "a", "colour": "red"})
    assert unknown.status == 422


async def test_token_overflow_needs_truncate(make_client: ClientFactory) -> None:
    client = await make_client()
    long_text = "word " * 400
    refused = await client.post("/embed", json={"inputs": [long_text]})
    assert refused.status == 413
    assert "tokens" in (await refused.json())["error"]["message"]
    assert (await client.post("/embed", json={"inputs": [long_text], "truncate": True})).status == 200


async def test_bulk_priority_waits_for_interactive_requests(
    make_client: ClientFactory, encoder: Encoder, reference_model: Any
) -> None:
    gate = threading.Event()
    held = HeldEncoder(encoder, gate)
    client = await make_client(load=lambda: held, bulk_batch_size=2, cache_ttl_s=0, model_workers=1)
    busy = asyncio.create_task(client.post("/embed", json={"inputs": ["keeps the only worker busy"]}))
    await asyncio.sleep(0.3)
    bulk_texts = [f"chunk {i} of a large document" for i in range(6)]
    bulk = asyncio.create_task(client.post("/embed", json={"inputs": bulk_texts, "priority": "bulk"}))
    await asyncio.sleep(0.3)
    query = asyncio.create_task(client.post("/embed", json={"inputs": ["a search query"]}))
    await asyncio.sleep(0.3)
    gate.set()
    answers = [await task for task in (busy, bulk, query)]
    assert [a.status for a in answers] == [200, 200, 200]
    # The query, queued last, was encoded before any of the bulk texts, which went two at a time.
    assert held.batches[1] == ["a search query"]
    assert held.batches[2:] == [bulk_texts[i : i + 2] for i in range(0, 6, 2)]
    served = np.array(await answers[1].json(), dtype=np.float32)
    assert cosine(served, reference_model.encode(bulk_texts, normalize_embeddings=True)).min() >= 0.9999

    wrong = await client.post("/embed", json={"inputs": ["x"], "priority": "urgent"})
    assert wrong.status == 422
    assert "priority" in (await wrong.text())


KEY_A = {"X-AI-Key-Id": "key-a", "X-AI-Scopes": "read", "X-AI-Projects": "*"}


async def test_a_keys_large_request_waits_behind_queries_as_bulk_work(
    make_client: ClientFactory, encoder: Encoder
) -> None:
    gate = threading.Event()
    held = HeldEncoder(encoder, gate)
    client = await make_client(
        load=lambda: held, bulk_batch_size=2, cache_ttl_s=0, model_workers=1, key_interactive_max_texts=3
    )
    busy = asyncio.create_task(client.post("/embed", json={"inputs": ["keeps the only worker busy"]}))
    await asyncio.sleep(0.3)
    flood = [f"key A's text {i}" for i in range(4)]  # above 3: bulk, although it asked for nothing
    large = asyncio.create_task(client.post("/embed", json={"inputs": flood}, headers=KEY_A))
    small = asyncio.create_task(client.post("/embed", json={"inputs": ["key A's query"]}, headers=KEY_A))
    await asyncio.sleep(0.3)
    query = asyncio.create_task(client.post("/embed", json={"inputs": ["the stack's query"]}))
    await asyncio.sleep(0.3)
    gate.set()
    answers = [await task for task in (busy, large, small, query)]
    assert [a.status for a in answers] == [200] * 4
    assert held.batches[1] == ["key A's query", "the stack's query"]
    assert held.batches[2:] == [flood[0:2], flood[2:4]]


async def test_a_keys_texts_per_minute_quota(make_client: ClientFactory) -> None:
    client = await make_client(key_texts_per_minute=5, cache_ttl_s=0, max_chars_per_input=100)
    too_long = await client.post("/embed", json={"inputs": ["x" * 101] * 5}, headers=KEY_A)
    assert too_long.status == 413  # refused input costs no quota:
    assert (await client.post("/embed", json={"inputs": ["a", "b", "c"]}, headers=KEY_A)).status == 200
    refused = await client.post("/embed", json={"inputs": ["d", "e", "f"]}, headers=KEY_A)
    assert refused.status == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert "quota" in (await refused.json())["error"]["message"]
    too_many = await client.post(
        "/v1/embeddings", json={"input": ["x"] * 6}, headers={**KEY_A, "X-AI-Key-Id": "b"}
    )
    assert too_many.status == 413 and (await too_many.json())["error"]["code"] == "over_quota"
    other = {**KEY_A, "X-AI-Key-Id": "key-b"}
    assert (await client.post("/embed", json={"inputs": ["d", "e", "f"]}, headers=other)).status == 200
    assert (await client.post("/embed", json={"inputs": ["d", "e", "f"] * 3})).status == 200  # the stack


async def test_full_queue_answers_503_with_retry_after(make_client: ClientFactory, encoder: Encoder) -> None:
    gate = threading.Event()
    held = HeldEncoder(encoder, gate)

    client = await make_client(
        load=lambda: held,
        max_queue_texts=8,
        max_inputs_per_request=8,
        max_batch_size=4,
        cache_ttl_s=0,
        model_workers=1,
    )
    inflight = [
        asyncio.create_task(client.post("/embed", json={"inputs": [f"q{i}-{j}" for j in range(4)]}))
        for i in range(3)
    ]
    await asyncio.sleep(0.3)
    refused = await client.post("/embed", json={"inputs": ["one more", "and another"]})
    assert refused.status == 503
    assert refused.headers["Retry-After"]
    assert (await refused.json())["error"]["code"] == "overloaded"
    metrics = await (await client.get("/metrics")).text()
    # What the saturation alert reads: the refusal, by the lane that was full.
    assert 'embeddings_queue_rejections_total{lane="interactive"} 1.0' in metrics
    assert 'embeddings_queue_rejections_total{lane="bulk"} 0.0' in metrics
    assert "embeddings_queue_capacity_texts 8.0" in metrics
    gate.set()
    statuses = [(await task).status for task in inflight]
    assert statuses == [200, 200, 200]


async def test_repeat_is_a_cache_hit(make_client: ClientFactory) -> None:
    client = await make_client()
    text = f"cache probe {np.random.default_rng().integers(1 << 62)}"
    first = await (await client.post("/embed", json={"inputs": [text]})).json()
    metrics = await (await client.get("/metrics")).text()
    assert metric(metrics, "embeddings_cache_hits_total") == 0
    second = await (await client.post("/embed", json={"inputs": [text]})).json()
    metrics = await (await client.get("/metrics")).text()
    assert metric(metrics, "embeddings_cache_hits_total") == 1
    assert metric(metrics, "embeddings_cache_misses_total") == 1
    np.testing.assert_allclose(first, second)


async def test_a_text_repeated_in_one_request_is_computed_once(make_client: ClientFactory) -> None:
    client = await make_client()
    probe = np.random.default_rng().integers(1 << 62)
    footer, other = f"page footer {probe}", f"a paragraph {probe}"
    response = await client.post("/embed", json={"inputs": [footer, other, footer, footer]})
    vectors = np.array(await response.json())
    metrics = await (await client.get("/metrics")).text()
    assert metric(metrics, "embeddings_cache_misses_total") == 2  # two distinct texts reached the model
    assert metric(metrics, "embeddings_cache_hits_total") == 2
    np.testing.assert_array_equal(vectors[0], vectors[2])
    np.testing.assert_array_equal(vectors[0], vectors[3])
    assert cosine(vectors[:1], vectors[1:2])[0] < 0.99
    alone = np.array(await (await client.post("/embed", json={"inputs": [other]})).json())
    np.testing.assert_allclose(alone[0], vectors[1], atol=1e-6)


async def test_redis_outage_degrades_and_recovers(
    make_client: ClientFactory, tmp_path_factory: pytest.TempPathFactory
) -> None:
    redis = RedisServer(tmp_path_factory.mktemp("redis-outage"))
    redis.start()
    try:
        client = await make_client(
            redis_url=redis.url, breaker_failure_threshold=2, breaker_reset_s=0.5, dependency_timeout_s=0.5
        )
        assert (await client.post("/embed", json={"inputs": ["before outage"]})).status == 200
        redis.stop()
        for i in range(3):
            response = await client.post("/embed", json={"inputs": [f"during outage {i}"]})
            assert response.status == 200
        metrics = await (await client.get("/metrics")).text()
        assert metric(metrics, "embeddings_circuit_breaker_state", 'dependency="redis"') == 2
        ready = await (await client.get("/health/ready")).json()
        assert ready["status"] == "ready"  # Redis is optional: degraded, not down
        assert ready["dependencies"]["redis"]["state"] == "down"
        redis.start()
        await asyncio.sleep(0.6)
        assert (await client.post("/embed", json={"inputs": ["after outage"]})).status == 200
        metrics = await (await client.get("/metrics")).text()
        assert metric(metrics, "embeddings_circuit_breaker_state", 'dependency="redis"') == 0
        assert metric(metrics, "embeddings_dependency_up", 'dependency="redis"') == 1
    finally:
        redis.stop()


async def test_ready_is_503_loading_until_the_model_loaded(
    make_client: ClientFactory,
    aiohttp_client: Any,
    encoder: Encoder,
    redis_server: RedisServer,
) -> None:
    gate = threading.Event()

    def slow_load() -> Encoder:
        gate.wait(10)
        return encoder

    app = create_app(
        EmbeddingsSettings(redis_url=redis_server.url), load=slow_load, registry=CollectorRegistry()
    )
    client = await aiohttp_client(app)
    loading = await client.get("/health/ready")
    assert loading.status == 503
    assert (await loading.json())["status"] == "loading"
    busy = await client.post("/embed", json={"inputs": "x"})
    assert busy.status == 503 and busy.headers["Retry-After"]
    gate.set()
    for _ in range(100):
        if (await client.get("/health/ready")).status == 200:
            break
        await asyncio.sleep(0.05)
    assert (await client.post("/embed", json={"inputs": "x"})).status == 200


async def test_trace_context_is_continued(
    aiohttp_client: Any, encoder: Encoder, redis_server: RedisServer
) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    app = create_app(
        EmbeddingsSettings(redis_url=redis_server.url),
        load=lambda: encoder,
        registry=CollectorRegistry(),
        tracer_provider=provider,
    )
    client = await aiohttp_client(app)
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    headers = {"traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"}
    response = await client.post("/embed", json={"inputs": "traced"}, headers=headers)
    assert response.status == 200
    spans = exporter.get_finished_spans()
    assert spans, "no server span was recorded"
    server = [span for span in spans if span.name == "POST /embed"]
    assert len(server) == 1
    assert format(server[0].context.trace_id, "032x") == trace_id
    assert server[0].parent is not None and format(server[0].parent.span_id, "016x") == "00f067aa0ba902b7"
    assert server[0].attributes is not None and server[0].attributes["http.response.status_code"] == 200


async def test_health_answers_while_the_model_is_busy(make_client: ClientFactory, encoder: Encoder) -> None:
    gate = threading.Event()
    held = HeldEncoder(encoder, gate)

    client = await make_client(load=lambda: held, cache_ttl_s=0)
    busy = asyncio.create_task(client.post("/embed", json={"inputs": ["x" * 20_000], "truncate": True}))
    await asyncio.sleep(0.2)
    assert not busy.done()
    live = await asyncio.wait_for(client.get("/health/live"), timeout=2)
    metrics = await asyncio.wait_for(client.get("/metrics"), timeout=2)
    assert live.status == 200 and metrics.status == 200
    assert "embeddings_queue_depth" in await metrics.text()
    gate.set()
    assert (await busy).status == 200
