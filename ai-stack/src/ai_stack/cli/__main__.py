"""`ai-stack`: operator commands (keys, gateway configuration, status) and aidb ingest and search."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from rich.console import Console

from ai_stack.aidb.schemas import NAME_PATTERN
from ai_stack.auth.keystore import KeyFileError, KeyStore
from ai_stack.auth.settings import AuthSettings
from ai_stack.cli.aidb_client import AidbGatewayClient
from ai_stack.cli.connection import ClientSettings, tls_context
from ai_stack.cli.docs import add_docs_commands, run_docs
from ai_stack.cli.docs_client import DocsGatewayClient
from ai_stack.cli.gateway_client import GatewayClient
from ai_stack.cli.ingest import (
    DEFAULT_BATCH_BYTES,
    MAX_BATCH_BYTES,
    MAX_BATCH_ITEMS,
    IngestRun,
    Target,
    run_ingest,
)
from ai_stack.cli.keys import add_keys_commands, run_keys
from ai_stack.cli.observability import add_observability_commands, run_observability
from ai_stack.cli.podman_command import add_podman_commands, run_podman_command
from ai_stack.cli.search import MODES, run_reindex, run_search, search_body
from ai_stack.cli.services import print_services
from ai_stack.cli.stack import StackSettings, upstreams
from ai_stack.cli.status import print_status
from ai_stack.cli.walk import Selection
from ai_stack.clients.errors import ClientError, InvalidRequest
from ai_stack.core.files import write_atomically
from ai_stack.core.settings import SettingsError, load_settings, shared_gateway_secret
from ai_stack.gateway.config import DEBIAN_JS_MODULE, GatewayConfig, render_nginx_conf

ClientT = TypeVar("ClientT", bound=GatewayClient)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ai-stack", description="Operate the ai-stack services.")
    commands = parser.add_subparsers(dest="command", required=True)
    add_keys_commands(commands)
    add_observability_commands(commands)
    add_podman_commands(commands)
    gateway = commands.add_parser("gateway", help="gateway configuration").add_subparsers(
        dest="action", required=True
    )
    render = gateway.add_parser("render", help="write nginx.conf")
    render.add_argument("--out", type=Path, required=True)
    render.add_argument("--temp-dir", type=Path, required=True)
    render.add_argument("--user", default=None, help="nginx worker user (when started as root)")
    render.add_argument("--listen", action="append", default=None, help="address to listen on")
    render.add_argument(
        "--status-port", type=_bounded(1, 65535), default=None, help="serve stub_status on 127.0.0.1 here"
    )
    commands.add_parser("status", help="show the stack's processes and health")
    services = commands.add_parser("services", help="list the Python services of the stack (the registry)")
    output = services.add_mutually_exclusive_group()
    output.add_argument(
        "--shell", action="store_true", help="one `name module port health_path preload` a line"
    )
    output.add_argument(
        "--json", action="store_true", help="the registry with default ports as JSON (nix/services.json)"
    )
    services.add_argument(
        "--defaults", action="store_true", help="default ports, without reading the services' settings"
    )
    _add_aidb_commands(commands)
    return parser


def _bounded(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        value = int(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low} and {high}")
        return value

    return parse


def _collection(text: str) -> str:
    if not re.fullmatch(NAME_PATTERN, text):
        raise argparse.ArgumentTypeError(
            "lowercase letters, digits, - and _ (at most 63), starting alphanumeric"
        )
    return text


def _add_aidb_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    connection = argparse.ArgumentParser(add_help=False)
    connection.add_argument("--url", help="gateway URL (default: https://127.0.0.1:<gateway HTTPS port>)")
    connection.add_argument("--api-key", help="API key (default: AI_STACK_API_KEY, AI_STACK_API_KEY_FILE)")
    connection.add_argument("--cacert", type=Path, help="CA certificate (default: the stack's tls/cert.pem)")
    ingest = commands.add_parser("ingest", parents=[connection], help="send files to aidb (skips unchanged)")
    ingest.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="files or directories")
    ingest.add_argument("--collection", type=_collection, default="documents", help="default: documents")
    ingest.add_argument("--project", help="project of the documents (default: the name of --root)")
    ingest.add_argument("--root", type=Path, help="documents are named relative to it (default: .)")
    globs = "gitignore syntax, repeatable"
    ingest.add_argument(
        "--include", action="append", default=[], metavar="GLOB", help=f"only these ({globs})"
    )
    ingest.add_argument(
        "--exclude", action="append", default=[], metavar="GLOB", help=f"skip these ({globs})"
    )
    ingest.add_argument("--force", action="store_true", help="send files the last run already stored")
    ingest.add_argument("--create-collection", action="store_true", help="create --collection if missing")
    ingest.add_argument(
        "--batch-size",
        type=_bounded(1, MAX_BATCH_ITEMS),
        default=MAX_BATCH_ITEMS,
        help="documents per request",
    )
    ingest.add_argument(
        "--batch-bytes",
        type=_bounded(1024, MAX_BATCH_BYTES),
        default=DEFAULT_BATCH_BYTES,
        help="bytes per request",
    )
    mcp = commands.add_parser("mcp", parents=[connection], help="serve the stack's MCP tools over stdio")
    mcp.add_argument("--read-only", action="store_true", help="only the tools that change nothing")
    search = commands.add_parser("search", parents=[connection], help="search aidb")
    search.add_argument("query")
    search.add_argument("--mode", choices=MODES, default="hybrid")
    search.add_argument(
        "--collection",
        type=_collection,
        action="append",
        default=[],
        dest="collections",
        metavar="COLLECTION",
        help="only these (repeatable; default: all)",
    )
    search.add_argument("--project", help="only this project (default: all)")
    search.add_argument("--limit", type=_bounded(1, 100), default=10, help="results (1-100, default 10)")
    search.add_argument("--json", action="store_true", help="print aidb's answer as JSON")
    reindex = commands.add_parser(
        "reindex", parents=[connection], help="re-encode aidb's vector index from its documents (in place)"
    )
    reindex.add_argument(
        "--rebuild",
        action="store_true",
        help="drop the index first (search finds nothing until it is rebuilt)",
    )
    docs = commands.add_parser("docs", help="documentation sources and search (docs-search)")
    add_docs_commands(docs, connection)


def _keys(args: argparse.Namespace) -> int:
    return run_keys(KeyStore(load_settings(AuthSettings).keys_file), args)


def _gateway_secret() -> str | None:
    try:
        secret = shared_gateway_secret()
    except ValueError as exc:
        raise SettingsError(str(exc)) from None
    return secret.get_secret_value() if secret is not None else None


def _render(args: argparse.Namespace) -> int:
    stack = load_settings(StackSettings)
    config = GatewayConfig(
        https_port=stack.gateway_https_port,
        http_port=stack.gateway_http_port,
        cert=stack.tls_dir / "cert.pem",
        key=stack.tls_dir / "key.pem",
        run_dir=stack.run_dir,
        log_dir=stack.log_dir,
        temp_dir=args.temp_dir,
        auth_port=load_settings(AuthSettings).port,
        auth_servers=tuple(stack.gateway_upstreams.get("auth", ())),
        upstreams=upstreams(stack),
        listen_addresses=tuple(args.listen or ["127.0.0.1"]),
        worker_user=args.user,
        workers=stack.gateway_workers,
        gateway_secret=_gateway_secret(),
        public_host=stack.gateway_public_host,
        js_module=DEBIAN_JS_MODULE if DEBIAN_JS_MODULE.is_file() else None,
        auth_cache_s=stack.gateway_auth_cache_s,
        status_port=args.status_port,
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    # It holds the gateway secret: readable by its owner only (nginx's master reads it as root).
    write_atomically(args.out, render_nginx_conf(config).encode(), mode=0o600)
    return 0


def _gateway_client(args: argparse.Namespace, stack: StackSettings, kind: type[ClientT]) -> ClientT:
    key = args.api_key or load_settings(ClientSettings).api_key.get_secret_value()
    if args.cacert is not None and not args.cacert.is_file():
        raise InvalidRequest(f"--cacert {args.cacert}: no such file")
    cafile = args.cacert or stack.tls_dir / "cert.pem"
    url = args.url or f"https://127.0.0.1:{stack.gateway_https_port}"
    return kind(url, key, verify=tls_context(cafile), cafile_hint=cafile)


def _docs(args: argparse.Namespace) -> int:
    with _gateway_client(args, load_settings(StackSettings), DocsGatewayClient) as client:
        return run_docs(client, args, Console())


def _aidb(args: argparse.Namespace) -> int:
    stack = load_settings(StackSettings)
    with _gateway_client(args, stack, AidbGatewayClient) as client:
        if args.command == "search":
            body = search_body(args.query, args.mode, args.collections, args.project, args.limit)
            return run_search(client, body, args.json, Console())
        if args.command == "reindex":
            return run_reindex(client, Console(), rebuild=args.rebuild)
        root = (args.root or Path.cwd()).absolute()
        run = IngestRun(
            paths=args.paths,
            root=root,
            selection=Selection.from_globs(args.include, args.exclude),
            target=Target(
                args.collection, args.project or root.name or "default", args.batch_size, args.batch_bytes
            ),
            state_file=stack.home / "ingest-state.json",
            force=args.force,
            create_collection=args.create_collection,
        )
        return run_ingest(client, run, Console(), Console(stderr=True))


def _mcp(args: argparse.Namespace) -> int:
    from ai_stack.cli.mcp_command import run

    argv = [
        *(["--url", args.url] if args.url else []),
        *(["--api-key", args.api_key] if args.api_key else []),
    ]
    argv += [
        *(["--cacert", str(args.cacert)] if args.cacert else []),
        *(["--read-only"] if args.read_only else []),
    ]
    return run(argv)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `ai-stack` console script."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "keys":
            return _keys(args)
        if args.command == "observability":
            return run_observability(args)
        if args.command == "podman":
            return run_podman_command(args)
        if args.command == "gateway":
            return _render(args)
        if args.command == "services":
            return print_services(args.shell, resolve=not args.defaults, as_json=args.json)
        if args.command in {"ingest", "search", "reindex"}:
            return _aidb(args)
        if args.command == "mcp":
            return _mcp(args)
        if args.command == "docs":
            return _docs(args)
        return print_status(load_settings(StackSettings))
    except SettingsError as exc:
        print(f"ai-stack: {exc}", file=sys.stderr)
        return 2
    except (KeyFileError, ClientError) as exc:
        print(f"ai-stack: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
