"""`ai-stack`: operator commands (keys, gateway configuration, status)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ai_stack.auth.keystore import KeyFileError, KeyStore
from ai_stack.auth.settings import AuthSettings
from ai_stack.cli.stack import StackSettings, upstreams
from ai_stack.cli.status import print_status
from ai_stack.core.settings import SettingsError, load_settings
from ai_stack.gateway.config import GatewayConfig, render_nginx_conf


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ai-stack", description="Operate the ai-stack services.")
    commands = parser.add_subparsers(dest="command", required=True)
    keys = commands.add_parser("keys", help="manage API keys").add_subparsers(dest="action", required=True)
    create = keys.add_parser("create", help="create a key and print it (only once)")
    create.add_argument("--name", required=True)
    keys.add_parser("list", help="list keys (never the keys themselves)")
    revoke = keys.add_parser("revoke", help="revoke a key by id")
    revoke.add_argument("key_id")
    gateway = commands.add_parser("gateway", help="gateway configuration").add_subparsers(
        dest="action", required=True
    )
    render = gateway.add_parser("render", help="write nginx.conf")
    render.add_argument("--out", type=Path, required=True)
    render.add_argument("--temp-dir", type=Path, required=True)
    render.add_argument("--user", default=None, help="nginx worker user (when started as root)")
    render.add_argument("--listen", action="append", default=None, help="address to listen on")
    commands.add_parser("status", help="show the stack's processes and health")
    return parser


def _keys(args: argparse.Namespace) -> int:
    store = KeyStore(load_settings(AuthSettings).keys_file)
    if args.action == "create":
        key, _ = store.create(args.name)
        print(key)
    elif args.action == "list":
        for item in store.load():
            state = "revoked" if item.revoked else "active"
            print(f"{item.id}\t{item.name}\t{item.created_at}\t{state}")
    else:
        try:
            store.revoke(args.key_id)
        except KeyError:
            print(f"no key with id {args.key_id}", file=sys.stderr)
            return 1
    return 0


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
        upstreams=upstreams(),
        listen_addresses=tuple(args.listen or ["127.0.0.1"]),
        worker_user=args.user,
        workers=stack.gateway_workers,
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render_nginx_conf(config))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `ai-stack` console script."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "keys":
            return _keys(args)
        if args.command == "gateway":
            return _render(args)
        return print_status(load_settings(StackSettings))
    except SettingsError as exc:
        print(f"ai-stack: {exc}", file=sys.stderr)
        return 2
    except KeyFileError as exc:
        print(f"ai-stack: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
