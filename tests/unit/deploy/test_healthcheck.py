"""The containers' health check, against real local servers."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from ai_stack.deploy.healthcheck import main


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/health/ready" else 503)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_ready_is_healthy_and_not_ready_is_not(server: str) -> None:
    assert main(["hc", f"{server}/health/ready"]) == 0
    assert main(["hc", f"{server}/health/broken"]) == 1


def test_the_url_can_come_from_the_environment(server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AI_STACK_HEALTHCHECK_URL", f"{server}/health/ready")
    assert main(["hc"]) == 0


def test_nothing_listening_is_unhealthy_and_no_url_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AI_STACK_HEALTHCHECK_URL", raising=False)
    assert main(["hc", "http://127.0.0.1:9/health/ready"]) == 1
    assert main(["hc"]) == 2
    assert main(["hc", "file:///etc/passwd"]) == 2
