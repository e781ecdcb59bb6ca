"""`ai-stack podman …`: the stack in containers (render the compose file and Quadlet units, build
the images, start, stop and show the containers)."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from ai_stack.cli.stack import StackSettings
from ai_stack.core.files import write_atomically
from ai_stack.core.settings import load_settings
from ai_stack.deploy.build import (
    CONTAINERFILE,
    SOURCE_LABEL,
    BuildInputs,
    build_args,
    source_digest,
    torch_wheels,
)
from ai_stack.deploy.compose import render_compose
from ai_stack.deploy.containers import OBSERVABILITY_PROFILE, Container, Stack, stack
from ai_stack.deploy.observability_files import observability_volumes
from ai_stack.deploy.podman import Podman, PodmanError
from ai_stack.deploy.quadlet import quadlet_units
from ai_stack.deploy.secrets import ensure_generated, secret_files
from ai_stack.deploy.settings import PodmanSettings
from ai_stack.observability.settings import ObservabilitySettings


def add_podman_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    actions = commands.add_parser("podman", help="the stack in Podman containers").add_subparsers(
        dest="action", required=True
    )
    render = actions.add_parser("render", help="write compose.yaml and the Quadlet units")
    render.add_argument("--out", type=Path, required=True, help="directory to write into")
    build = actions.add_parser("build", help="build the service and gateway images")
    build.add_argument(
        "--base-image", help="Debian 12 image to build on (default: AI_STACK_PODMAN_BASE_IMAGE)"
    )
    build.add_argument(
        "--context", type=Path, default=Path.cwd(), help="the checkout (default: the current directory)"
    )
    build.add_argument(
        "--if-changed", action="store_true", help="skip images already built from this checkout"
    )
    for name, text in (
        ("up", "start the containers, each once its dependencies are healthy"),
        ("down", "stop and remove the containers (volumes and secrets stay)"),
        ("status", "the containers and their health"),
    ):
        action = actions.add_parser(name, help=text)
        if name == "up":
            action.add_argument(
                "--timeout", type=float, default=180.0, help="seconds per container (default 180)"
            )
        if name == "down":
            action.add_argument(
                "--purge",
                action="store_true",
                help="also remove the volumes (all data), secrets and networks",
            )


def _stack(settings: PodmanSettings, stack_settings: StackSettings) -> Stack:
    return stack(settings, stack_settings.gateway_https_port, stack_settings.gateway_http_port)


def _own(settings: PodmanSettings) -> set[str]:
    return {settings.image, settings.gateway_image}


def _chosen(spec: Stack, settings: PodmanSettings) -> list[Container]:
    return list(spec.chosen(frozenset({OBSERVABILITY_PROFILE}) if settings.observability else frozenset()))


def render_files(spec: Stack, own_images: set[str]) -> dict[str, str]:
    """Relative path -> text of everything `render` writes."""
    files = {"compose.yaml": render_compose(spec, own_images)}
    units = quadlet_units(spec, own_images, frozenset({OBSERVABILITY_PROFILE}))
    files |= {f"quadlet/{name}": text for name, text in units.items()}
    return files


def _render(out: Path, spec: Stack, own_images: set[str]) -> int:
    for relative, text in render_files(spec, own_images).items():
        write_atomically(out / relative, text.encode(), mode=0o644)
    print(f"wrote compose.yaml and the Quadlet units to {out}")
    return 0


def _pip_config(name: str) -> str | None:
    value = os.environ.get(f"PIP_{name.upper().replace('-', '_')}")
    if value:
        return value
    done = subprocess.run(
        [sys.executable, "-m", "pip", "config", "get", f"global.{name}"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() or None if done.returncode == 0 else None


def _image_source(image: str) -> str:
    done = subprocess.run(
        ["podman", "image", "inspect", "--format", f'{{{{ index .Labels "{SOURCE_LABEL}" }}}}', image],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() if done.returncode == 0 else ""


def _build(settings: PodmanSettings, args: argparse.Namespace) -> int:
    context: Path = args.context.resolve()
    if not (context / CONTAINERFILE).is_file():
        print(
            f"ai-stack: no {CONTAINERFILE} under {context}: run it in the checkout or pass --context",
            file=sys.stderr,
        )
        return 2
    ca = _pip_config("cert")
    inputs = BuildInputs(
        repo_root=context,
        base_image=args.base_image or settings.base_image,
        wheels_dir=torch_wheels(_pip_config("find-links")),
        ca_bundle=Path(ca) if ca else None,
    )
    source = source_digest(context)
    for target, tag in (("service", settings.image), ("gateway", settings.gateway_image)):
        if args.if_changed and _image_source(tag) == source:
            print(f"{tag} is built from this checkout already")
            continue
        print(f"building {tag} (target {target}) on {inputs.base_image}", flush=True)
        done = subprocess.run(["podman", *build_args(inputs, target, tag, source)], check=False)
        if done.returncode != 0:
            return done.returncode
    return 0


def _status(podman: Podman, containers: list[Container]) -> int:
    table = Table(title="ai-stack containers")
    for column in ("container", "state", "health"):
        table.add_column(column)
    all_healthy = True
    for container in containers:
        state = podman.state(container.name)
        healthy = state == "running" and podman.healthy(container.name)
        all_healthy &= healthy
        table.add_row(
            container.name, state, "healthy" if healthy else "-" if state != "running" else "unhealthy"
        )
    Console(width=100).print(table)
    return 0 if all_healthy else 5


def run_podman_command(args: argparse.Namespace) -> int:
    settings = load_settings(PodmanSettings)
    stack_settings = load_settings(StackSettings)
    spec = _stack(settings, stack_settings)
    if args.action == "render":
        return _render(args.out, spec, _own(settings))
    if args.action == "build":
        return _build(settings, args)
    podman = Podman(spec, _own(settings), health_timer=Path("/run/systemd/system").is_dir())
    containers = _chosen(spec, settings)
    try:
        if args.action == "up":
            files = secret_files(stack_settings.home, settings)
            for name in ensure_generated(files, settings):
                print(f"generated the secret {name} ({files[name]})")
            volume_files = (
                observability_volumes(load_settings(ObservabilitySettings))
                if settings.observability
                else None
            )
            podman.up(containers, files, args.timeout, volume_files=volume_files)
            return _status(podman, containers)
        if args.action == "down":
            # Every container of the stack, a profile's too: one started earlier must not outlive it.
            podman.down(list(spec.containers))
            if args.purge:
                podman.purge()
            return 0
        return _status(podman, containers)
    except FileNotFoundError as exc:
        print(f"ai-stack: {exc}", file=sys.stderr)
        return 2
    except PodmanError as exc:
        print(f"ai-stack: {exc}", file=sys.stderr)
        return 4
