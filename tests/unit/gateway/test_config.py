"""The rendered nginx configuration."""

from __future__ import annotations

from pathlib import Path

from ai_stack.gateway.config import GatewayConfig, Upstream, render_nginx_conf


def config(**overrides: object) -> GatewayConfig:
    values: dict[str, object] = dict(
        https_port=9443,
        http_port=9080,
        cert=Path("/c.pem"),
        key=Path("/k.pem"),
        run_dir=Path("/run"),
        log_dir=Path("/log"),
        temp_dir=Path("/tmp/n"),
        auth_port=9089,
        upstreams=(Upstream("embeddings", "embeddings", 9081, 4 * 1048576),),
        listen_addresses=("127.0.0.1", "::1"),
    )
    values.update(overrides)
    return GatewayConfig(**values)  # type: ignore[arg-type]


def test_every_service_route_requires_a_key_except_health() -> None:
    text = render_nginx_conf(config())
    block = text.split("location /embeddings/ {")[1].split("}")[0]
    assert "auth_request /_auth;" in block
    assert "client_max_body_size 4096k;" in block
    assert "proxy_pass http://ai_embeddings/;" in block
    health = text.split("location = /embeddings/health {")[1].split("}")[0]
    assert "auth_request" not in health


def test_tls_and_listeners() -> None:
    text = render_nginx_conf(config())
    assert "listen 127.0.0.1:9443 ssl http2;" in text
    assert "listen [::1]:9443 ssl http2;" in text
    assert "ssl_protocols TLSv1.2 TLSv1.3;" in text
    assert "return 301 https://$host:9443$request_uri;" in text
    assert "@@" not in text


def test_worker_user_only_when_asked() -> None:
    assert "user www-data;" in render_nginx_conf(config(worker_user="www-data"))
    assert "\nuser " not in render_nginx_conf(config())
