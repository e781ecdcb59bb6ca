"""`python -m ai_stack.embeddings`: load settings, start the server."""

from __future__ import annotations

from ai_stack.core.runner import run_service
from ai_stack.embeddings.app import SERVICE, create_app
from ai_stack.embeddings.settings import EmbeddingsSettings

if __name__ == "__main__":
    run_service(
        SERVICE, EmbeddingsSettings, lambda settings, tracer: create_app(settings, tracer_provider=tracer)
    )
