"""`python -m ai_stack.hybrid`: hybrid-coordinator, memory and context for agents."""

from __future__ import annotations

from ai_stack.core.runner import run_service
from ai_stack.hybrid.app import SERVICE, create_app
from ai_stack.hybrid.settings import HybridSettings

if __name__ == "__main__":
    run_service(
        SERVICE, HybridSettings, lambda settings, tracer: create_app(settings, tracer_provider=tracer)
    )
