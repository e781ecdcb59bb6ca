"""docs-search over the real aidb (PostgreSQL, embedded engine), the real model and Redis: sources
sync incrementally, sections are found by hybrid search, options and packages by name, prefix,
placeholder and free text, and name lookups keep answering while the embeddings service is down."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio
from ai_stack.aidb.app import create_app as create_aidb
from ai_stack.docs_search.app import create_app as create_docs
from ai_stack.docs_search.settings import DocsSettings
from ai_stack.embeddings.app import create_app as create_embeddings
from ai_stack.embeddings.model import Encoder
from ai_stack.embeddings.settings import EmbeddingsSettings
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import CollectorRegistry

from tests.harness.databases import fresh_database
from tests.harness.processes import PostgresServer, RedisServer, close_within, free_port
from tests.integration.test_aidb_documents import private_settings
from tests.integration.test_hybrid import fresh_redis_db

pytestmark = pytest.mark.slow

FIXTURES = Path(__file__).parent.parent / "fixtures" / "docs"
PG_HTML = Path("/usr/share/doc/postgresql-doc-15/html")
MAN1 = Path("/usr/share/man/man1")


@dataclass
class Docs:
    client: TestClient
    aidb: TestServer
    embeddings: TestServer
    roots: Path
    redis_url: str

    async def call(
        self, method: str, path: str, body: Any = None, status: int | tuple[int, ...] = 200
    ) -> Any:
        response = await self.client.request(method, path, json=body)
        expected = status if isinstance(status, tuple) else (status,)
        assert response.status in expected, f"{response.status}: {await response.text()}"
        return await response.json()

    async def synced(self, name: str, timeout_s: float = 240) -> dict[str, Any]:
        """The source's status once its sync has ended (ok or failed)."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        while True:
            view = await self.call("GET", f"/sources/{name}")
            if view["status"]["state"] not in ("syncing", "never"):
                return dict(view["status"])
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"sync of {name} did not end: {view['status']}")
            await asyncio.sleep(0.1)

    async def add(self, name: str, kind: str, location: Path) -> dict[str, Any]:
        await self.call(
            "POST",
            "/sources",
            {"name": name, "kind": kind, "location": str(location), "schedule": "manual"},
            201,
        )
        status = await self.synced(name)
        assert status["state"] == "ok", status
        return status

    async def resync(self, name: str) -> dict[str, Any]:
        await self.call("POST", f"/sources/{name}/sync", None, 202)
        status = await self.synced(name)
        assert status["state"] == "ok", status
        return status

    async def indexed(self, timeout_s: float = 240) -> None:
        """Until aidb's outbox is empty: dense vectors exist for everything stored."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        while True:
            async with self.client.session.get(self.aidb.make_url("/index/status")) as response:
                if (await response.json())["outbox"]["pending"] == 0:
                    return
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError("aidb's outbox never drained")
            await asyncio.sleep(0.1)

    async def search(self, query: str, **extra: Any) -> list[dict[str, Any]]:
        answer = await self.call("POST", "/search", {"query": query, **extra})
        return list(answer["results"])

    async def embedded_texts(self) -> float:
        """Texts the model has encoded so far (the sum of the embeddings service's batch sizes)."""
        async with self.client.session.get(self.embeddings.make_url("/metrics")) as response:
            text = await response.text()
        total = 0.0
        for line in text.splitlines():
            if line.startswith("embeddings_batch_size_sum"):
                total += float(line.rsplit(" ", 1)[1])
        return total

    async def bulk_writes(self) -> float:
        """Bulk requests aidb has answered (its Prometheus counter)."""
        async with self.client.session.get(self.aidb.make_url("/metrics")) as response:
            text = await response.text()
        return sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("aidb_http_requests_total") and 'route="/documents/bulk"' in line
        )


