"""`ai-stack mcp`: serve the stack's MCP tools over stdio, through the gateway."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from ai_stack.cli.connection import KEY_SOURCES, ClientSettings, tls_context
from ai_stack.cli.stack import StackSettings
from ai_stack.core.settings import SettingsError, load_settings


def parser() -> argparse.ArgumentParser:
    mcp = argparse.ArgumentParser(prog="ai-stack mcp", description="Serve the stack's MCP tools over stdio.")
    mcp.add_argument("--url", help="gateway URL (default: https://127.0.0.1:<gateway HTTPS port>)")
    mcp.add_argument("--api-key", help=f"API key (default: {KEY_SOURCES.split(', ', 1)[1]})")
    mcp.add_argument("--cacert", type=Path, help="CA certificate (default: the stack's tls/cert.pem)")
    mcp.add_argument("--read-only", action="store_true", help="only the tools that change nothing")
    return mcp


def run(argv: list[str]) -> int:
    """Exit status: 0 when the client closed the session, 2 for a configuration it cannot use."""
    args = parser().parse_args(argv)
    try:
        stack = load_settings(StackSettings)
        key = args.api_key or load_settings(ClientSettings).api_key.get_secret_value()
    except SettingsError as exc:
        print(f"ai-stack mcp: {exc}", file=sys.stderr)
        return 2
    if not key:
        print(f"ai-stack mcp: no API key: pass {KEY_SOURCES}", file=sys.stderr)
        return 2
    cafile = args.cacert or stack.tls_dir / "cert.pem"
    url = args.url or f"https://127.0.0.1:{stack.gateway_https_port}"
    from ai_stack.mcp.stdio import serve_stdio  # the MCP SDK, only now

    asyncio.run(serve_stdio(url, key, tls_context(cafile), read_only=args.read_only))
    return 0
