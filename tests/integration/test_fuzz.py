"""Property-based fuzzing of every service's OpenAPI through the gateway (Schemathesis).

Each operation gets generated valid and invalid requests. The answer must never be a 5xx, must be
a documented status with a documented content type and, for a success, match its schema; every
error is the envelope. Afterwards no dependency breaker may be open: a request can only ever hurt
itself. Cases per operation: AI_STACK_FUZZ_EXAMPLES (default 30; set it higher for a deeper run).
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from ai_stack.aidb.app import create_app as create_aidb
from ai_stack.aidb.settings import AidbSettings
from ai_stack.auth.app import create_app as create_auth
from ai_stack.auth.settings import AuthSettings
from ai_stack.core.keys import API_KEY
from ai_stack.core.settings import CoreSettings
from ai_stack.docs_search.app import create_app as create_docs
from ai_stack.docs_search.settings import DocsSettings
from ai_stack.embeddings.app import create_app as create_embeddings
from ai_stack.embeddings.settings import EmbeddingsSettings
from ai_stack.hybrid.app import create_app as create_hybrid
from ai_stack.hybrid.settings import HybridSettings
from aiohttp import web
from prometheus_client import CollectorRegistry
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.integration.conftest import GatewayStack

EXAMPLES = int(os.environ.get("AI_STACK_FUZZ_EXAMPLES", "30"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Operations whose side effects would stall the rest of the run (a full reindex queues every
# document again); their handlers are covered by the integration tests.
SKIPPED = {("POST", "/reindex")}


def _document(create_app: Callable[..., web.Application], settings: CoreSettings) -> dict[str, Any]:
    """A service's OpenAPI document, from its app factory (built, never started): the schema is
    known when pytest collects, and a test below checks the gateway serves the same one."""
    return create_app(settings, registry=CollectorRegistry())[API_KEY].document()


def _schema(document: dict[str, Any]) -> Any:
    schema = schemathesis.openapi.from_dict(document)
    schema.config.generation.update(modes=["positive", "negative"], max_examples=EXAMPLES)
    return schema.exclude(func=lambda ctx: (ctx.operation.method.upper(), ctx.operation.path) in SKIPPED)


DOCUMENTS = {
    "aidb": _document(create_aidb, AidbSettings()),
    "embeddings": _document(create_embeddings, EmbeddingsSettings()),
    "auth": _document(create_auth, AuthSettings()),
    "hybrid": _document(create_hybrid, HybridSettings()),
    "docs": _document(create_docs, DocsSettings()),
}


@pytest.fixture(scope="session")
def session(gateway_stack: GatewayStack) -> Iterator[requests.Session]:
    with requests.Session() as http:
        http.verify = str(gateway_stack.cafile)
        yield http


def check(case: Any, response: requests.Response) -> None:
    case.validate_response(response, checks=CHECKS)
    if response.status_code >= 400 and response.headers.get("Content-Type", "").startswith(
        "application/json"
    ):
        error = response.json()["error"]
        assert {"code", "message", "request_id"} <= set(error), response.text


aidb = _schema(DOCUMENTS["aidb"])
embeddings = _schema(DOCUMENTS["embeddings"])
hybrid = _schema(DOCUMENTS["hybrid"])
docs = _schema(DOCUMENTS["docs"])
auth = _schema(DOCUMENTS["auth"])


@pytest.mark.parametrize("prefix", ["aidb", "embeddings", "hybrid", "docs"])
def test_the_gateway_serves_the_fuzzed_schema(gateway_stack: GatewayStack, prefix: str) -> None:
    served = httpx.get(
        f"{gateway_stack.https_url}/{prefix}/openapi.json",
        headers={"X-API-Key": gateway_stack.key},
        verify=ssl.create_default_context(cafile=str(gateway_stack.cafile)),
    )
    assert served.status_code == 200 and served.json() == DOCUMENTS[prefix]


def through_gateway(case: Any, stack: GatewayStack, session: requests.Session, prefix: str) -> None:
    """Sends the case to `/<prefix>/…` with the key, then checks the answer."""
    base_url = f"{stack.https_url}/{prefix}"
    headers = {"X-API-Key": stack.key}
    check(case, case.call(base_url=base_url, session=session, headers=headers, verify=session.verify))


@aidb.parametrize()
def test_aidb(case: Any, gateway_stack: GatewayStack, session: requests.Session) -> None:
    through_gateway(case, gateway_stack, session, "aidb")


@embeddings.parametrize()
def test_embeddings(case: Any, gateway_stack: GatewayStack, session: requests.Session) -> None:
    through_gateway(case, gateway_stack, session, "embeddings")


@hybrid.parametrize()
def test_hybrid(case: Any, gateway_stack: GatewayStack, session: requests.Session) -> None:
    through_gateway(case, gateway_stack, session, "hybrid")


@docs.parametrize()
def test_docs_search(case: Any, gateway_stack: GatewayStack, session: requests.Session) -> None:
    through_gateway(case, gateway_stack, session, "docs")


@auth.parametrize()
def test_key_verifier(case: Any, gateway_stack: GatewayStack) -> None:
    # Called directly, as nginx does, with the install's gateway secret.
    base_url = f"http://127.0.0.1:{gateway_stack.services['auth'].port}"
    check(case, case.call(base_url=base_url, headers=gateway_stack.secret_headers))


def test_the_fuzz_run_opened_no_breaker(gateway_stack: GatewayStack) -> None:
    for name, process in gateway_stack.services.items():
        report = httpx.get(f"http://127.0.0.1:{process.port}/health/ready").json()
        breakers = {dep: state.get("breaker") for dep, state in report["dependencies"].items()}
        assert all(b in (None, "closed") for b in breakers.values()), (name, report)
