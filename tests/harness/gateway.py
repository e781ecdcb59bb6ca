"""nginx configured as the gateway in front of test services (shared by tests and benchmarks)."""

from __future__ import annotations

import os
from pathlib import Path

from ai_stack.cli.stack import upstream
from ai_stack.gateway.config import DEBIAN_JS_MODULE, GatewayConfig, render_nginx_conf
from ai_stack.registry import service

from tests.harness.processes import NginxServer


def gateway_nginx(
    shared: Path,
    cert: Path,
    key: Path,
    *,
    https_port: int,
    http_port: int,
    auth_port: int,
    ports: dict[str, int],
    gateway_secret: str | None = None,
    auth_cache_s: int = 1,
    replicas: dict[str, tuple[str, ...]] | None = None,
) -> NginxServer:
    """Renders nginx.conf into the world-writable `shared` dir and returns the (unstarted) server.

    `ports` maps each proxied service's registry name to the port its test process listens on;
    `replicas` names host:port servers that replace it for a service.
    """
    conf = shared / "nginx.conf"
    config = GatewayConfig(
        https_port=https_port,
        http_port=http_port,
        cert=cert,
        key=key,
        run_dir=shared,
        log_dir=shared,
        temp_dir=shared,
        auth_port=auth_port,
        upstreams=tuple(
            upstream(service(name), port=port, servers=(replicas or {}).get(name, ()))
            for name, port in ports.items()
        ),
        listen_addresses=("127.0.0.1",),
        worker_user="www-data" if os.geteuid() == 0 else None,
        gateway_secret=gateway_secret,
        js_module=DEBIAN_JS_MODULE if DEBIAN_JS_MODULE.is_file() else None,
        auth_cache_s=auth_cache_s,
    )
    conf.write_text(render_nginx_conf(config))
    return NginxServer(conf)
