"""The MCP server with the SDK's own client: over streamable HTTP through the gateway (API key)
and over stdio (`ai-stack mcp`), every tool against the running stack with its effect checked."""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from tests.harness.processes import REPO_ROOT
from tests.integration.conftest import GatewayStack

pytestmark = pytest.mark.slow
EXPECTED_TOOLS = {
    "search_knowledge",
    "get_document",
    "list_collections",
    "store_document",
    "delete_document",
    "recall",
    "augment_query",
    "learning_stats",
    "remember",
    "forget",
    "record_outcome",
    "embed",
    "search_docs",
    "nixos_option",
    "nix_package",
}


@asynccontextmanager
async def http_session(stack: GatewayStack, key: str | None) -> AsyncIterator[Client]:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    tls = ssl.create_default_context(cafile=str(stack.cafile))
    async with httpx2.AsyncClient(headers=headers, verify=tls, timeout=60) as http:
        async with Client(streamable_http_client(f"{stack.https_url}/mcp", http_client=http)) as client:
            yield client


async def call(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, result.content
    return dict(result.structured_content)


async def failed(client: Client, tool: str, **arguments: Any) -> str:
    result = await client.call_tool(tool, arguments)
    assert result.is_error, result
    return " ".join(getattr(block, "text", "") for block in result.content)


async def until(probe: Any, timeout_s: float = 60) -> Any:
    """Polls `probe()` until it returns something truthy (indexing runs in the background)."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        if value := await probe():
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(0.2)


async def test_no_key_is_refused_by_the_gateway(gateway_stack: GatewayStack) -> None:
    tls = ssl.create_default_context(cafile=str(gateway_stack.cafile))
    async with httpx2.AsyncClient(verify=tls) as http:
        response = await http.post(
            f"{gateway_stack.https_url}/mcp",
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
            headers={"Accept": "application/json, text/event-stream"},
        )
    assert response.status_code == 401 and response.json()["error"]["code"] == "unauthorized"


async def test_every_tool_over_http_with_its_effect(gateway_stack: GatewayStack) -> None:
    async with http_session(gateway_stack, gateway_stack.key) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        assert set(tools) == EXPECTED_TOOLS
        assert tools["search_knowledge"].annotations.read_only_hint is True
        assert tools["delete_document"].annotations.destructive_hint is True
        assert "query" in tools["search_knowledge"].input_schema["properties"]

        stored = await call(
            client, "store_document", path="mcp/quokka.md", content="# Quokka\n\nThe quokka smiles a lot.",
            collection="docs", project="mcp",
        )  # fmt: skip
        document_id = stored["id"]

        async def found() -> list[str]:
            answer = await call(
                client, "search_knowledge", query="quokka smiles", project="mcp", mode="keyword"
            )
            return [r["document_id"] for r in answer["results"]]

        assert document_id in await until(found)
        document = await call(client, "get_document", document_id=document_id, max_chars=100)
        assert document["path"] == "mcp/quokka.md" and "quokka smiles" in document["content"]
        assert "docs" in {c["name"] for c in (await call(client, "list_collections"))["collections"]}
        assert (await call(client, "delete_document", document_id=document_id))["deleted"] == 1
        assert "no document" in await failed(client, "get_document", document_id=document_id)

        fact = "The mcp test project deploys on Fridays."
        memory = await call(client, "remember", content=fact, kind="fact", project="mcp-test")

        async def recalled() -> list[str]:
            answer = await call(
                client, "recall", query="when does the mcp test project deploy?", project="mcp-test"
            )
            return [m["id"] for m in answer["memories"]]

        assert memory["id"] in await until(recalled)
        context = await call(
            client, "augment_query", query="when do we deploy?", project="mcp-test", token_budget=200
        )
        assert memory["id"] in context["context_ids"] and context["token_count"] <= 200
        outcome = await call(
            client,
            "record_outcome",
            query="when do we deploy?",
            response="On Fridays.",
            outcome="success",
            context_ids=context["context_ids"],
            project="mcp-test",
        )
        assert outcome["items_updated"] == len(context["context_ids"])
        assert (await call(client, "learning_stats"))["interactions"] >= 1
        assert (await call(client, "forget", memory_id=memory["id"]))["deleted"] == 1
        vectors = await call(client, "embed", texts=["hello", "world"])
        assert vectors["dimension"] == 384 and len(vectors["vectors"][0]) == 8 and vectors["preview"] is True


async def test_bad_arguments_and_unknown_ids_are_tool_errors_and_the_session_goes_on(
    gateway_stack: GatewayStack,
) -> None:
    async with http_session(gateway_stack, gateway_stack.key) as client:
        assert "is not an id" in await failed(client, "get_document", document_id="nope")
        assert "invalid argument" in await failed(client, "search_knowledge", query="x", filters={"a b": 1})
        assert "no document" in await failed(
            client, "get_document", document_id="00000000-0000-0000-0000-000000000000"
        )
        assert (await call(client, "list_collections"))["collections"]


async def test_a_backend_down_mid_session_is_a_tool_error(gateway_stack: GatewayStack) -> None:
    hybrid = gateway_stack.services["hybrid"]
    async with http_session(gateway_stack, gateway_stack.key) as client:
        hybrid.stop()
        try:
            message = await failed(client, "recall", query="anything")
            assert "unavailable" in message and "try again" in message
            assert (await call(client, "list_collections"))["collections"]  # other tools still work
        finally:
            hybrid.start()
        await until(lambda: _recall_works(client))


async def _recall_works(client: Client) -> bool:
    result = await client.call_tool("recall", {"query": "anything"})
    return not result.is_error


async def test_results_stay_under_the_size_cap(gateway_stack: GatewayStack) -> None:
    async with http_session(gateway_stack, gateway_stack.key) as client:
        for i in range(12):
            await call(client, "store_document", path=f"cap/{i}.md", collection="docs", project="cap",
                       content=f"# Capybara {i}\n\n" + "capybara " * 200)  # fmt: skip

        async def many() -> bool:
            answer = await call(
                client, "search_knowledge", query="capybara", project="cap", limit=50, mode="keyword"
            )
            return len(answer["results"]) + answer.get("omitted", 0) >= 12

        await until(many)
        answer = await call(
            client, "search_knowledge", query="capybara", project="cap", limit=50, mode="keyword"
        )
        assert shown(answer) <= 12_000 and answer["results"]
        vectors = await call(client, "embed", texts=["x"] * 32, full=True)
        assert shown(vectors) <= 12_000 and vectors["omitted"] > 0


def shown(value: Any) -> int:
    """Characters of a result as the agent reads it (the SDK's indented JSON text)."""
    return len(json.dumps(value, indent=2, ensure_ascii=False))


async def test_stdio_through_the_gateway(gateway_stack: GatewayStack) -> None:
    params = StdioServerParameters(
        command=str(REPO_ROOT / ".venv" / "bin" / "ai-stack"),
        args=["mcp", "--url", gateway_stack.https_url, "--cacert", str(gateway_stack.cafile)],
        env={"AI_STACK_API_KEY": gateway_stack.key, "HF_HUB_OFFLINE": "1"},
    )
    async with Client(params) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert names == EXPECTED_TOOLS
        assert (await call(client, "list_collections"))["collections"]
        await stdio_round_trips(client)
    read_only = params.model_copy(update={"args": [*params.args, "--read-only"]})
    async with Client(read_only) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert names == {"search_knowledge", "get_document", "list_collections", "recall", "augment_query",
                         "learning_stats", "embed", "search_docs", "nixos_option", "nix_package"}  # fmt: skip


async def stdio_round_trips(client: Client) -> None:
    """What a local agent does over stdio: store, find, delete; remember, recall, forget."""
    stored = await call(
        client, "store_document", path="stdio/koala.md", content="# Koala\n\nThe koala sleeps all day.",
        collection="docs", project="mcp-stdio",
    )  # fmt: skip

    async def found() -> list[str]:
        answer = await call(
            client, "search_knowledge", query="koala sleeps", project="mcp-stdio", mode="keyword"
        )
        return [r["document_id"] for r in answer["results"]]

    assert stored["id"] in await until(found)
    assert (await call(client, "delete_document", document_id=stored["id"]))["deleted"] == 1
    memory = await call(client, "remember", content="The stdio agent prefers tabs.", kind="preference",
                        project="mcp-stdio")  # fmt: skip

    async def recalled() -> list[str]:
        answer = await call(
            client, "recall", query="what indentation does the agent like?", project="mcp-stdio"
        )
        return [m["id"] for m in answer["memories"]]

    assert memory["id"] in await until(recalled)
    assert (await call(client, "forget", memory_id=memory["id"]))["deleted"] == 1


async def test_a_tool_calls_services_under_the_gateways_request_id(gateway_stack: GatewayStack) -> None:
    tls = ssl.create_default_context(cafile=str(gateway_stack.cafile))
    headers = {"Authorization": f"Bearer {gateway_stack.key}", "X-Request-ID": "mcp-trace-0001"}
    async with httpx2.AsyncClient(headers=headers, verify=tls, timeout=60) as http:
        async with Client(
            streamable_http_client(f"{gateway_stack.https_url}/mcp", http_client=http)
        ) as client:
            await call(client, "search_knowledge", query="request id propagation", mode="keyword")
    aidb_log = gateway_stack.services["aidb"].log_path
    lines = [json.loads(line) for line in aidb_log.read_text().splitlines() if "mcp-trace-0001" in line]
    assert any(line.get("route") == "/search" and line["request_id"] == "mcp-trace-0001" for line in lines)


OPTIONS = {
    "services.openssh.enable": {
        "declarations": ["nixos/modules/services/networking/ssh/sshd.nix"],
        "default": {"_type": "literalExpression", "text": "false"},
        "description": "Whether to enable the OpenSSH secure shell daemon, which allows secure "
        "remote logins.",
        "loc": ["services", "openssh", "enable"],
        "readOnly": False,
        "type": "boolean",
    },
    "services.nginx.virtualHosts.<name>.root": {
        "declarations": ["nixos/modules/services/web-servers/nginx/default.nix"],
        "default": None,
        "description": "The path of the web root directory.",
        "example": "/data/webserver/docs",
        "loc": ["services", "nginx", "virtualHosts", "<name>", "root"],
        "readOnly": False,
        "type": "null or absolute path",
    },
}
PACKAGES = {
    "nixpkgs.ripgrep": {
        "name": "ripgrep-14.1.0",
        "pname": "ripgrep",
        "version": "14.1.0",
        "system": "x86_64-linux",
        "outputName": "out",
        "meta": {
            "description": "Utility that combines the usability of The Silver Searcher with the raw "
            "speed of grep",
            "homepage": "https://github.com/BurntSushi/ripgrep",
            "license": [{"spdxId": "MIT", "fullName": "MIT License"}],
            "mainProgram": "rg",
            "platforms": ["x86_64-linux", "aarch64-linux"],
        },
    }
}


async def test_docs_tools_answer_options_packages_and_sections(gateway_stack: GatewayStack) -> None:
    """docs-search's tools over the gateway, with sources added through its REST API."""
    sources = gateway_stack.home / "docs-sources"
    (sources / "mcp-options.json").write_text(json.dumps(OPTIONS))
    (sources / "mcp-packages.json").write_text(json.dumps(PACKAGES))
    (sources / "mcp-guide").mkdir(exist_ok=True)
    (sources / "mcp-guide" / "guide.md").write_text(
        "# Guide\n\n## Wombats\n\nThe wombat leaves cubic droppings.\n"
    )
    tls = ssl.create_default_context(cafile=str(gateway_stack.cafile))
    async with httpx2.AsyncClient(
        base_url=f"{gateway_stack.https_url}/docs", headers={"X-API-Key": gateway_stack.key}, verify=tls
    ) as rest:
        for name, kind, location in (
            ("mcp-options", "nixos-options", sources / "mcp-options.json"),
            ("mcp-packages", "nix-packages", sources / "mcp-packages.json"),
            ("mcp-guide", "markdown", sources / "mcp-guide"),
        ):
            body = {"name": name, "kind": kind, "location": str(location), "schedule": "manual"}
            response = await rest.post("/sources", json=body)
            assert response.status_code == 201, response.text

        async def synced() -> bool:
            listing = (await rest.get("/sources")).json()["sources"]
            return all(s["status"]["state"] == "ok" for s in listing if s["name"].startswith("mcp-"))

        await until(synced)
    async with http_session(gateway_stack, gateway_stack.key) as client:
        option = await call(client, "nixos_option", query="services.openssh.enable")
        assert option["match"] == "exact" and option["option"]["type"] == "boolean"
        assert "OpenSSH" in option["option"]["description"]
        resolved = await call(client, "nixos_option", query="services.nginx.virtualHosts.example.root")
        assert resolved["match"] == "placeholder"
        assert resolved["option"]["name"] == "services.nginx.virtualHosts.<name>.root"
        package = await call(client, "nix_package", query="ripgrep", details="full")
        assert package["packages"][0]["main_program"] == "rg"

        async def wombat() -> list[dict[str, Any]]:
            answer = await call(client, "search_docs", query="wombat droppings", sources=["mcp-guide"])
            return list(answer["results"])

        hits = await until(wombat)
        assert hits[0]["section"].endswith("Wombats") and hits[0]["url"].startswith("guide.md#")
        assert "invalid argument" in await failed(client, "search_docs", query="")
