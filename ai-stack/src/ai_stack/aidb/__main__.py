"""`python -m ai_stack.aidb`: the knowledge store."""

from __future__ import annotations

from ai_stack.aidb.app import SERVICE, create_app
from ai_stack.aidb.settings import AidbSettings
from ai_stack.core.runner import run_service

if __name__ == "__main__":
    run_service(SERVICE, AidbSettings, lambda settings, tracer: create_app(settings, tracer_provider=tracer))
