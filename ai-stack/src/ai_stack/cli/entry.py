"""The `ai-stack` console script. `ai-stack mcp` is launched by agents on every session, so it
starts without importing the rest of the CLI (ingest, rich tables, httpx)."""

from __future__ import annotations

import sys


def main() -> int:
    if sys.argv[1:2] == ["mcp"] and not {"-h", "--help"} & set(sys.argv[2:]):
        from ai_stack.cli.mcp_command import run

        return run(sys.argv[2:])
    from ai_stack.cli.__main__ import main as full

    return full()
