"""hybrid-coordinator over the real aidb (PostgreSQL, embedded engine), the real model behind the
embeddings app, and Redis: memories dedup, merge and supersede; augment packs cited context into
a budget; each degraded path answers."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio
from ai_stack.aidb.app import create_app as create_aidb
from ai_stack.embeddings.app import create_app as create_embeddings
from ai_stack.embeddings.model import Encoder
from ai_stack.embeddings.settings import EmbeddingsSettings
from ai_stack.hybrid.app import create_app as create_hybrid
from ai_stack.hybrid.keys import USEFULNESS_KEY
from ai_stack.hybrid.settings import HybridSettings
from ai_stack.text.model_files import DEFAULT_MODEL
from ai_stack.text.tokenizer import TokenCounter
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import CollectorRegistry

from tests.harness.chat import ScriptedChat
from tests.harness.databases import fresh_database
from tests.harness.processes import PostgresServer, RedisServer, close_within, free_port
from tests.integration.test_aidb_documents import private_settings

pytestmark = pytest.mark.slow


@dataclass
class Hybrid:
    client: TestClient
    aidb: TestServer
    embeddings: TestServer
    chat: ScriptedChat
    chat_server: TestServer

    async def post(self, path: str, body: dict[str, Any], status: int | tuple[int, ...] = (200, 201)) -> Any:
        response = await self.client.post(path, json=body)
        expected = status if isinstance(status, tuple) else (status,)
        assert response.status in expected, await response.text()
        return await response.json()

    async def remember(self, content: str, **extra: Any) -> dict[str, Any]:
        return dict(await self.post("/memories", {"content": content, "project": "demo", **extra}))

    async def indexed(self, timeout_s: float = 60) -> None:
        """Waits until aidb's outbox is empty (memories are searchable once indexed)."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        while True:
            async with self.client.session.get(self.aidb.make_url("/index/status")) as response:
                if (await response.json())["outbox"]["pending"] == 0:
                    return
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError("aidb's outbox never drained")
            await asyncio.sleep(0.05)


@pytest.fixture
async def hybrid(
    aiohttp_client: Any,
    postgres_server: PostgresServer,
    redis_server: RedisServer,
    encoder: Encoder,
    tmp_path: Path,
) -> AsyncIterator[Hybrid]:
    embeddings_port, aidb_port = free_port(), free_port()
    embeddings = TestServer(
        create_embeddings(
            EmbeddingsSettings(redis_url=redis_server.url), load=lambda: encoder, registry=CollectorRegistry()
        ),
        port=embeddings_port,
    )
    await embeddings.start_server()
    aidb_settings = private_settings(
        postgres_server,
        redis_server,
        tmp_path,
        await fresh_database(postgres_server),
        embeddings_url=f"http://127.0.0.1:{embeddings_port}",
        indexer_idle_s=0.05,
        indexer_max_backoff_s=0.5,
        dependency_timeout_s=5,
        results_cache_ttl_s=0,
    )
    aidb = TestServer(create_aidb(aidb_settings, registry=CollectorRegistry()), port=aidb_port)
    await aidb.start_server()
    chat = ScriptedChat()
    chat_server = TestServer(chat.app())
    await chat_server.start_server()
    settings = HybridSettings(
        aidb_url=f"http://127.0.0.1:{aidb_port}",
        redis_url=await fresh_redis_db(redis_server, 3),
        breaker_reset_s=0.5,
        chat_url=str(chat_server.make_url("")).rstrip("/"),
    )
    client = await aiohttp_client(create_hybrid(settings, registry=CollectorRegistry()))
    yield Hybrid(client, aidb, embeddings, chat, chat_server)
    for server in (chat_server, aidb, embeddings):
        await close_within(server)


async def fresh_redis_db(server: RedisServer, db: int) -> str:
    """An emptied database of the session's Redis: counters of an earlier test must not leak in."""
    url = server.url.rsplit("/", 1)[0] + f"/{db}"
    client = redis.asyncio.Redis.from_url(url)
    await client.flushdb()
    await client.aclose()
    return url


