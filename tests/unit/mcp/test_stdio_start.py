"""`ai-stack mcp` starts light: until the first tool call only the MCP SDK is loaded."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = (
    "aiohttp",
    "structlog",
    "ai_stack.aidb.schemas",
    "ai_stack.hybrid.schemas",
    "ai_stack.clients.aidb",
    "torch",
)


def test_the_stdio_server_and_its_tool_list_need_none_of_the_heavy_modules() -> None:
    probe = (
        "import asyncio, json, sys\n"
        "from ai_stack.cli.mcp_command import parser\n"
        "from ai_stack.mcp.server import BackendsHolder, build_server\n"
        "server = build_server(BackendsHolder(), max_result_chars=12000, read_only=False)\n"
        "tools = asyncio.run(server.list_tools())\n"
        f"print(json.dumps([len(tools), [m for m in {list(HEAVY)!r} if m in sys.modules]]))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    count, loaded = json.loads(result.stdout)
    assert count >= 15  # every tool is listed
    assert loaded == []
