"""The rendered nginx configuration."""

from __future__ import annotations

from pathlib import Path

import pytest
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
    assert "ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:" in text
    assert "@@" not in text


def test_redirect_goes_to_the_configured_host_never_the_clients() -> None:
    text = render_nginx_conf(config(public_host="stack.example"))
    assert "return 301 https://stack.example:9443$request_uri;" in text
    assert "$host:" not in text
    for bad in ("evil.example/x", "a b", "$host"):
        with pytest.raises(ValueError):
            render_nginx_conf(config(public_host=bad))


def test_keyed_locations_pass_the_verifiers_grants_and_drop_the_clients_copies() -> None:
    text = render_nginx_conf(config())
    block = text.split("location /embeddings/ {")[1].split("}")[0]
    for name in ("key_id", "scopes", "projects"):
        assert f"auth_request_set $ai_{name} $upstream_http_x_ai_{name};" in block
        assert f'set $ai_{name} "";' in text  # empty elsewhere: the client's copy is dropped
    assert "proxy_set_header X-AI-Key-Id $ai_key_id;" in text
    assert "proxy_set_header X-AI-Scopes $ai_scopes;" in text
    assert "proxy_set_header X-AI-Projects $ai_projects;" in text


def test_the_verifier_gets_only_the_key_headers() -> None:
    auth = render_nginx_conf(config()).split("location = /_auth {")[1].split("}")[0]
    assert "proxy_pass_request_headers off;" in auth
    assert "proxy_set_header Authorization $http_authorization;" in auth


def test_gateway_secret_goes_to_services_and_verifier_only_when_set() -> None:
    secret = "s3cr3t-0123456789abcdef"
    text = render_nginx_conf(config(gateway_secret=secret))
    auth = text.split("location = /_auth {")[1].split("}")[0]
    assert f'proxy_set_header X-AI-Gateway-Secret "{secret}";' in auth
    assert text.count(f'proxy_set_header X-AI-Gateway-Secret "{secret}";') == 2
    assert "X-AI-Gateway-Secret" not in render_nginx_conf(config())
    with pytest.raises(ValueError):
        render_nginx_conf(config(gateway_secret='short";'))


def test_nginx_own_errors_are_json_envelopes() -> None:
    text = render_nginx_conf(config())
    for status, name in (
        (400, "bad_request"),
        (404, "not_found"),
        (405, "not_allowed"),
    ):
        assert f"error_page {status} = @{name};" in text
        block = text.split(f"location @{name} {{")[1].split("\n        }")[0]
        assert f'return {status} \'{{"error":{{"code":' in block


def test_worker_user_only_when_asked() -> None:
    assert "user www-data;" in render_nginx_conf(config(worker_user="www-data"))
    assert "\nuser " not in render_nginx_conf(config())


def test_the_verifiers_answer_is_cached_by_key_hash_only_with_njs() -> None:
    plain = render_nginx_conf(config())
    assert "proxy_cache" not in plain and "load_module" not in plain
    module = Path("/usr/lib/nginx/modules/ngx_http_js_module.so")
    text = render_nginx_conf(config(js_module=module, auth_cache_s=2))
    assert text.index(f"load_module {module};") < text.index("events {")
    auth = text.split("location = /_auth {")[1].split("}")[0]
    assert "proxy_cache_key $ai_key_hash;" in auth  # a hash: no key is written to the cache
    assert "proxy_cache_valid 204 2s;" in auth  # only a valid key's answer, briefly
    assert "proxy_cache_bypass $ai_no_key;" in auth and "proxy_cache_lock" not in auth
    assert "use_stale" not in text  # a stale 204 would outlive a revocation
    assert "proxy_cache" not in render_nginx_conf(config(js_module=module, auth_cache_s=0))


def test_each_replica_is_a_server_of_its_upstream() -> None:
    replicated = Upstream("aidb", "aidb", 8091, 1024, servers=("aidb-1:8091", "[fd00::2]:8091"))
    text = render_nginx_conf(config(upstreams=(replicated,), auth_servers=("auth:8089",)))
    block = text.split("upstream ai_aidb {")[1].split("}")[0]
    assert "server aidb-1:8091;" in block
    assert "server [fd00::2]:8091;" in block
    assert "127.0.0.1" not in block
    assert "server auth:8089;" in text.split("upstream ai_auth {")[1].split("}")[0]


def test_without_replicas_each_upstream_is_the_loopback_port() -> None:
    text = render_nginx_conf(config())
    assert "server 127.0.0.1:9081;" in text.split("upstream ai_embeddings {")[1].split("}")[0]
    assert "server 127.0.0.1:9089;" in text.split("upstream ai_auth {")[1].split("}")[0]


@pytest.mark.parametrize("server", ["aidb", "aidb:0", "aidb:99999", "a b:80", "x;y:80", "aidb:80 backup"])
def test_a_replica_that_is_not_host_and_port_is_refused(server: str) -> None:
    bad = Upstream("aidb", "aidb", 8091, 1024, servers=(server,))
    with pytest.raises(ValueError, match="not host:port"):
        render_nginx_conf(config(upstreams=(bad,)))