async def test_stored_memories_come_back_as_cited_context(hybrid: Hybrid) -> None:
    await hybrid.remember(
        "The staging database is PostgreSQL 15 on host db-staging.", kind="fact", source="ops.md"
    )
    await hybrid.remember("Deploys happen on Tuesdays after the standup.", kind="decision")
    await hybrid.indexed()
    answer = await hybrid.post(
        "/augment_query", {"query": "which PostgreSQL version runs on staging?", "project": "demo"}
    )
    assert answer["degraded"] is False
    first = answer["context"][0]
    assert "PostgreSQL 15" in first["snippet"] and first["kind"] == "fact" and first["source"] == "ops.md"
    assert "[1]" in answer["augmented_prompt"] and "PostgreSQL 15" in answer["augmented_prompt"]
    assert answer["context_ids"][0] == first["id"]
    count = TokenCounter.for_model(DEFAULT_MODEL)
    assert answer["token_count"] == count.count_many([answer["augmented_prompt"]])[0]
    assert answer["routing"]["recommendation"] in ("local", "remote") and answer["routing"]["reason"]


async def test_the_budget_is_never_exceeded(hybrid: Hybrid) -> None:
    for i in range(12):
        await hybrid.remember(
            f"Service {i} writes its logs to /var/log/service-{i} and rotates them daily.", kind="fact"
        )
    await hybrid.indexed()
    count = TokenCounter.for_model(DEFAULT_MODEL)
    for budget in (16, 40, 75, 130, 260, 1000):
        answer = await hybrid.post(
            "/augment_query", {"query": "where do services write logs?", "token_budget": budget}
        )
        assert count.count_many([answer["augmented_prompt"]])[0] <= budget
        assert answer["token_count"] <= budget


async def test_an_empty_store_gives_a_clean_prompt(hybrid: Hybrid) -> None:
    answer = await hybrid.post("/augment_query", {"query": "anything at all?"})
    assert answer["context"] == [] and answer["degraded"] is False
    assert "anything at all?" in answer["augmented_prompt"]
    assert answer["routing"]["recommendation"] == "remote"


async def test_duplicates_and_near_duplicates_merge_and_a_changed_detail_supersedes(hybrid: Hybrid) -> None:
    first = await hybrid.remember("The API server listens on port 8080.", kind="fact", source="a")
    again = await hybrid.remember("the api server listens on PORT 8080", kind="fact", source="b")
    assert again == {**again, "id": first["id"], "outcome": "duplicate"}
    await hybrid.indexed()
    merged = await hybrid.remember(
        "Port 8080 is where the API server listens for requests.", kind="fact", source="c"
    )
    assert merged["outcome"] == "merged" and merged["id"] == first["id"]
    assert merged["similarity"] >= 0.75
    stored = await (await hybrid.client.get(f"/memories/{first['id']}")).json()
    assert stored["count"] == 3 and stored["sources"] == ["a", "b", "c"] and stored["current"] is True
    # A fact holds one current value: the newest wording is its text, the earlier one a variant.
    assert stored["content"] == "Port 8080 is where the API server listens for requests."
    assert stored["variants"] == ["The API server listens on port 8080."]
    await hybrid.indexed()
    moved = await hybrid.remember("The API server listens on port 8081.", kind="fact", source="d")
    assert moved["outcome"] == "superseded" and moved["superseded_id"] == first["id"]
    old = await (await hybrid.client.get(f"/memories/{first['id']}")).json()
    assert old["current"] is False and old["superseded_by"] == moved["id"]


