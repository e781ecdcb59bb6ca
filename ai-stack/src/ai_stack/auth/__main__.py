"""`python -m ai_stack.auth`: the gateway's key verifier."""

from __future__ import annotations

from ai_stack.auth.app import SERVICE, create_app
from ai_stack.auth.settings import AuthSettings
from ai_stack.core.runner import run_service

if __name__ == "__main__":
    run_service(SERVICE, AuthSettings, lambda settings, tracer: create_app(settings, tracer_provider=tracer))
