"""`python -m ai_stack.mcp`: the MCP service (streamable HTTP, behind the gateway at /mcp)."""

from __future__ import annotations

import os
import sys

import uvicorn
from opentelemetry import trace

from ai_stack import __version__
from ai_stack.core.logging import configure_logging
from ai_stack.core.settings import SettingsError, load_settings
from ai_stack.core.tracing import build_tracer_provider
from ai_stack.mcp.app import SERVICE, create_app
from ai_stack.mcp.settings import McpSettings


def main() -> None:
    try:
        settings = load_settings(McpSettings)
    except SettingsError as exc:
        print(f"{SERVICE}: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    configure_logging(SERVICE, __version__, settings.log_level)
    tracer_provider = build_tracer_provider(SERVICE, __version__, os.environ)
    if tracer_provider is not None:
        # The SDK creates its `tools/call` spans with the global provider.
        trace.set_tracer_provider(tracer_provider)
    try:
        uvicorn.run(
            create_app(settings, tracer_provider=tracer_provider),
            host=settings.host,
            port=settings.port,
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=int(settings.shutdown_timeout_s),
        )
    finally:
        if tracer_provider is not None:
            tracer_provider.shutdown()  # exports the spans still queued


if __name__ == "__main__":
    main()
