"""Quadlet units (`.container`, `.network`, `.volume`) of the stack, for systemd hosts with Podman
4.6 or newer (pure: the stack in, file names and texts out).

Quadlet came with Podman 4.4, but `.network` units, `Secret=`, `HealthCmd=` and `PodmanArgs=` came
later; 4.6 is the first release with every key used here. On Podman 4.3 (Debian 12) use
`podman generate systemd --new` on the containers `ai-stack podman up` created.
"""

from __future__ import annotations

from ai_stack.deploy.compose import HEALTH_INTERVAL_S, HEALTH_RETRIES, HEALTH_TIMEOUT_S
from ai_stack.deploy.containers import Container, Stack


def _quote(arg: str) -> str:
    """One argument in systemd's command-line syntax (double quotes, `\\` and `"` escaped, `%` doubled)."""
    escaped = arg.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%")
    plain = escaped and all(c.isalnum() or c in "-_./:=,@+" for c in escaped)
    return escaped if plain else f'"{escaped}"'


def _command(args: tuple[str, ...]) -> str:
    return " ".join(_quote(a) for a in args)


def _container_unit(stack: Stack, container: Container, own_images: set[str]) -> str:
    deps = " ".join(f"{stack.qualified(d)}.service" for d in container.depends_on)
    lines = ["[Unit]", f"Description=ai-stack {container.name}"]
    if deps:
        lines += [f"Requires={deps}", f"After={deps}"]
    lines += [
        "",
        "[Container]",
        f"ContainerName={stack.qualified(container.name)}",
        f"Image={container.image}",
    ]
    if container.command:
        lines.append(f"Exec={_command(container.command)}")
    lines += [f"Environment={_quote(f'{k}={v}')}" for k, v in container.environment.items()]
    lines += [f"Secret={stack.qualified(s)},type=mount,target={s}" for s in container.secrets]
    lines += [f"Volume={stack.qualified(v)}.volume:{path}" for v, path in container.volumes]
    lines.append(f"Network={stack.project}.network")
    if container.edge:
        lines.append(f"Network={stack.qualified('edge')}.network")
    lines += [f"PublishPort={p}" for p in container.ports]
    if container.health:
        lines += [
            f"HealthCmd={_command(container.health)}",
            f"HealthInterval={HEALTH_INTERVAL_S}s",
            f"HealthTimeout={HEALTH_TIMEOUT_S}s",
            f"HealthRetries={HEALTH_RETRIES}",
            f"HealthStartPeriod={container.health_start_s}s",
        ]
    if container.image in own_images:
        lines += ["DropCapability=all", "NoNewPrivileges=true"]
    lines.append(f"PodmanArgs=--network-alias={container.name} --memory={container.memory_mib}m")
    lines += ["", "[Service]", "Restart=on-failure", "TimeoutStartSec=300", "", "[Install]"]
    lines.append("WantedBy=multi-user.target default.target")
    return "\n".join(lines) + "\n"


def quadlet_units(
    stack: Stack, own_images: set[str], profiles: frozenset[str] = frozenset()
) -> dict[str, str]:
    """File name -> text of every unit: the containers (those of `profiles` too), their networks
    and volumes."""
    header = "# Generated from the service registry by `ai-stack podman render`; do not edit.\n"
    units = {
        f"{stack.project}.network": f"{header}[Network]\nNetworkName={stack.project}\nInternal=true\n",
        f"{stack.qualified('edge')}.network": f"{header}[Network]\nNetworkName={stack.qualified('edge')}\n",
    }
    chosen = stack.chosen(profiles)
    for volume in sorted({v for c in chosen for v, _ in c.volumes}):
        units[f"{stack.qualified(volume)}.volume"] = (
            f"{header}[Volume]\nVolumeName={stack.qualified(volume)}\n"
        )
    for container in chosen:
        units[f"{stack.qualified(container.name)}.container"] = header + _container_unit(
            stack, container, own_images
        )
    return units