async def test_a_merged_note_keeps_its_text_and_the_new_wording_as_a_variant(hybrid: Hybrid) -> None:
    first = await hybrid.remember(
        "Release checklist: tag, build the wheel, upload it, announce it.", kind="note"
    )
    await hybrid.indexed()
    second = await hybrid.remember(
        "The release checklist: tag, build the wheel, upload, then announce.", kind="note"
    )
    assert second["outcome"] == "merged" and second["id"] == first["id"]
    stored = await (await hybrid.client.get(f"/memories/{first['id']}")).json()
    assert stored["content"].startswith("Release checklist: tag")
    assert stored["variants"] == ["The release checklist: tag, build the wheel, upload, then announce."]


async def test_a_changed_detail_of_a_note_is_a_memory_of_its_own(hybrid: Hybrid) -> None:
    first = await hybrid.remember(
        "Fix for port 3000 in use: kill the stale dev server.", kind="error_solution"
    )
    await hybrid.indexed()
    second = await hybrid.remember(
        "Fix for port 3000 in use: start the dev server on port 3001.", kind="error_solution"
    )
    assert second["outcome"] == "created" and second["id"] != first["id"]
    both = await (await hybrid.client.get("/memories?project=demo&kind=error_solution")).json()
    assert len(both["memories"]) == 2 and all(m["current"] for m in both["memories"])


async def test_a_superseded_memory_is_history_but_true_as_of_before(hybrid: Hybrid) -> None:
    old = await hybrid.remember("CI runs on Jenkins.", kind="fact")
    await hybrid.indexed()
    before_change = dt.datetime.now(dt.UTC)
    await asyncio.sleep(0.05)
    response = await hybrid.client.put(
        f"/memories/{old['id']}", json={"content": "CI runs on GitHub Actions."}
    )
    assert response.status == 201
    new = await response.json()
    assert new["outcome"] == "superseded" and new["id"] != old["id"]
    await hybrid.indexed()

    async def found(**extra: Any) -> list[str]:
        answer = await hybrid.post(
            "/memories/search", {"query": "where does CI run", "project": "demo", **extra}
        )
        return [m["content"] for m in answer["memories"]]

    assert await found() == ["CI runs on GitHub Actions."]
    assert await found(as_of=before_change.isoformat()) == ["CI runs on Jenkins."]
    assert set(await found(include_history=True)) == {"CI runs on Jenkins.", "CI runs on GitHub Actions."}
    history = await (await hybrid.client.get(f"/memories/{old['id']}")).json()
    assert history["current"] is False and history["superseded_by"] == new["id"] and history["valid_to"]
    augment = await hybrid.post("/augment_query", {"query": "where does CI run", "project": "demo"})
    assert all("Jenkins" not in item["snippet"] for item in augment["context"])


async def test_memories_with_the_same_words_are_each_found(hybrid: Hybrid) -> None:
    """aidb shows a text once per project; a memory search still returns every memory record."""
    fact = await hybrid.remember("Deploys to staging need the office VPN.", kind="fact")
    preference = await hybrid.remember("Deploys to staging need the office VPN.", kind="preference")
    assert fact["id"] != preference["id"]
    await hybrid.indexed()
    answer = await hybrid.post("/memories/search", {"query": "staging deploys VPN", "project": "demo"})
    assert {m["id"] for m in answer["memories"]} == {fact["id"], preference["id"]}


async def test_memories_are_listed_got_and_forgotten(hybrid: Hybrid) -> None:
    a = await hybrid.remember("Use ruff for linting.", kind="preference", tags=["tooling"])
    await hybrid.remember("Release notes live in CHANGES.md.", kind="fact")
    listing = await (await hybrid.client.get("/memories?project=demo&kind=preference")).json()
    assert [m["id"] for m in listing["memories"]] == [a["id"]]
    tagged = await (await hybrid.client.get("/memories?project=demo&tag=tooling")).json()
    assert [m["content"] for m in tagged["memories"]] == ["Use ruff for linting."]
    hour = dt.timedelta(hours=1)
    now = dt.datetime.now(dt.UTC)
    recent = await hybrid.client.get(
        "/memories", params={"project": "demo", "seen_since": (now - hour).isoformat()}
    )
    assert len((await recent.json())["memories"]) == 2
    later = await hybrid.client.get(
        "/memories", params={"project": "demo", "seen_since": (now + hour).isoformat()}
    )
    assert (await later.json())["memories"] == []
    earlier = await hybrid.client.get(
        "/memories", params={"project": "demo", "seen_before": (now - hour).isoformat()}
    )
    assert (await earlier.json())["memories"] == []
    assert (await hybrid.client.delete(f"/memories/{a['id']}")).status == 200
    assert (await hybrid.client.get(f"/memories/{a['id']}")).status == 404
    assert (await hybrid.client.get("/memories/not-a-uuid")).status == 404


