"""`ai-stack observability render`: the monitoring configuration of this stack, from the registry."""

from __future__ import annotations

import argparse
from pathlib import Path

from ai_stack.cli.stack import StackSettings
from ai_stack.core.settings import load_settings
from ai_stack.observability.daemons import shell_lines
from ai_stack.observability.render import StackPaths, render
from ai_stack.observability.rules import ObservedService
from ai_stack.observability.settings import ObservabilitySettings
from ai_stack.registry import SERVICES


def add_observability_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    actions = commands.add_parser(
        "observability", help="monitoring configuration (Prometheus, rules, Grafana)"
    ).add_subparsers(dest="action", required=True)
    render_command = actions.add_parser(
        "render", help="write prometheus.yml, the alert rules, the blackbox module and Grafana's files"
    )
    render_command.add_argument("--out", type=Path, required=True, help="directory to write into")
    render_command.add_argument(
        "--tls-cert",
        type=Path,
        default=None,
        help="the gateway's certificate the HTTPS probe trusts (default: <home>/tls/cert.pem)",
    )
    render_command.add_argument(
        "--gateway-secret-file",
        type=Path,
        default=None,
        help="the file Prometheus reads the gateway secret from (default: <home>/secrets/gateway-secret)",
    )

    listing = actions.add_parser(
        "daemons", help="Prometheus and its exporters as the startup script runs them"
    )
    listing.add_argument("--shell", action="store_true", help="one `name executable port health_path` a line")


def observed_services() -> list[ObservedService]:
    """Every service of the registry, on the port its own settings resolve to."""
    return [ObservedService(s.name, s.load_settings().port) for s in SERVICES]


def run_observability(args: argparse.Namespace) -> int:
    settings = load_settings(ObservabilitySettings)
    if args.action == "daemons":
        lines = shell_lines(settings)
        print("\n".join(lines if args.shell else [" ".join(line.split()[:3]) for line in lines]))
        return 0
    stack = load_settings(StackSettings)
    paths = StackPaths(
        gateway_secret_file=args.gateway_secret_file or stack.home / "secrets/gateway-secret",
        tls_cert=args.tls_cert or stack.tls_dir / "cert.pem",
        data_dir=stack.home,
        gateway_https_port=stack.gateway_https_port,
    )
    for path in render(args.out, observed_services(), settings, paths):
        print(path)
    return 0
