"""`ai-stack services`: the service registry as a table, or as lines for scripts/ai-stack-startup.sh."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from ai_stack.registry import SERVICES, Service


def _port(service: Service, resolve: bool) -> int:
    return service.load_settings().port if resolve else service.default_port


def shell_lines(resolve: bool = True) -> list[str]:
    """`name module port health_path` per service, in start order; the registry keeps spaces out."""
    return [f"{s.name} {s.module} {_port(s, resolve)} {s.health_path}" for s in SERVICES]


def print_services(shell: bool, resolve: bool) -> int:
    """Prints the registry, with the ports the services' settings resolve to unless `resolve` is off."""
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
