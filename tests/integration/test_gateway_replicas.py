"""Replicas behind the real nginx gateway: requests are spread over them, and one that stops
answering is skipped without a failed request."""

from __future__ import annotations

import shutil
import ssl
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.harness.gateway import gateway_nginx
from tests.harness.processes import free_port, world_writable_dir
from tests.harness.tls import make_self_signed

pytestmark = pytest.mark.integration


def replica(name: str) -> web.Application:
    async def health(_: web.Request) -> web.Response:
        return web.json_response({"replica": name})

    app = web.Application()
    app.router.add_get("/health", health)
    return app


@pytest.fixture
def shared() -> Iterator[Path]:
    directory = world_writable_dir("ai-stack-replicas-")
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


async def test_requests_are_spread_over_replicas_and_a_dead_one_is_skipped(shared: Path) -> None:
    cert, key = make_self_signed(shared)
    https_port = free_port()
    async with (
        TestServer(replica("a"), host="127.0.0.1") as a,
        TestServer(replica("b"), host="127.0.0.1") as b,
    ):
        nginx = gateway_nginx(
            shared,
            cert,
            key,
            https_port=https_port,
            http_port=free_port(),
            auth_port=free_port(),
            ports={"aidb": free_port()},
            replicas={"aidb": (f"127.0.0.1:{a.port}", f"127.0.0.1:{b.port}")},
        )
        nginx.start(https_port)
        try:
            context = ssl.create_default_context(cafile=str(cert))
            url = f"https://127.0.0.1:{https_port}/aidb/health"
            async with aiohttp.ClientSession() as session:

                async def ask() -> str:
                    async with session.get(url, ssl=context) as response:
                        assert response.status == 200
                        return str((await response.json())["replica"])

                spread = Counter([await ask() for _ in range(10)])
                assert spread == {"a": 5, "b": 5}
                await b.close()
                after = Counter([await ask() for _ in range(10)])
                assert after == {"a": 10}
        finally:
            nginx.stop()
