"""Rendering the nginx configuration of the gateway (pure: settings in, text out)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path


@dataclass(frozen=True)
class Upstream:
    """One service behind the gateway: `/<prefix>/…` goes to 127.0.0.1:<port>/…, or to its `servers`."""

    name: str
    prefix: str
    port: int
    max_body_bytes: int
    needs_key: bool = True
    endpoint: str | None = None  # also answered at exactly `/<prefix>`, forwarded to this path
    # `host:port` of each replica (containers, other machines); empty: the one on 127.0.0.1:<port>.
    servers: tuple[str, ...] = ()


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
    auth_servers: tuple[str, ...] = ()  # replicas of the key verifier; empty: 127.0.0.1:<auth_port>
    listen_addresses: tuple[str, ...] = ("127.0.0.1",)
    worker_user: str | None = None
    workers: int = 1
    # Sent by nginx to every service (and the verifier): the services refuse requests without it.
    gateway_secret: str | None = None
    public_host: str = "localhost"  # the HTTP -> HTTPS redirect's target host
    # nginx's njs module: with it, nginx reuses the verifier's answer for a key for
    # `auth_cache_s` (keyed by a hash of the key headers), so most requests skip the subrequest.
    js_module: Path | None = None
    auth_cache_s: int = 1
    # nginx's connection counters (stub_status) for the Prometheus exporter, on loopback only.
    status_port: int | None = None


def server_address(server: str) -> str:
    """`server` when it is host:port (a name, an IPv4 address or a bracketed IPv6 one); ValueError if not."""
    host, separator, port = server.rpartition(":")
    if not (separator and _SAFE_HOST.fullmatch(host) and port.isdigit() and 1 <= int(port) <= 65535):
        raise ValueError(f"upstream server {server!r} is not host:port (a bracketed IPv6 address as host)")
    return server


def _upstream_block(name: str, port: int, servers: tuple[str, ...]) -> str:
    # nginx balances round-robin over the replicas and, by default, takes one out for 10 s after a
    # failed connection or timeout; only idempotent requests are retried on the next one.
    lines = "".join(f"        server {server_address(s)};\n" for s in servers or (f"127.0.0.1:{port}",))
    return f"    upstream ai_{name} {{\n{lines}        keepalive 32;\n    }}\n"


_AUTH = (
    "            auth_request /_auth;\n"
    "            auth_request_set $ai_key_id $upstream_http_x_ai_key_id;\n"
    "            auth_request_set $ai_scopes $upstream_http_x_ai_scopes;\n"
    "            auth_request_set $ai_projects $upstream_http_x_ai_projects;\n"
    "            auth_request_set $ai_limits $upstream_http_x_ai_limits;\n"
)
_SAFE_SECRET = re.compile(r"[A-Za-z0-9_.~+/=-]{16,256}")
_SAFE_HOST = re.compile(r"[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\]")


DEBIAN_JS_MODULE = Path("/usr/lib/nginx/modules/ngx_http_js_module.so")


def _auth_cache(config: GatewayConfig) -> dict[str, str]:
    """The three parts of the verifier's answer cache, or nothing without njs (every request
    then asks the verifier)."""
    if config.js_module is None or config.auth_cache_s <= 0:
        return {"JS_MODULE": "", "AUTH_CACHE_HTTP": "", "AUTH_CACHE_LOCATION": ""}
    script = resources.files("ai_stack.gateway").joinpath("templates/key_hash.js")
    http = (
        f"    js_import ai_keys from {script};\n"
        "    js_set $ai_key_hash ai_keys.keyHash;\n"
        '    map $ai_key_hash $ai_no_key {\n        "" 1;\n        default 0;\n    }\n'
        # Answers only: a few hundred bytes per key, gone 10 s after its last use.
        f"    proxy_cache_path {config.temp_dir}/auth-cache levels=1:2 keys_zone=ai_auth:1m"
        " max_size=32m inactive=10s use_temp_path=off;\n"
    )
    location = (
        "            proxy_cache ai_auth;\n"
        "            proxy_cache_key $ai_key_hash;\n"
        # Only a valid key's answer is reused, for at most this long: a revoked or rotated key
        # stops working within it plus the verifier's reload interval.
        f"            proxy_cache_valid 204 {config.auth_cache_s}s;\n"
        "            proxy_cache_bypass $ai_no_key;\n"
        "            proxy_no_cache $ai_no_key;\n"
        # No cache lock (its waiters poll every 500 ms) and no stale answers (a stale 204 would
        # outlive a revocation): when an answer expires, each waiting request asks once.
        "            proxy_ignore_headers Cache-Control Expires Set-Cookie X-Accel-Expires;"
    )
    return {
        "JS_MODULE": f"load_module {config.js_module};",
        "AUTH_CACHE_HTTP": http,
        "AUTH_CACHE_LOCATION": location,
    }


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


def _status_server(port: int | None) -> str:
    if port is None:
        return ""
    return (
        "    server {\n"
        f"        listen 127.0.0.1:{port};\n"
        "        access_log off;\n"
        "        location = /stub_status {\n"
        "            stub_status;\n"
        "            allow 127.0.0.1;\n"
        "            deny all;\n"
        "        }\n"
        "        location / {\n"
        "            return 404;\n"
        "        }\n"
        "    }\n"
    )


def render_nginx_conf(config: GatewayConfig) -> str:
    """The nginx.conf text for `config`."""
    if not _SAFE_HOST.fullmatch(config.public_host):
        raise ValueError(f"public host {config.public_host!r} is not a host name or a bracketed IPv6 address")
    template = resources.files("ai_stack.gateway").joinpath("templates/nginx.conf").read_text()
    upstreams = _upstream_block("auth", config.auth_port, config.auth_servers) + "".join(
        _upstream_block(u.name, u.port, u.servers) for u in config.upstreams
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
        "STATUS_SERVER": _status_server(config.status_port),
        **_auth_cache(config),
    }
    for name, value in values.items():
        template = template.replace(f"@@{name}@@", value)
    if "@@" in template:
        raise RuntimeError("the nginx template has a placeholder that was not filled")
    return template
