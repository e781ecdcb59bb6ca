"""Scoped keys, per-project access and no way around the gateway, against the real stack:
nginx, the key verifier and every service as separate processes."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import socket
import time
import uuid
from typing import Any

import aiohttp
import pytest
from ai_stack.core.limits import KeyLimits

from tests.integration.conftest import GatewayStack
from tests.integration.test_gateway import tls

pytestmark = pytest.mark.slow
# The verifier re-reads the key file every 0.2 s here; nginx reuses its answer for a key for 1 s,
# which its whole-second clock makes up to 2 s.
RELOAD_S = 2.5


async def request(stack: GatewayStack, method: str, path: str, **kwargs: Any) -> tuple[int, Any, Any]:
    """(status, JSON body or text, headers) through the gateway."""
    async with aiohttp.ClientSession() as session:
        async with session.request(method, stack.https_url + path, ssl=tls(stack), **kwargs) as response:
            text = await response.text()
            try:
                return response.status, json.loads(text), response.headers
            except ValueError:
                return response.status, text, response.headers


async def as_key(stack: GatewayStack, key: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    """(status, answer) of one call through the gateway with `key`."""
    status, answer, _ = await request(stack, method, path, json=body, headers=key_headers(key))
    return status, answer


def key_headers(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def new_key(stack: GatewayStack, name: str, **grants: Any) -> str:
    key, _ = stack.key_store.create(name, **grants)
    await asyncio.sleep(RELOAD_S)
    return key


async def store(stack: GatewayStack, key: str, project: str, path: str, content: str) -> tuple[int, Any]:
    body = {
        "collection": "documents",
        "project": project,
        "path": path,
        "title": path,
        "content": content,
    }
    status, answer, _ = await request(stack, "POST", "/aidb/documents", json=body, headers=key_headers(key))
    return status, answer


async def until_found(stack: GatewayStack, key: str, query: str, wanted: int, **filters: Any) -> list[Any]:
    body = {"query": query, "mode": "keyword", "limit": 50, **filters}
    results: list[Any] = []
    for _ in range(150):
        status, answer, _ = await request(stack, "POST", "/aidb/search", json=body, headers=key_headers(key))
        assert status == 200, answer
        results = answer["results"]
        if len(results) >= wanted:
            return results
        await asyncio.sleep(0.2)
    return results


async def test_a_direct_call_to_any_service_is_refused(
    gateway_stack: GatewayStack,
) -> None:
    async with aiohttp.ClientSession() as session:
        for name, process in gateway_stack.services.items():
            base = f"http://127.0.0.1:{process.port}"
            path = "/mcp" if name == "mcp" else "/openapi.json"
            forged = {
                "X-AI-Key-Id": "x",
                "X-AI-Scopes": "read,write,admin",
                "X-AI-Projects": "*",
            }
            for headers in (
                {},
                forged,
                {"X-AI-Gateway-Secret": "not-the-secret-at-all"},
            ):
                async with session.get(base + path, headers=headers) as response:
                    body = await response.json(content_type=None)
                    assert response.status == 401, (name, body)
                    assert body["error"]["code"] == "gateway_only"
            async with session.get(base + "/metrics") as response:
                assert response.status == 401, name
            async with session.get(base + "/health") as response:  # probes stay key-free
                assert response.status == 200, name
            async with session.get(base + "/metrics", headers=gateway_stack.secret_headers) as response:
                assert response.status == 200, name


async def test_each_scope_opens_only_its_routes(gateway_stack: GatewayStack) -> None:
    reader = await new_key(gateway_stack, "reader", scopes=["read"])
    writer = await new_key(gateway_stack, "writer", scopes=["write"])
    admin = await new_key(gateway_stack, "admin", scopes=["admin"])
    project = f"scopes-{uuid.uuid4().hex[:8]}"
    search = {"query": "anything", "mode": "keyword"}
    cases: list[tuple[str, str, dict[str, Any] | None, dict[str, int]]] = [
        ("POST", "/aidb/search", search, {"reader": 200, "writer": 403, "admin": 403}),
        ("GET", "/aidb/documents", None, {"reader": 200, "writer": 403, "admin": 403}),
        (
            "GET",
            "/aidb/collections",
            None,
            {"reader": 200, "writer": 403, "admin": 403},
        ),
        ("POST", "/aidb/reindex", None, {"reader": 403, "writer": 403}),
        (
            "GET",
            "/aidb/index/status",
            None,
            {"reader": 403, "writer": 403, "admin": 200},
        ),
        ("GET", "/aidb/metrics", None, {"reader": 403, "writer": 403, "admin": 200}),
        (
            "POST",
            "/aidb/collections",
            {"name": f"c{uuid.uuid4().hex[:10]}"},
            {"reader": 403, "writer": 403},
        ),
        ("POST", "/embeddings/embed", {"inputs": "x"}, {"reader": 200, "writer": 403}),
        (
            "POST",
            "/docs/sources",
            {"name": "x", "kind": "markdown", "location": "/nowhere"},
            {"reader": 403, "writer": 403},
        ),
        (
            "POST",
            "/hybrid/memories/search",
            {"query": "x"},
            {"reader": 200, "writer": 403},
        ),
        ("POST", "/hybrid/learning/export", {}, {"reader": 403, "writer": 403}),
    ]
    keys = {"reader": reader, "writer": writer, "admin": admin}
    for method, path, body, expected in cases:
        for who, status in expected.items():
            got, answer, _ = await request(
                gateway_stack, method, path, json=body, headers=key_headers(keys[who])
            )
            assert got == status, (method, path, who, answer)
            if status == 403:
                assert answer["error"]["code"] == "missing_scope"
    # writes need write; deleting too
    status, answer = await store(gateway_stack, reader, project, "r.md", "reader text")
    assert status == 403
    # an update of the key's grants takes effect within seconds, with the same secret
    reader_id = next(k.id for k in gateway_stack.key_store.load() if k.name == "reader")
    gateway_stack.key_store.update(reader_id, scopes=["read", "write"])
    await asyncio.sleep(RELOAD_S)
    status, answer = await store(gateway_stack, reader, project, "r.md", "reader text")
    assert status in (200, 202), answer
    gateway_stack.key_store.update(reader_id, scopes=["read"])
    await asyncio.sleep(RELOAD_S)
    status, answer = await store(gateway_stack, writer, project, "w.md", "writer text")
    assert status in (200, 202), answer
    document_id = answer["id"]
    status, _ = await as_key(gateway_stack, reader, "DELETE", f"/aidb/documents/{document_id}")
    assert status == 403
    status, _ = await as_key(gateway_stack, writer, "DELETE", f"/aidb/documents/{document_id}")
    assert status == 200


async def test_forged_grant_headers_from_a_client_are_dropped(
    gateway_stack: GatewayStack,
) -> None:
    reader = await new_key(gateway_stack, "forger", scopes=["read"], projects=["mine"])
    forged = {
        **key_headers(reader),
        "X-AI-Scopes": "read,write,admin",
        "X-AI-Projects": "*",
        "X-AI-Key-Id": "someone-else",
        "X-AI-Gateway-Secret": "guess-guess-guess-guess",
    }
    status, answer, _ = await request(gateway_stack, "POST", "/aidb/reindex", headers=forged)
    assert status == 403 and answer["error"]["code"] == "missing_scope"
    status, answer, _ = await request(
        gateway_stack,
        "POST",
        "/aidb/search",
        json={"query": "x", "project": "theirs"},
        headers=forged,
    )
    assert status == 403 and answer["error"]["code"] == "project_forbidden"


async def test_a_project_limited_key_sees_and_changes_only_its_projects(
    gateway_stack: GatewayStack,
) -> None:
    tag = uuid.uuid4().hex[:8]
    mine, theirs = f"mine-{tag}", f"theirs-{tag}"
    word = f"zebra{tag}"
    full = gateway_stack.key
    limited = await new_key(gateway_stack, "limited", scopes=["read", "write"], projects=[mine])
    status, own = await store(gateway_stack, limited, mine, "a.md", f"{word} in my project")
    assert status in (200, 202), own
    status, answer = await store(gateway_stack, limited, theirs, "b.md", f"{word} elsewhere")
    assert status == 403 and answer["error"]["code"] == "project_forbidden"
    status, other = await store(gateway_stack, full, theirs, "b.md", f"{word} in their project")
    assert status in (200, 202)

    every = await until_found(gateway_stack, full, word, 2)
    assert {r["project"] for r in every} == {mine, theirs}
    seen = await until_found(gateway_stack, limited, word, 1)
    assert {r["project"] for r in seen} == {mine}
    status, answer = await as_key(
        gateway_stack, limited, "POST", "/aidb/search", {"query": word, "project": theirs}
    )
    assert status == 403
    # the cache of the full key's answer never reaches the limited key
    again = await until_found(gateway_stack, limited, word, 1)
    assert {r["project"] for r in again} == {mine}

    status, _ = await as_key(gateway_stack, limited, "GET", f"/aidb/documents/{other['id']}")
    assert status == 404
    status, _ = await as_key(gateway_stack, limited, "GET", f"/aidb/documents/{own['id']}")
    assert status == 200
    status, listing = await as_key(gateway_stack, limited, "GET", "/aidb/documents?limit=100")
    assert status == 200
    listed = {d["project"] for d in listing["documents"] if d["collection"] != "docs"}
    assert listed == {mine}  # plus the shared collections (docs-search's "docs"), readable by all
    status, _ = await as_key(gateway_stack, limited, "GET", f"/aidb/documents?project={theirs}")
    assert status == 403

    status, _ = await as_key(gateway_stack, limited, "DELETE", f"/aidb/documents/{other['id']}")
    assert status == 404
    status, answer = await as_key(
        gateway_stack,
        limited,
        "POST",
        "/aidb/documents/delete",
        {"collection": "documents", "project": theirs},
    )
    assert status == 403
    bulk = {
        "documents": [
            {"project": mine, "path": "c.md", "title": "c", "content": "ok"},
            {"project": theirs, "path": "d.md", "title": "d", "content": "refused"},
        ]
    }
    status, answer = await as_key(gateway_stack, limited, "POST", "/aidb/documents/bulk", bulk)
    assert status == 200
    assert [item["status"] for item in answer["items"]][1] == 403 and answer["failed"] == 1
    status, _ = await as_key(gateway_stack, full, "GET", f"/aidb/documents/{other['id']}")
    assert status == 200  # still there
    # collection counts cover only what the key may read
    counts = {}
    for who, key in (("limited", limited), ("full", full)):
        status, answer = await as_key(gateway_stack, key, "GET", "/aidb/collections")
        assert status == 200
        counts[who] = {c["name"]: c["documents"] for c in answer["collections"]}
    assert counts["limited"]["documents"] == 2  # a.md and c.md, its own
    assert counts["full"]["documents"] >= 3


async def test_hybrid_and_mcp_act_with_the_callers_grants(
    gateway_stack: GatewayStack,
) -> None:
    tag = uuid.uuid4().hex[:8]
    mine, theirs = f"hmine-{tag}", f"htheirs-{tag}"
    limited = await new_key(gateway_stack, "hybrid-limited", scopes=["read", "write"], projects=[mine])
    word = f"okapi{tag}"
    status, answer = await as_key(
        gateway_stack, limited, "POST", "/hybrid/memories", {"content": f"{word} fact", "project": theirs}
    )
    assert status == 403, answer
    for project, key in ((mine, limited), (theirs, gateway_stack.key)):
        status, answer = await as_key(
            gateway_stack,
            key,
            "POST",
            "/hybrid/memories",
            {"content": f"{word} fact of {project}", "project": project},
        )
        assert status in (200, 201), answer
    found: set[str] = set()
    for _ in range(100):
        status, answer = await as_key(
            gateway_stack, limited, "POST", "/hybrid/memories/search", {"query": f"{word} fact"}
        )
        assert status == 200, answer
        found = {m["project"] for m in answer["memories"]}
        if found:
            break
        await asyncio.sleep(0.2)
    assert found == {mine}, answer

    from tests.integration.test_mcp import failed, http_session

    reader = await new_key(gateway_stack, "mcp-reader", scopes=["read"])
    async with http_session(gateway_stack, reader) as client:
        message = await failed(
            client,
            "store_document",
            collection="documents",
            project="p",
            path="x.md",
            title="x",
            content="y",
        )
        assert "write" in message and "scope" in message
        listed = await client.call_tool("list_collections", {})
        assert not listed.is_error  # the session goes on
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert "search_knowledge" in names and "recall" in names
        assert not names & {"store_document", "delete_document", "remember", "forget", "record_outcome"}
    async with http_session(gateway_stack, gateway_stack.key) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert {"store_document", "remember"} <= names  # a full key sees every tool
    async with http_session(gateway_stack, limited) as client:  # the MCP server acts for the key
        recalled = await client.call_tool("recall", {"query": f"{word} fact"})
        assert not recalled.is_error
        contents = [m["content"] for m in recalled.structured_content["memories"]]
        assert contents and all(mine in c and theirs not in c for c in contents), contents


async def test_rotation_and_revocation_take_effect_within_the_reload_interval(
    gateway_stack: GatewayStack,
) -> None:
    old, stored = gateway_stack.key_store.create("rotating", scopes=["read"])
    await asyncio.sleep(RELOAD_S)
    info = "/embeddings/info"
    assert (await request(gateway_stack, "GET", info, headers=key_headers(old)))[0] == 200
    new, _ = gateway_stack.key_store.rotate(stored.id, dt.timedelta(minutes=5))
    await asyncio.sleep(RELOAD_S)
    assert (await request(gateway_stack, "GET", info, headers=key_headers(new)))[0] == 200
    assert (await request(gateway_stack, "GET", info, headers=key_headers(old)))[0] == 200  # grace
    newer, _ = gateway_stack.key_store.rotate(stored.id, dt.timedelta(0))
    await asyncio.sleep(RELOAD_S)
    assert (await request(gateway_stack, "GET", info, headers=key_headers(new)))[0] == 401
    assert (await request(gateway_stack, "GET", info, headers=key_headers(newer)))[0] == 200
    gateway_stack.key_store.revoke(stored.id)
    await asyncio.sleep(RELOAD_S)
    assert (await request(gateway_stack, "GET", info, headers=key_headers(newer)))[0] == 401


async def test_many_headers_do_not_make_the_verifier_refuse(
    gateway_stack: GatewayStack,
) -> None:
    headers = {
        **key_headers(gateway_stack.key),
        **{f"X-Filler-{i}": "x" * 20 for i in range(150)},
    }
    status, answer, _ = await request(gateway_stack, "GET", "/embeddings/info", headers=headers)
    assert status == 200, answer


def test_nginx_own_errors_are_json_envelopes(gateway_stack: GatewayStack) -> None:
    context = tls(gateway_stack)
    with (
        socket.create_connection(("127.0.0.1", gateway_stack.https_port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as conn,
    ):
        conn.sendall(b"GET /health HTTP/1.1\r\nConnection: close\r\n\r\n")  # no Host: a 400
        reply = b""
        while chunk := conn.recv(65536):
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400")
    assert json.loads(body)["error"]["code"] == "bad_request"


def parsed_lines(text: str) -> list[dict[str, Any]]:
    """JSON log lines; split on newlines only (fuzzed paths hold U+2028 and friends, which
    splitlines() would cut at), and a line nginx is still writing is skipped."""
    lines = []
    for line in text.split("\n"):
        try:
            lines.append(json.loads(line))
        except ValueError:
            continue
    return lines


async def test_the_access_log_names_the_key_id_never_the_key(
    gateway_stack: GatewayStack,
) -> None:
    key, stored = gateway_stack.key_store.create("audited", scopes=["read"])
    await asyncio.sleep(RELOAD_S)
    async with aiohttp.ClientSession() as session:
        url = gateway_stack.https_url + "/embeddings/info"
        async with session.get(url, ssl=tls(gateway_stack), headers={"X-API-Key": key}) as response:
            assert response.status == 200
    log = gateway_stack.nginx_log_dir / "nginx-access.log"
    for _ in range(50):  # nginx flushes its buffered access log every second
        lines = parsed_lines(log.read_text())
        if any(line.get("key_id") == stored.id for line in lines):
            break
        await asyncio.sleep(0.1)
    assert any(line.get("key_id") == stored.id and line["path"] == "/embeddings/info" for line in lines)
    service_log = gateway_stack.services["embeddings"].log_path.read_text()
    assert f'"key_id": "{stored.id}"' in service_log or f'"key_id":"{stored.id}"' in service_log
    assert key not in log.read_text() and key not in service_log


async def test_a_burst_over_the_keys_limits_gets_429_with_retry_after(gateway_stack: GatewayStack) -> None:
    key = await new_key(gateway_stack, "bursty", scopes=["read"], limits=KeyLimits(1, 3, 8))
    answers = await asyncio.gather(
        *(request(gateway_stack, "GET", "/embeddings/info", headers=key_headers(key)) for _ in range(8))
    )
    statuses = sorted(status for status, _, _ in answers)
    assert statuses.count(200) == 3 and statuses.count(429) == 5
    for status, body, headers in answers:
        if status == 429:
            assert body["error"]["code"] == "rate_limited" and body["error"]["request_id"]
            assert int(headers["Retry-After"]) >= 1
    # another key is not affected, and the limited key is served again after Retry-After
    assert (await request(gateway_stack, "GET", "/embeddings/info", headers=key_headers(gateway_stack.key)))[
        0
    ] == 200
    await asyncio.sleep(1.1)
    assert (await request(gateway_stack, "GET", "/embeddings/info", headers=key_headers(key)))[0] == 200


FAIR_P95_S = 1.0  # the bound this test states for key B's search while key A floods /embed


async def test_one_key_flooding_embed_leaves_another_keys_search_fast(gateway_stack: GatewayStack) -> None:
    """Key A sends maximum-size /embed requests (256 long inputs) from 4 connections; key B's
    hybrid search keeps its p95 under FAIR_P95_S and is never degraded to keyword results."""
    flooder = await new_key(gateway_stack, "flooder", scopes=["read"])
    searcher = await new_key(gateway_stack, "searcher", scopes=["read", "write"])
    tag = uuid.uuid4().hex[:8]
    status, _ = await store(
        gateway_stack, searcher, f"fair-{tag}", "wal.md", f"fairness{tag}: write-ahead logging in PostgreSQL"
    )
    assert status in (200, 202)
    await until_found(gateway_stack, searcher, f"fairness{tag}", 1)
    big = {
        "inputs": [f"flood {i} " + "lorem ipsum dolor sit amet " * 70 for i in range(256)],
        "truncate": True,
    }
    stop = asyncio.Event()
    flood_statuses: list[int] = []

    async def flood() -> None:
        async with aiohttp.ClientSession() as session:
            while not stop.is_set():
                async with session.post(
                    gateway_stack.https_url + "/embeddings/embed",
                    json=big,
                    headers=key_headers(flooder),
                    ssl=tls(gateway_stack),
                ) as response:
                    await response.read()
                    flood_statuses.append(response.status)
                    if response.status == 429:
                        await asyncio.sleep(0.2)

    flooders = [asyncio.create_task(flood()) for _ in range(4)]
    await asyncio.sleep(2)  # the flood is under way: the embedding lanes hold key A's texts
    latencies: list[float] = []
    try:
        async with aiohttp.ClientSession() as session:
            for i in range(40):
                body = {"query": f"how does write-ahead logging work, probe {tag} {i}", "mode": "hybrid"}
                started = time.perf_counter()
                async with session.post(
                    gateway_stack.https_url + "/aidb/search",
                    json=body,
                    headers=key_headers(searcher),
                    ssl=tls(gateway_stack),
                ) as response:
                    answer = await response.json()
                latencies.append(time.perf_counter() - started)
                assert response.status == 200, answer
                assert answer["degraded"] is False, answer
                await asyncio.sleep(0.1)
    finally:
        stop.set()
        await asyncio.gather(*flooders, return_exceptions=True)
    latencies.sort()
    p95 = latencies[int(0.95 * len(latencies)) - 1]
    served, refused = flood_statuses.count(200), flood_statuses.count(429)
    print(
        f"fairness: key B p50 {latencies[len(latencies) // 2] * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms;"
        f" key A {served} requests served, {refused} refused (429)"
    )
    assert served > 0  # key A was served, within its quota
    assert p95 < FAIR_P95_S, (p95, latencies, flood_statuses.count(200), flood_statuses.count(429))


async def test_a_session_belongs_to_the_key_that_started_it(gateway_stack: GatewayStack) -> None:
    owner = await new_key(gateway_stack, "session-owner", scopes=["read"])
    other = await new_key(gateway_stack, "session-other", scopes=["read", "write"])
    status, turn = await as_key(
        gateway_stack, owner, "POST", "/hybrid/context/multi_turn", {"query": "what is wal?"}
    )
    assert status == 200, turn
    session_id = turn["session_id"]
    path = f"/hybrid/session/{session_id}"
    for method, body in (("GET", None), ("DELETE", None)):
        status, answer, _ = await request(gateway_stack, method, path, json=body, headers=key_headers(other))
        assert status == 404, answer
    status, _ = await as_key(
        gateway_stack,
        other,
        "POST",
        "/hybrid/context/multi_turn",
        {"query": "and then?", "session_id": session_id},
    )
    assert status == 404
    status, session = await as_key(gateway_stack, owner, "GET", path)
    assert status == 200 and len(session["turns"]) == 1  # the other key changed nothing
    assert (await request(gateway_stack, "DELETE", path, headers=key_headers(owner)))[0] == 200
