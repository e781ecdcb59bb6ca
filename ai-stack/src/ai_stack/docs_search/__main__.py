"""`python -m ai_stack.docs_search`: docs-search, offline documentation search."""

from __future__ import annotations

from ai_stack.core.runner import run_service
from ai_stack.docs_search.app import SERVICE, create_app
from ai_stack.docs_search.settings import DocsSettings

if __name__ == "__main__":
    run_service(SERVICE, DocsSettings, lambda settings, tracer: create_app(settings, tracer_provider=tracer))