async def test_aidb_down_gives_the_bare_prompt_and_writes_are_503(hybrid: Hybrid) -> None:
    await hybrid.aidb.close()
    answer = await hybrid.post("/augment_query", {"query": "is anything known?"})
    assert answer["degraded"] is True and "aidb unavailable" in answer["reason"]
    assert answer["context"] == [] and "is anything known?" in answer["augmented_prompt"]
    response = await hybrid.client.post("/memories", json={"content": "x", "project": "demo"})
    assert response.status == 503 and "Retry-After" in response.headers


async def test_embeddings_down_gives_keyword_context_still_budgeted(hybrid: Hybrid) -> None:
    await hybrid.remember("The nightly backup job writes to the bucket ai-backups.", kind="fact")
    await hybrid.indexed()
    await hybrid.embeddings.close()
    answer = await hybrid.post("/augment_query", {"query": "nightly backup bucket", "token_budget": 60})
    assert answer["degraded"] is True and "keyword" in answer["reason"]
    assert "ai-backups" in answer["augmented_prompt"] and answer["token_count"] <= 60


async def test_a_session_never_repeats_an_item(hybrid: Hybrid) -> None:
    for i in range(6):
        await hybrid.remember(
            f"Runbook step {i}: restart the queue worker number {i} after a deploy.", kind="note"
        )
    await hybrid.indexed()
    turn = {
        "query": "how do I restart the queue workers after a deploy?",
        "project": "demo",
        "max_tokens": 80,
    }
    first = await hybrid.post("/context/multi_turn", turn)
    assert first["turn_number"] == 1 and first["context_ids"]
    second = await hybrid.post("/context/multi_turn", {**turn, "session_id": first["session_id"]})
    assert second["turn_number"] == 2 and second["session_id"] == first["session_id"]
    assert second["context_ids"] and not set(first["context_ids"]) & set(second["context_ids"])
    session = await (await hybrid.client.get(f"/session/{first['session_id']}")).json()
    assert [t["context_ids"] for t in session["turns"]] == [first["context_ids"], second["context_ids"]]
    assert 0 < session["expires_in_s"] <= 3600
    assert (await hybrid.client.delete(f"/session/{first['session_id']}")).status == 200
    assert (await hybrid.client.get(f"/session/{first['session_id']}")).status == 404
    unknown = await hybrid.client.post("/context/multi_turn", json={**turn, "session_id": "0" * 32})
    assert unknown.status == 404


async def test_redis_down_makes_sessions_503_and_augment_still_answers(
    hybrid: Hybrid, aiohttp_client: Any, tmp_path: Path
) -> None:
    (tmp_path / "redis").mkdir()
    redis = RedisServer(tmp_path / "redis")
    redis.start()
    settings = HybridSettings(aidb_url=str(hybrid.aidb.make_url("")).rstrip("/"), redis_url=redis.url)
    client = await aiohttp_client(create_hybrid(settings, registry=CollectorRegistry()))
    redis.stop()
    response = await client.post("/context/multi_turn", json={"query": "anything?"})
    assert response.status == 503 and int(response.headers["Retry-After"]) >= 1
    assert (await response.json())["error"]["code"] in ("unavailable", "dependency_unavailable")
    assert (await client.post("/augment_query", json={"query": "anything?"})).status == 200


