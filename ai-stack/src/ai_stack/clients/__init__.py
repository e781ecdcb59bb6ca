"""Typed clients of the stack's services: the one way other services, the CLI and the MCP adapter
call them. Each returns the service's own response models (its `schemas` module, the contract)
and raises the errors in `errors`."""
