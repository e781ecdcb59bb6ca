"""Rendering the nginx configuration of the gateway (pure: settings in, text out)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path


@dataclass(frozen=True)
class Upstream:
    """One service behind the gateway: `/<prefix>/…` goes to 127.0.0.1:<port>/…"""

    name: str
    prefix: str
    port: int
    max_body_bytes: int
    needs_key: bool = True
    endpoint: str | None = None  # also answered at exactly `/<prefix>`, forwarded to this path


@dataclass(frozen=True)
class GatewayConfig:
    """Everything the nginx configuration depends on."""

    https_port: int
    http_port: int
    cert: Path
    key: Path
    run_dir: Path
    log_dir: Path
    temp_dir: Path
    auth_port: int
    upstreams: tuple[Upstream, ...]
    listen_addresses: tuple[str, ...] = ("127.0.0.1",)
    worker_user: str | None = None
    workers: int = 1
    # Sent by nginx to every service (and the verifier): the services refuse requests without it.
    gateway_secret: str | None = None
    public_host: str = "localhost"  # the HTTP -> HTTPS redirect's target host


def _upstream_block(name: str, port: int) -> str:
    return f"    upstream ai_{name} {{\n        server 127.0.0.1:{port};\n        keepalive 32;\n    }}\n"


_AUTH = (
    "            auth_request /_auth;\n"
    "            auth_request_set $ai_key_id $upstream_http_x_ai_key_id;\n"
    "            auth_request_set $ai_scopes $upstream_http_x_ai_scopes;\n"
    "            auth_request_set $ai_projects $upstream_http_x_ai_projects;\n"
    "            auth_request_set $ai_limits $upstream_http_x_ai_limits;\n"
)
_SAFE_SECRET = re.compile(r"[A-Za-z0-9_.~+/=-]{16,256}")
_SAFE_HOST = re.compile(r"[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\]")


def _secret_header(secret: str | None, indent: str) -> str:
    if secret is None:
        return ""
    if not _SAFE_SECRET.fullmatch(secret):
        raise ValueError("the gateway secret must be 16-256 characters of [A-Za-z0-9_.~+/=-]")
    return f'{indent}proxy_set_header X-AI-Gateway-Secret "{secret}";'


def _locations(upstream: Upstream) -> str:
    auth = _AUTH if upstream.needs_key else ""
    body = max(1, -(-upstream.max_body_bytes // 1024))
    exact = (
        f"        location = /{upstream.prefix} {{\n{auth}"
        f"            client_max_body_size {body}k;\n"
        "            proxy_buffering off;\n"
        f"            proxy_pass http://ai_{upstream.name}{upstream.endpoint};\n"
        "        }\n"
        if upstream.endpoint
        else ""
    )
    return exact + (
        # Readiness without internals, key-free, for load balancers and operators.
        f"        location = /{upstream.prefix}/health {{\n"
        f"            proxy_pass http://ai_{upstream.name}/health;\n"
        "        }\n"
        f"        location /{upstream.prefix}/ {{\n{auth}"
        f"            client_max_body_size {body}k;\n"
        f"            proxy_pass http://ai_{upstream.name}/;\n"
        "        }\n"
    )


def _listen(addresses: tuple[str, ...], port: int, tls: bool) -> str:
    suffix = " ssl http2" if tls else ""
    return "\n".join(f"        listen {f'[{a}]' if ':' in a else a}:{port}{suffix};" for a in addresses)


def render_nginx_conf(config: GatewayConfig) -> str:
    """The nginx.conf text for `config`."""
    if not _SAFE_HOST.fullmatch(config.public_host):
        raise ValueError(f"public host {config.public_host!r} is not a host name or a bracketed IPv6 address")
    template = resources.files("ai_stack.gateway").joinpath("templates/nginx.conf").read_text()
    upstreams = _upstream_block("auth", config.auth_port) + "".join(
        _upstream_block(u.name, u.port) for u in config.upstreams
    )
    values = {
        "USER_DIRECTIVE": f"user {config.worker_user};" if config.worker_user else "",
        "WORKERS": str(config.workers),
        "RUN_DIR": str(config.run_dir),
        "LOG_DIR": str(config.log_dir),
        "TEMP_DIR": str(config.temp_dir),
        "UPSTREAMS": upstreams,
        "HTTP_LISTEN": _listen(config.listen_addresses, config.http_port, tls=False),
        "HTTPS_LISTEN": _listen(config.listen_addresses, config.https_port, tls=True),
        "HTTPS_PORT": str(config.https_port),
        "CERT": str(config.cert),
        "KEY": str(config.key),
        "LOCATIONS": "".join(_locations(u) for u in config.upstreams),
        "PUBLIC_HOST": config.public_host,
        "SECRET_HEADER": _secret_header(config.gateway_secret, " " * 8),
        "AUTH_SECRET_HEADER": _secret_header(config.gateway_secret, " " * 12),
    }
    for name, value in values.items():
        template = template.replace(f"@@{name}@@", value)
    if "@@" in template:
        raise RuntimeError("the nginx template has a placeholder that was not filled")
    return template