async def test_an_outcome_changes_a_later_ranking(hybrid: Hybrid) -> None:
    redis_cache = await hybrid.remember("For caching, the team picked Redis.", kind="decision")
    memcached = await hybrid.remember("For caching, the team picked Memcached.", kind="note")
    await hybrid.indexed()
    question = {"query": "what did the team pick for caching?", "project": "demo", "sources": ["memories"]}

    async def order() -> list[str]:
        answer = await hybrid.post("/augment_query", question)
        return [i for i in answer["context_ids"] if i in (redis_cache["id"], memcached["id"])]

    before = await order()
    assert set(before) == {redis_cache["id"], memcached["id"]}
    top, other = before
    for _ in range(3):
        for item, outcome in ((top, "failure"), (other, "success")):
            recorded = await hybrid.post(
                "/interactions",
                {"query": "q", "response": "r", "project": "demo", "context_ids": [item]},
                201,
            )
            done = await hybrid.post(f"/interactions/{recorded['id']}/outcome", {"outcome": outcome}, 200)
            assert done["items_updated"] == 1
    assert await order() == [other, top]


async def test_recording_an_outcome_again_replaces_it(hybrid: Hybrid) -> None:
    memory = await hybrid.remember("Builds run with make -j4.", kind="fact")
    recorded = await hybrid.post(
        "/interactions", {"query": "q", "response": "r", "context_ids": [memory["id"]]}, 201
    )
    path = f"/interactions/{recorded['id']}/outcome"
    assert (await hybrid.post(path, {"outcome": "failure"}))["value"] == 0.0
    again = await hybrid.post(path, {"outcome": "success", "feedback": 1.0})
    assert again["value"] == 1.0
    counters = await hybrid.client.app[USEFULNESS_KEY].factors([memory["id"]])
    assert counters[memory["id"]] == pytest.approx(0.5 + 3 / 5)  # one outcome of value 1, not two
    missing = await hybrid.client.post(f"/interactions/{memory['id']}/outcome", json={"outcome": "success"})
    assert missing.status == 404  # a memory is not an interaction


async def interaction(hybrid: Hybrid, query: str, response: str, project: str = "demo") -> str:
    body = {"query": query, "response": response, "project": project, "model": "m", "tokens_used": 10}
    return str((await hybrid.post("/interactions", body, 201))["id"])


async def test_a_valuable_success_is_learned_once_deterministically_when_the_chat_misbehaves(
    hybrid: Hybrid,
) -> None:
    hybrid.chat.replies.extend(["Sure! Here is what I learned: it was great.", "{not json"])
    asked = await interaction(
        hybrid,
        "pytest fails with ImportError: cannot import name 'soft_unicode' from 'markupsafe'",
        "Pin markupsafe to 2.0.1. Newer versions removed soft_unicode. Then reinstall jinja2.",
    )
    outcome = await hybrid.post(f"/interactions/{asked}/outcome", {"outcome": "success", "feedback": 1})
    assert len(hybrid.chat.requests) == 2  # bounded: two malformed answers, then no more calls
    [learned] = outcome["learned"]
    assert learned["outcome"] == "created"
    memory = await (await hybrid.client.get(f"/memories/{learned['id']}")).json()
    assert memory["kind"] == "error_solution" and memory["tags"] == ["learned"]
    assert memory["sources"] == [f"interaction:{asked}"] and "Pin markupsafe to 2.0.1" in memory["content"]
    again = await hybrid.post(f"/interactions/{asked}/outcome", {"outcome": "success", "feedback": 1})
    assert again["learned"] == []
    stats = await (await hybrid.client.get("/learning/stats")).json()
    assert stats["interactions"] == 1 and stats["outcomes"] == {"success": 1}
    assert stats["learned"] == {"created": 1} and stats["extraction"] == {"deterministic": 1}
    assert stats["success_rate"] == 1.0


