"""The CLI's aidb client: TLS trust in the stack's certificate, the key's sources, one-line errors."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from ai_stack.cli.aidb_client import AidbGatewayClient
from ai_stack.cli.connection import ClientSettings, tls_context
from ai_stack.clients.errors import ClientError
from aiohttp.test_utils import TestServer

from tests.harness.tls import make_self_signed
from tests.unit.cli.conftest import API_KEY, FakeAidb


@pytest.fixture
async def tls_aidb(aiohttp_server: Callable[..., Awaitable[TestServer]], tmp_path: Path) -> tuple[str, Path]:
    """(https base URL, the certificate it serves)."""
    cert, key = make_self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server = await aiohttp_server(FakeAidb().app(), ssl=context)
    return f"https://127.0.0.1:{server.port}", cert


async def test_the_stacks_certificate_is_trusted(tls_aidb: tuple[str, Path]) -> None:
    url, cert = tls_aidb
    with AidbGatewayClient(url, API_KEY, verify=tls_context(cert)) as client:
        listed = await asyncio.to_thread(client.collections)
        assert [c.name for c in listed.collections] == ["documents"]


async def test_an_untrusted_certificate_is_one_clear_line(tls_aidb: tuple[str, Path], tmp_path: Path) -> None:
    url, _ = tls_aidb
    missing = tmp_path / "nowhere.pem"  # falls back to the system store, which does not know this cert
    with AidbGatewayClient(url, API_KEY, verify=tls_context(missing), cafile_hint=missing) as client:
        with pytest.raises(ClientError) as caught:
            await asyncio.to_thread(client.collections)
    message = str(caught.value)
    assert message.startswith(f"TLS verification of {url} failed (")
    assert message.endswith(f"; the stack's certificate is {missing}") and "\n" not in message


def test_no_key_is_refused_before_any_request() -> None:
    with pytest.raises(
        ClientError, match="no API key: pass --api-key, AI_STACK_API_KEY or AI_STACK_API_KEY_FILE"
    ):
        AidbGatewayClient("https://127.0.0.1:1", "")


def test_the_key_comes_from_the_environment_before_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "key").write_text("from-file\n")
    monkeypatch.setenv("AI_STACK_API_KEY_FILE", str(tmp_path / "key"))
    monkeypatch.delenv("AI_STACK_API_KEY", raising=False)
    assert ClientSettings().api_key.get_secret_value() == "from-file"
    monkeypatch.setenv("AI_STACK_API_KEY", "from-env")
    assert ClientSettings().api_key.get_secret_value() == "from-env"


async def test_an_error_envelope_becomes_status_code_and_message(fake_aidb: tuple[FakeAidb, str]) -> None:
    fake, url = fake_aidb
    fake.max_items = 0
    with AidbGatewayClient(url, API_KEY) as client, pytest.raises(ClientError) as caught:
        await asyncio.to_thread(client.bulk_upsert, b'{"documents":[{"path":"a"}]}')
    assert str(caught.value) == "aidb answered 413 payload_too_large: 1 documents sent, at most 0"
    assert caught.value.status == 413


async def test_unavailable_is_retried_after_the_advertised_delay_then_given_up(
    fake_aidb: tuple[FakeAidb, str],
) -> None:
    fake, url = fake_aidb
    fake.unavailable = 10
    waits: list[float] = []
    with AidbGatewayClient(url, API_KEY, sleep=waits.append) as client, pytest.raises(ClientError) as caught:
        await asyncio.to_thread(client.collections)
    assert waits == [5.0, 5.0, 5.0] and caught.value.status == 503
    assert fake.unavailable == 6  # four attempts in all


async def test_reindex_is_not_retried(fake_aidb: tuple[FakeAidb, str]) -> None:
    fake, url = fake_aidb
    fake.unavailable = 1
    waits: list[float] = []
    with (
        AidbGatewayClient(url, API_KEY, sleep=waits.append) as client,
        pytest.raises(ClientError, match="503"),
    ):
        await asyncio.to_thread(client.reindex)
    assert waits == []
