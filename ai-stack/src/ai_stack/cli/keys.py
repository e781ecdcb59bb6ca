"""`ai-stack keys create|list|revoke|rotate`: the key file, edited in place; the verifier picks
changes up within its reload interval (a second by default), with no restart."""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys

from rich.console import Console
from rich.table import Table

from ai_stack.auth.keystore import KeyStore, StoredKey, now_utc
from ai_stack.auth.verifier import read_usage
from ai_stack.core.limits import KeyLimits
from ai_stack.core.principal import SCOPES

_DURATION = re.compile(r"(\d{1,6})([mhdw])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str) -> dt.timedelta:
    """`30m`, `12h`, `90d`, `2w` (and `0` for none) as a timedelta; ValueError otherwise."""
    if text.strip() == "0":
        return dt.timedelta(0)
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a duration (for example 30m, 12h, 90d, 2w)")
    return dt.timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def _duration(text: str) -> dt.timedelta:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _limits(text: str) -> KeyLimits:
    try:
        return KeyLimits.parse(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not RATE/BURST/CONCURRENCY (requests per second, burst, concurrent), e.g. 5/10/2"
        ) from None


def add_keys_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    keys = commands.add_parser("keys", help="manage API keys").add_subparsers(dest="action", required=True)
    create = keys.add_parser("create", help="create a key and print it (only once)")
    create.add_argument("--name", required=True)
    create.add_argument(
        "--scope",
        default="read,write",
        help=f"comma-separated scopes from {', '.join(SCOPES)} (default read,write)",
    )
    create.add_argument(
        "--project",
        action="append",
        default=None,
        help="a project the key may use (repeatable; default: every project)",
    )
    create.add_argument("--expires", type=_duration, default=None, help="lifetime, e.g. 90d (default: none)")
    create.add_argument(
        "--limits",
        type=_limits,
        default=None,
        metavar="RATE/BURST/CONCURRENCY",
        help="this key's own limits per service, e.g. 5/10/2 (default: each service's key limits)",
    )
    keys.add_parser("list", help="list keys (never the keys themselves)")
    revoke = keys.add_parser("revoke", help="revoke a key by id")
    revoke.add_argument("key_id")
    update = keys.add_parser("update", help="change a key's grants (same secret); what is not given is kept")
    update.add_argument("key_id")
    update.add_argument("--scope", default=None, help=f"comma-separated scopes from {', '.join(SCOPES)}")
    projects = update.add_mutually_exclusive_group()
    projects.add_argument("--project", action="append", default=None, help="the key's projects (repeatable)")
    projects.add_argument("--every-project", action="store_true", help="lift the project limit")
    limits = update.add_mutually_exclusive_group()
    limits.add_argument("--limits", type=_limits, default=None, metavar="RATE/BURST/CONCURRENCY")
    limits.add_argument("--default-limits", action="store_true", help="each service's key limits again")
    expiry = update.add_mutually_exclusive_group()
    expiry.add_argument("--expires", type=_duration, default=None, help="a new lifetime from now, e.g. 30d")
    expiry.add_argument("--no-expiry", action="store_true")
    rotate = keys.add_parser("rotate", help="a new secret for a key, same grants; prints it once")
    rotate.add_argument("key_id")
    rotate.add_argument(
        "--grace",
        type=_duration,
        default=dt.timedelta(hours=24),
        help="how long the old secret keeps working (default 24h; 0: not at all)",
    )


def run_keys(store: KeyStore, args: argparse.Namespace) -> int:
    """Only a new key goes to stdout (scripts capture it); everything else to stderr."""
    err = Console(stderr=True)
    try:
        if args.action == "create":
            key, stored = store.create(
                args.name,
                scopes=args.scope.split(","),
                projects=args.project,
                expires_in=args.expires,
                limits=args.limits,
            )
            print(key)
            err.print(f"created key {stored.id} ({_grants(stored)}); it is shown only now")
        elif args.action == "rotate":
            key, stored = store.rotate(args.key_id, args.grace)
            print(key)
            until = stored.previous_valid_until or "now"
            err.print(f"rotated key {stored.id}; the old secret works until {until}")
        elif args.action == "update":
            stored = store.update(
                args.key_id,
                scopes=args.scope.split(",") if args.scope else None,
                projects=None if args.every_project else (args.project or "keep"),
                limits=None if args.default_limits else (args.limits or "keep"),
                expires_in=None if args.no_expiry else (args.expires or "keep"),
            )
            err.print(f"updated key {stored.id} ({_grants(stored)}); in effect within seconds")
        elif args.action == "revoke":
            store.revoke(args.key_id)
            err.print(f"revoked key {args.key_id}")
        else:
            _print_keys(store.load(), read_usage(store.path), now_utc())
    except KeyError:
        print(f"no key with id {args.key_id}", file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"ai-stack keys: {exc}", file=sys.stderr)
        return 2
    return 0


def _grants(key: StoredKey) -> str:
    projects = ", ".join(key.projects) if key.projects is not None else "every project"
    return f"scopes {','.join(key.scopes)}; {projects}"


def _state(key: StoredKey, moment: dt.datetime) -> str:
    if key.revoked:
        return "revoked"
    if not key.is_active(moment):
        return "expired"
    return "active (old secret in grace)" if key.previous_is_valid(moment) else "active"


COLUMNS = ("name", "id", "scopes", "projects", "created", "last used", "expires", "state")


def _rows(keys: list[StoredKey], usage: dict[str, str], moment: dt.datetime) -> list[tuple[str, ...]]:
    return [
        (
            key.name,
            key.id,
            ",".join(key.scopes),
            ",".join(key.projects) if key.projects is not None else "*",
            key.created_at,
            usage.get(key.id, "never"),
            key.expires_at or "never",
            _state(key, moment),
        )
        for key in keys
    ]


def _print_keys(keys: list[StoredKey], usage: dict[str, str], moment: dt.datetime) -> None:
    """A table on a terminal; tab-separated lines (with a header) for scripts."""
    rows = _rows(keys, usage, moment)
    if sys.stdout.isatty():
        table = Table(*COLUMNS)
        for row in rows:
            table.add_row(*row)
        Console().print(table)
        return
    for row in (COLUMNS, *rows):
        print("\t".join(row))