async def test_the_chat_endpoints_memory_is_used_and_low_value_is_not_learned(hybrid: Hybrid) -> None:
    hybrid.chat.replies.append(
        '{"kind": "pattern", "content": "Run database migrations before the app starts."}'
    )
    asked = await interaction(hybrid, "how should the deploy order migrations?", "Migrate first, then start.")
    outcome = await hybrid.post(f"/interactions/{asked}/outcome", {"outcome": "success"})
    memory = await (await hybrid.client.get(f"/memories/{outcome['learned'][0]['id']}")).json()
    assert (
        memory["content"] == "Run database migrations before the app starts." and memory["kind"] == "pattern"
    )
    weak = await interaction(hybrid, "what colour is the logo?", "Blue, probably.")
    assert (await hybrid.post(f"/interactions/{weak}/outcome", {"outcome": "partial"}))["learned"] == []
    assert len(hybrid.chat.requests) == 1


async def test_a_chat_endpoint_that_is_down_falls_back(hybrid: Hybrid) -> None:
    await hybrid.chat_server.close()
    asked = await interaction(hybrid, "how do I speed up the test suite?", "Run it with -n auto via xdist.")
    outcome = await hybrid.post(f"/interactions/{asked}/outcome", {"outcome": "success"})
    memory = await (await hybrid.client.get(f"/memories/{outcome['learned'][0]['id']}")).json()
    assert memory["kind"] == "pattern" and "xdist" in memory["content"]


async def test_the_export_is_chat_jsonl_of_valuable_successes_only(hybrid: Hybrid) -> None:
    good = await interaction(hybrid, "how to rotate the API key?", "Run ai-stack keys rotate.")
    await interaction(hybrid, "unanswered question", "no outcome yet")
    bad = await interaction(hybrid, "why is it slow?", "No idea.")
    other = await interaction(hybrid, "other project question", "other answer", project="elsewhere")
    await hybrid.post(f"/interactions/{good}/outcome", {"outcome": "success"})
    await hybrid.post(f"/interactions/{bad}/outcome", {"outcome": "failure"})
    await hybrid.post(f"/interactions/{other}/outcome", {"outcome": "success"})
    response = await hybrid.client.post("/learning/export", json={"project": "demo"})
    assert response.status == 200 and response.headers["Content-Type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in (await response.text()).splitlines()]
    assert lines == [
        {
            "messages": [
                {"role": "user", "content": "how to rotate the API key?"},
                {"role": "assistant", "content": "Run ai-stack keys rotate."},
            ]
        }
    ]
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()
    empty = await hybrid.client.post("/learning/export", json={"since": later})
    assert (await empty.text()) == ""


async def test_documentation_reaches_a_projects_context(hybrid: Hybrid) -> None:
    """docs-search's sections (project = their source) are context for any project's question."""
    aidb = hybrid.client.session
    async with aidb.post(hybrid.aidb.make_url("/collections"), json={"name": "docs"}) as response:
        assert response.status in (201, 409)
    section = {
        "collection": "docs",
        "project": "postgresql",
        "path": "sql-vacuum.html#synopsis",
        "content": "VACUUM FULL rewrites the whole table into a new disk file and needs an exclusive lock.",
    }
    async with aidb.post(hybrid.aidb.make_url("/documents"), json=section) as response:
        assert response.status in (200, 201, 202), await response.text()
    await hybrid.remember("Team demo runs VACUUM FULL only in the Sunday maintenance window.", kind="fact")
    await hybrid.indexed()
    answer = await hybrid.post(
        "/augment_query",
        {"query": "what lock does VACUUM FULL take?", "project": "demo", "token_budget": 400},
    )
    found = {(item["collection"], item["path"]) for item in answer["context"]}
    assert ("docs", "sql-vacuum.html#synopsis") in found, answer["context"]
    assert any(collection == "memories" for collection, _ in found), answer["context"]