@pytest.fixture
async def docs(
    aiohttp_client: Any,
    postgres_server: PostgresServer,
    redis_server: RedisServer,
    encoder: Encoder,
    tmp_path: Path,
) -> AsyncIterator[Docs]:
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
        dependency_timeout_s=10,
        results_cache_ttl_s=0,
        max_bulk_items=200,
        max_document_bytes=1_000_000,
        chunk_max_tokens=256,
        chunk_overlap_tokens=32,
    )
    aidb = TestServer(create_aidb(aidb_settings, registry=CollectorRegistry()), port=aidb_port)
    await aidb.start_server()
    roots = tmp_path / "sources"
    roots.mkdir()
    redis_url = await fresh_redis_db(redis_server, 4)
    settings = DocsSettings(
        aidb_url=f"http://127.0.0.1:{aidb_port}",
        redis_url=redis_url,
        source_roots=[str(roots)],
        breaker_reset_s=0.5,
    )
    client = await aiohttp_client(create_docs(settings, registry=CollectorRegistry(), scheduler=False))
    yield Docs(client, aidb, embeddings, roots, redis_url)
    for server in (aidb, embeddings):
        await close_within(server)


def write(root: Path, relative: str, text: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


GUIDE = """# Deployment guide

Intro to deploying the service.

## Rotating the TLS certificate

Run `certbot renew` and reload nginx; the gateway picks up the new certificate without a restart.

## Backups

The nightly backup job copies the PostgreSQL dump to the bucket named ai-backups.
"""


async def test_a_markdown_tree_syncs_incrementally_and_forgets_what_was_removed(docs: Docs) -> None:
    tree = docs.roots / "guide"
    write(tree, "deploy.md", GUIDE)
    write(tree, "faq.md", "# FAQ\n\n## Why is search slow?\n\nThe first query loads the model.\n")
    first = await docs.add("guide", "markdown", tree)
    assert first["sections"] >= 4 and first["counts"]["added"] == first["sections"]
    await docs.indexed()
    hits = await docs.search("how do I renew the TLS certificate?", sources=["guide"])
    assert hits[0]["heading_path"][-1] == "Rotating the TLS certificate"
    assert hits[0]["url"].startswith("deploy.md#") and hits[0]["source"] == "guide"

    before = await docs.embedded_texts()
    again = await docs.resync("guide")
    assert again["counts"] == {**again["counts"], "added": 0, "updated": 0, "removed": 0}
    assert again["counts"]["unchanged"] == first["sections"]
    await docs.indexed()
    assert await docs.embedded_texts() == before, "an unchanged source must cost no embedding work"

    write(tree, "deploy.md", GUIDE.split("## Backups")[0])
    third = await docs.resync("guide")
    assert third["counts"]["removed"] == 1 and third["sections"] == first["sections"] - 1
    await docs.indexed()
    assert await docs.search("certbot renew", mode="keyword"), "the rest of the page is still found"
    hits = await docs.search("nightly backup bucket ai-backups", mode="keyword")
    assert all("Backups" not in hit["heading_path"] for hit in hits)


async def test_options_are_found_by_name_prefix_placeholder_and_free_text(docs: Docs) -> None:
    location = docs.roots / "options.json"
    shutil.copy(FIXTURES / "options.json", location)
    status = await docs.add("nixos", "nixos-options", location)
    assert status["sections"] >= 200
    exact = await docs.call("POST", "/options/search", {"query": "services.openssh.enable"})
    assert exact["match"] == "exact" and exact["options"][0]["name"] == "services.openssh.enable"
    listed = await docs.call("POST", "/options/search", {"query": "services.nginx.", "limit": 200})
    names = [o["name"] for o in listed["options"]]
    assert listed["match"] == "prefix" and names == sorted(names)
    assert all(n.startswith("services.nginx.") for n in names)
    assert "services.nginx.virtualHosts.<name>.sslCertificate" in names
    detail = await docs.call("GET", "/options/services.nginx.virtualHosts.example.org.root")
    assert detail["name"] == "services.nginx.virtualHosts.<name>.root"
    assert detail["resolved_from"] == "services.nginx.virtualHosts.example.org.root"
    await docs.call("GET", "/options/services.nope.enable", status=404)

    await docs.indexed()
    ssh = await docs.call("POST", "/options/search", {"query": "enable ssh server", "limit": 10})
    assert ssh["match"] == "text" and not ssh["degraded"]
    assert "services.openssh.enable" in [o["name"] for o in ssh["options"][:3]]
    tls = await docs.call(
        "POST", "/options/search", {"query": "nginx virtual host tls certificate", "limit": 10}
    )
    family = [o["name"] for o in tls["options"][:5]]
    assert any(n.startswith("services.nginx.virtualHosts.<name>.ssl") for n in family), family


async def test_packages_are_found_by_attribute_pname_prefix_and_description(docs: Docs) -> None:
    location = docs.roots / "packages.json"
    shutil.copy(FIXTURES / "packages.json", location)
    await docs.add("nixpkgs", "nix-packages", location)
    records = json.loads((FIXTURES / "packages.json").read_text())
    attr = next(a for a in records if records[a].get("pname") == "ripgrep")
    exact = await docs.call("POST", "/packages/search", {"query": attr})
    assert exact["match"] == "exact" and exact["packages"][0]["attr"] == attr
    by_pname = await docs.call("POST", "/packages/search", {"query": "ripgrep"})
    assert by_pname["match"] in ("exact", "pname") and by_pname["packages"][0]["pname"] == "ripgrep"
    detail = await docs.call("GET", f"/packages/{attr}")
    assert detail["pname"] == "ripgrep" and detail["version"]
    await docs.indexed()
    text = await docs.call(
        "POST", "/packages/search", {"query": "search file contents with regular expressions"}
    )
    assert text["match"] == "text"
    assert "ripgrep" in [p["pname"] for p in text["packages"][:3]]


async def test_man_pages_find_chmod_for_changing_permission_bits(docs: Docs) -> None:
    man = docs.roots / "man"
    (man / "man1").mkdir(parents=True)
    for page in ("chmod", "chown", "ls", "cp", "mv", "mkdir", "rm", "ln", "touch", "cat"):
        shutil.copy(MAN1 / f"{page}.1.gz", man / "man1" / f"{page}.1.gz")
    status = await docs.add("man", "manpages", man)
    assert status["sections"] >= 30
    await docs.indexed()
    hits = await docs.search("change permission bits recursively", kinds=["manpages"], limit=5)
    assert hits and hits[0]["title"] == "chmod(1)", [h["title"] for h in hits]


async def test_the_postgresql_html_manual_is_searchable_by_section(docs: Docs) -> None:
    html = docs.roots / "pg"
    html.mkdir()
    pages = ["ddl-constraints.html", "sql-createtable.html", "sql-altertable.html", "backup-dump.html"]
    for page in [*pages, "stylesheet.css", "index.html", "bookindex.html"]:
        source = PG_HTML / page
        if source.exists():
            shutil.copy(source, html / page)
    status = await docs.add("pg", "html", html)
    assert status["version"] and status["version"].startswith("15")
    await docs.indexed()
    hits = await docs.search("delete the referencing rows when the referenced row is deleted", limit=5)
    # The foreign-key section answers it; CREATE TABLE's ON DELETE CASCADE parameter does too, and
    # may rank first: ranking between relevant pages is bench.retrieval_quality's to measure.
    urls = [h["url"] for h in hits]
    assert any(u.startswith("ddl-constraints.html#DDL-CONSTRAINTS-FK") for u in urls[:3]), urls
    nav_words = {"Prev", "Next", "Up", "Home"}
    assert not any(set(h["snippet"].split()) >= nav_words for h in hits)


async def test_name_lookups_answer_and_a_large_source_syncs_while_embeddings_is_down(docs: Docs) -> None:
    from tests.fixtures.docs.generate_options import generate_options

    location = docs.roots / "big-options.json"
    location.write_text(json.dumps(generate_options(20_000, seed=7)))
    await docs.embeddings.close()
    await docs.call(
        "POST",
        "/sources",
        {"name": "big", "kind": "nixos-options", "location": str(location), "schedule": "manual"},
        201,
    )
    # While it syncs, the service answers at once: parsing runs in a worker process and the
    # writes are awaited, so the event loop is never held.
    slowest = 0.0
    while (view := await docs.call("GET", "/sources/big"))["status"]["state"] == "syncing":
        started = asyncio.get_running_loop().time()
        await docs.call("POST", "/search", {"query": "enable the service", "mode": "keyword"})
        slowest = max(slowest, asyncio.get_running_loop().time() - started)
        await asyncio.sleep(0.2)
    status = view["status"]
    assert status["state"] == "ok" and status["sections"] >= 20_000
    assert slowest < 2.0, f"a search waited {slowest:.2f} s during the sync"
    some = next(iter(json.loads(location.read_text())))
    exact = await docs.call("POST", "/options/search", {"query": some, "source": "big"})
    assert exact["match"] == "exact" and exact["options"][0]["name"] == some
    prefix = some.rsplit(".", 1)[0] + "."
    listed = await docs.call("POST", "/options/search", {"query": prefix, "source": "big"})
    assert listed["match"] == "prefix" and some in [o["name"] for o in listed["options"]]
    text = await docs.call("POST", "/search", {"query": "enable the service", "sources": ["big"]})
    assert text["degraded"] is True
    removed = await docs.call("DELETE", "/sources/big")
    assert removed["sections_removed"] >= 20_000


async def test_bad_requests_get_clear_errors(docs: Docs) -> None:
    outside = {"name": "etc", "kind": "text", "location": "/etc"}
    error = await docs.call("POST", "/sources", outside, 422)
    assert error["error"]["code"] == "location_not_allowed"
    relative = {"name": "rel", "kind": "text", "location": "docs"}
    await docs.call("POST", "/sources", relative, 422)
    wrong = {"name": "wrong", "kind": "nixos-options", "location": str(docs.roots)}
    assert (await docs.call("POST", "/sources", wrong, 422))["error"]["code"] == "location_invalid"
    await docs.call(
        "POST", "/sources", {"name": "Bad Name", "kind": "text", "location": str(docs.roots)}, 422
    )
    await docs.call("GET", "/sources/nope", status=404)
    await docs.call("POST", "/sources/nope/sync", status=404)
    await docs.call("DELETE", "/sources/nope", status=404)
    await docs.call("POST", "/search", {"query": ""}, 422)
    for path in ("/search", "/options/search", "/packages/search"):
        await docs.call("POST", path, {"query": " \u00a0\t"}, 422)
    escape = {"name": "esc", "kind": "text", "location": str(docs.roots), "version": "1.0\u001b[31m"}
    await docs.call("POST", "/sources", escape, 422)
    await docs.call("POST", "/search", {"query": "x" * 5000}, 422)
    await docs.call("POST", "/options/search", {"query": "a", "source": "nope"}, 404)
    response = await docs.client.post(
        "/search", data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status == 400
    tree = docs.roots / "t"
    write(tree, "a.txt", "hello")
    await docs.add("t", "text", tree)
    await docs.call("POST", "/sources", {"name": "t", "kind": "text", "location": str(tree)}, 409)
    mismatch = await docs.call("POST", "/options/search", {"query": "a", "source": "t"}, 404)
    assert mismatch["error"]["code"] == "wrong_kind"


async def test_a_vanished_location_fails_the_sync_and_keeps_the_index(docs: Docs) -> None:
    tree = docs.roots / "gone"
    write(tree, "a.md", "# Alpha\n\nThe alpha section mentions zebras.\n")
    first = await docs.add("gone", "markdown", tree)
    await docs.indexed()
    shutil.rmtree(tree)
    await docs.call("POST", "/sources/gone/sync", None, 202)
    status = await docs.synced("gone")
    assert status["state"] == "failed" and "no such file" in status["errors"][0]
    assert status["sections"] == first["sections"]
    hits = await docs.search("zebras", mode="keyword")
    assert hits and hits[0]["source"] == "gone"


async def test_aidb_down_keeps_name_lookups_and_makes_search_and_sync_fail_clearly(docs: Docs) -> None:
    location = docs.roots / "options.json"
    shutil.copy(FIXTURES / "options.json", location)
    await docs.add("nixos", "nixos-options", location)
    await docs.aidb.close()
    exact = await docs.call("POST", "/options/search", {"query": "services.openssh.enable"})
    assert exact["match"] == "exact"
    listed = await docs.call("POST", "/options/search", {"query": "services.openssh."})
    assert listed["match"] == "prefix" and len(listed["options"]) > 1
    detail = await docs.call("GET", "/options/services.openssh.enable")
    assert detail["type"] == "boolean"
    response = await docs.client.post("/search", json={"query": "ssh"})
    assert response.status == 503 and "Retry-After" in response.headers
    assert (await response.json())["error"]["code"] == "unavailable"
    location.write_text(location.read_text().replace("OpenSSH", "OpenSSH (changed)"))
    await docs.call("POST", "/sources/nixos/sync", None, 202)
    status = await docs.synced("nixos")
    assert status["state"] == "failed" and "aidb" in status["errors"][0]


async def test_a_lost_manifest_is_rebuilt_from_aidb_without_embedding_again(docs: Docs) -> None:
    tree = docs.roots / "kept"
    write(tree, "a.md", GUIDE)
    first = await docs.add("kept", "markdown", tree)
    await docs.indexed()
    client = redis.asyncio.Redis.from_url(docs.redis_url)
    await client.delete("docs:manifest:kept", "docs:status:kept")  # as if Redis lost them
    await client.aclose()
    before, writes = await docs.embedded_texts(), await docs.bulk_writes()
    again = await docs.resync("kept")
    assert again["counts"]["unchanged"] == first["sections"]
    assert again["counts"]["added"] == again["counts"]["updated"] == 0
    assert await docs.bulk_writes() == writes, "the digests came from aidb: nothing was sent again"
    await docs.indexed()
    assert await docs.embedded_texts() == before


async def test_a_source_swapped_for_a_symlink_out_of_the_roots_is_not_synced(
    docs: Docs, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    write(outside, "secret.md", "# Secret\n\nTOPSECRET quokka.\n")
    tree = docs.roots / "swap"
    write(tree, "a.md", "# A\n\nHarmless text.\n")
    await docs.add("swap", "markdown", tree)
    shutil.rmtree(tree)
    tree.symlink_to(outside)
    await docs.call("POST", "/sources/swap/sync", None, 202)
    status = await docs.synced("swap")
    assert status["state"] == "failed" and "outside the allowed source roots" in status["errors"][0]
    await docs.indexed()
    assert not await docs.search("TOPSECRET quokka", mode="keyword")


async def test_no_sync_starts_while_a_source_is_removed(docs: Docs) -> None:
    from ai_stack.core.errors import ConflictError
    from ai_stack.docs_search.keys import REGISTRY_KEY, SYNCER_KEY

    tree = docs.roots / "going"
    write(tree, "a.md", "# A\n\nText.\n")
    await docs.add("going", "markdown", tree)
    syncer, registry = docs.client.app[SYNCER_KEY], docs.client.app[REGISTRY_KEY]
    source = await registry.get("going")
    async with syncer.removing("going"):
        assert await syncer.start(source) is False  # a sync request racing the DELETE
        with pytest.raises(ConflictError):
            async with syncer.removing("going"):
                pass
    assert await syncer.start(source) is True
    await docs.synced("going")


async def test_a_prefix_listing_is_not_answered_by_a_catch_all_placeholder(docs: Docs) -> None:
    options = {
        "<name>": {"type": "attribute set", "description": "Anything."},
        "services.a.enable": {"type": "boolean", "description": "Enable a."},
        "services.b.enable": {"type": "boolean", "description": "Enable b."},
    }
    location = docs.roots / "catchall.json"
    location.write_text(json.dumps(options))
    await docs.add("catchall", "nixos-options", location)
    listed = await docs.call("POST", "/options/search", {"query": "services."})
    assert listed["match"] == "prefix"
    assert [o["name"] for o in listed["options"]] == ["services.a.enable", "services.b.enable"]
