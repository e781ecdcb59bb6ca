"""The stack as MCP tools: streamable HTTP behind the gateway, stdio through `ai-stack mcp`."""
