"""`ai-stack services`: the service registry as a table, as lines for scripts/ai-stack-startup.sh, or as
JSON for the NixOS module (nix/services.json)."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.table import Table

from ai_stack.registry import SERVICES, Service


def _port(service: Service, resolve: bool) -> int:
    return service.load_settings().port if resolve else service.default_port


def shell_lines(resolve: bool = True) -> list[str]:
    """`name module port health_path preload` per service, in start order; `preload` is the library
    to put in LD_PRELOAD, or `-`. The registry keeps spaces out."""
    return [f"{s.name} {s.module} {_port(s, resolve)} {s.health_path} {s.preload() or '-'}" for s in SERVICES]


def peer_urls(service: Service) -> dict[str, str]:
    """Its settings that hold another service's base URL: `<ENV_PREFIX><PEER>_URL` -> the peer's name.

    A peer is recognised by name: the field `aidb_url` of a settings class points at the service whose
    env prefix is `AI_STACK_AIDB_`, so a new URL setting or service needs no list kept by hand.
    """
    by_suffix = {s.env_prefix.removeprefix("AI_STACK_"): s.name for s in SERVICES if s != service}
    fields = service.settings_class().model_fields
    return {
        f"{service.env_prefix}{field.upper()[:-3]}URL": by_suffix[field.upper()[:-3]]
        for field in sorted(fields)
        if field.endswith("_url") and field.upper()[:-3] in by_suffix
    }


def json_document() -> list[dict[str, Any]]:
    """The registry as deployment tools read it: default ports only, so the output is the same anywhere."""
    return [
        {
            "name": s.name,
            "module": s.module,
            "default_port": s.default_port,
            "env_prefix": s.env_prefix,
            "gateway_prefix": s.gateway_prefix,
            "health_path": s.health_path,
            "allocator": s.allocator,
            "peer_urls": peer_urls(s),
        }
        for s in SERVICES
    ]


def print_services(shell: bool, resolve: bool, as_json: bool = False) -> int:
    """Prints the registry, with the ports the services' settings resolve to unless `resolve` is off."""
    if as_json:
        print(json.dumps(json_document(), indent=2))
        return 0
    if shell:
        print("\n".join(shell_lines(resolve)))
        return 0
    table = Table(title="ai-stack services (in start order)")
    for column in ("service", "module", "port", "gateway", "key", "health"):
        table.add_column(column)
    for s in SERVICES:
        gateway = f"/{s.gateway_prefix}/" if s.gateway_prefix else "-"
        key = ("yes" if s.needs_key else "no") if s.gateway_prefix else "-"
        table.add_row(s.name, s.module, str(_port(s, resolve)), gateway, key, s.health_path)
    Console(width=120).print(table)
    return 0
