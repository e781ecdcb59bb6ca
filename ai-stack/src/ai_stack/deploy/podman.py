"""Running the stack's containers with Podman: `ai-stack podman up`, `down` and `status`.

It works on Podman 4.3 (Debian 12), whose podman-compose knows no profiles and no health-gated
start, so it drives `podman` itself from the same `Stack` the compose file is rendered from:
networks, volumes and secrets first, then each container once the ones it depends on are healthy.
Reruns are idempotent: a container whose configuration (arguments, image, secrets) is unchanged is
left running; a changed one is replaced.
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ai_stack.deploy.compose import HEALTH_INTERVAL_S, HEALTH_RETRIES, HEALTH_TIMEOUT_S
from ai_stack.deploy.containers import Container, Stack

CONFIG_LABEL = "ai-stack.config"
SECRET_LABEL = "ai-stack.sha256"
PROJECT_LABEL = "ai-stack.project"


NO_REGISTRY_HINT = (
    "An image that is not here is pulled from its registry; where none is reachable, "
    "scripts/podman-base.sh builds local PostgreSQL and Redis images (then set "
    "AI_STACK_PODMAN_POSTGRES_IMAGE, AI_STACK_PODMAN_REDIS_IMAGE and AI_STACK_PODMAN_QDRANT=embedded)."
)


class PodmanError(RuntimeError):
    """A podman command failed, or a container did not become healthy."""


@dataclass(frozen=True)
class Result:
    returncode: int
    stdout: str
    stderr: str


Runner = Callable[[Sequence[str]], Result]


def run_podman(args: Sequence[str]) -> Result:
    """Runs `podman ARGS` (the real runner)."""
    try:
        done = subprocess.run(["podman", *args], capture_output=True, text=True, timeout=600, check=False)
    except subprocess.TimeoutExpired:
        return Result(124, "", f"podman {' '.join(args[:2])} did not answer in 600 s")
    return Result(done.returncode, done.stdout, done.stderr)


def run_args(stack: Stack, container: Container, own_images: set[str], health_timer: bool) -> list[str]:
    """`podman run` arguments of `container` (without the configuration label)."""
    args = [
        "run",
        "-d",
        "--name",
        stack.qualified(container.name),
        "--label",
        f"{PROJECT_LABEL}={stack.project}",
    ]
    args += ["--network", stack.project, "--network-alias", container.name]
    if container.edge:
        args += ["--network", stack.qualified("edge")]
    for key, value in container.environment.items():
        args += ["--env", f"{key}={value}"]
    for secret in container.secrets:
        args += ["--secret", f"{stack.qualified(secret)},type=mount,target={secret}"]
    for volume, path in container.volumes:
        args += ["--volume", f"{stack.qualified(volume)}:{path}"]
    for port in container.ports:
        args += ["--publish", port]
    if container.health:
        # A JSON array without the "CMD" marker: Podman 4.3 splits one that starts with "CMD" on
        # spaces (JSON text and all), and prepends the marker itself to any other array.
        args += ["--health-cmd", json.dumps(list(container.health))]
        # Without systemd Podman cannot schedule the checks; `healthy()` runs them on demand.
        args += ["--health-interval", f"{HEALTH_INTERVAL_S}s" if health_timer else "disable"]
        args += ["--health-timeout", f"{HEALTH_TIMEOUT_S}s", "--health-retries", str(HEALTH_RETRIES)]
        args += ["--health-start-period", f"{container.health_start_s}s"]
    if container.image in own_images:
        args += ["--cap-drop", "all", "--security-opt", "no-new-privileges"]
    args += ["--memory", f"{container.memory_mib}m", "--restart", "unless-stopped", container.image]
    return [*args, *container.command]


class Podman:
    """The stack's containers on this host, through a `Runner` (tests pass their own)."""

    def __init__(
        self, stack: Stack, own_images: set[str], runner: Runner = run_podman, health_timer: bool = False
    ):
        self._stack = stack
        self._own_images = own_images
        self._run = runner
        self._health_timer = health_timer
        self._image_ids: dict[str, str] = {}

    def _ok(self, *args: str) -> Result:
        result = self._run(args)
        if result.returncode != 0:
            raise PodmanError(f"podman {' '.join(args[:3])} failed: {result.stderr.strip()[-500:]}")
        return result

    def _exists(self, kind: str, name: str) -> bool:
        # Podman 4.3 has no `secret exists`: inspect answers for every kind.
        return self._run([kind, "inspect", name]).returncode == 0

    def _label(self, kind: str, name: str, label: str) -> str:
        # Where inspect keeps labels differs by kind (a wrong path is an error, read as "no label").
        where = {"container": ".Config.Labels", "secret": ".Spec.Labels"}[kind]
        result = self._run([kind, "inspect", "--format", f'{{{{ index {where} "{label}" }}}}', name])
        return result.stdout.strip() if result.returncode == 0 else ""

    def _image_id(self, image: str) -> str:
        # Every service container shares one image: inspect it once per `up`.
        if image in self._image_ids:
            return self._image_ids[image]
        result = self._run(["image", "inspect", "--format", "{{.Id}}", image])
        if result.returncode != 0:
            raise PodmanError(f"image {image} is missing: build it first (`ai-stack podman build`)")
        self._image_ids[image] = result.stdout.strip()
        return self._image_ids[image]

    def config_hash(
        self, container: Container, secret_hashes: dict[str, str], volume_hashes: dict[str, str] | None = None
    ) -> str:
        """What a running container must match to be kept: its arguments, image, secrets and the
        configuration files `up` puts into its volumes."""
        volume_hashes = volume_hashes or {}
        parts = {
            "args": run_args(self._stack, container, self._own_images, self._health_timer),
            "image": self._image_id(container.image),
            "secrets": {s: secret_hashes[s] for s in container.secrets},
            "volumes": {v: volume_hashes[v] for v, _ in container.volumes if v in volume_hashes},
        }
        return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]

    def up(
        self,
        containers: Sequence[Container],
        secret_files: dict[str, Path],
        timeout_s: float,
        say: Callable[[str], None] = print,
        volume_files: dict[str, dict[str, bytes]] | None = None,
    ) -> None:
        """Starts `containers` (in order, each once its dependencies are healthy), creating what
        they need and writing `volume_files` (volume role -> files) into their volumes; replaces
        those whose configuration changed."""
        self._image_ids.clear()
        missing = sorted({s for c in containers for s in c.secrets} - secret_files.keys())
        if missing:
            raise PodmanError(f"no file for the secrets {', '.join(missing)}")
        secret_hashes = {
            name: hashlib.sha256(path.read_bytes()).hexdigest() for name, path in secret_files.items()
        }
        used = {v for c in containers for v, _ in c.volumes}
        volume_files = {role: files for role, files in (volume_files or {}).items() if role in used}
        volume_hashes = {role: _files_digest(files) for role, files in volume_files.items()}
        wanted = {c.name: self.config_hash(c, secret_hashes, volume_hashes) for c in containers}
        for container in reversed(containers):
            name = self._stack.qualified(container.name)
            if (
                self._exists("container", name)
                and self._label("container", name, CONFIG_LABEL) != wanted[container.name]
            ):
                say(f"replacing {name} (its configuration changed)")
                self._ok("rm", "-f", "-t", "10", name)
        self._networks()
        for volume in sorted({v for c in containers for v, _ in c.volumes}):
            if not self._exists("volume", self._stack.qualified(volume)):
                self._ok(
                    "volume",
                    "create",
                    "--label",
                    f"{PROJECT_LABEL}={self._stack.project}",
                    self._stack.qualified(volume),
                )
        for secret in sorted({s for c in containers for s in c.secrets}):
            self._secret(secret, secret_files[secret], secret_hashes[secret])
        for role, files in volume_files.items():
            self._fill_volume(role, files)
        for container in containers:
            self._start(container, wanted[container.name], timeout_s, say)

    def _networks(self) -> None:
        for name, internal in ((self._stack.project, True), (self._stack.qualified("edge"), False)):
            if not self._exists("network", name):
                self._ok("network", "create", *(["--internal"] if internal else []), name)

    def _fill_volume(self, role: str, files: dict[str, bytes]) -> None:
        with tempfile.NamedTemporaryFile(suffix=".tar") as archive:
            archive.write(_tar(files))
            archive.flush()
            self._ok("volume", "import", self._stack.qualified(role), archive.name)

    def _secret(self, secret: str, path: Path, digest: str) -> None:
        name = self._stack.qualified(secret)
        if self._exists("secret", name):
            if self._label("secret", name, SECRET_LABEL) == digest:
                return
            self._ok("secret", "rm", name)
        self._ok("secret", "create", "--label", f"{SECRET_LABEL}={digest}", name, str(path))

    def _start(self, container: Container, config: str, timeout_s: float, say: Callable[[str], None]) -> None:
        for dependency in container.depends_on:
            self.wait_healthy(dependency, timeout_s)
        name = self._stack.qualified(container.name)
        if self._exists("container", name):
            if self.state(container.name) != "running":
                self._ok("start", name)
                say(f"started {name}")
            return
        args = run_args(self._stack, container, self._own_images, self._health_timer)
        try:
            self._ok(*args[:2], "--label", f"{CONFIG_LABEL}={config}", *args[2:])
        except PodmanError as exc:
            raise PodmanError(f"{name} (image {container.image}): {exc}\n{NO_REGISTRY_HINT}") from None
        say(f"created {name}")

    def state(self, role: str) -> str:
        """running, exited, … or missing."""
        result = self._run(
            ["container", "inspect", "--format", "{{.State.Status}}", self._stack.qualified(role)]
        )
        return result.stdout.strip() if result.returncode == 0 else "missing"

    def healthy(self, role: str) -> bool:
        """Runs its health check now (a container without one counts as healthy when running)."""
        if self.state(role) != "running":
            return False
        result = self._run(["healthcheck", "run", self._stack.qualified(role)])
        return result.returncode == 0 or "has no defined healthcheck" in result.stderr

    def wait_healthy(self, role: str, timeout_s: float, poll_s: float = 1.0) -> None:
        """Waits until `role` is healthy; PodmanError with its last log lines after `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        while not self.healthy(role):
            if time.monotonic() > deadline or self.state(role) in ("exited", "missing"):
                logs = self._run(["logs", "--tail", "20", self._stack.qualified(role)])
                raise PodmanError(
                    f"{self._stack.qualified(role)} is not healthy ({self.state(role)}) after"
                    f" {timeout_s:.0f} s; its last log lines:\n{logs.stdout}{logs.stderr}"
                )
            time.sleep(poll_s)

    def down(self, containers: Sequence[Container], say: Callable[[str], None] = print) -> None:
        """Stops and removes `containers` in reverse order; volumes, secrets and networks stay."""
        for container in reversed(containers):
            name = self._stack.qualified(container.name)
            if self._exists("container", name):
                self._ok("rm", "-f", "-t", "15", name)
                say(f"removed {name}")

    def purge(self, say: Callable[[str], None] = print) -> None:
        """Removes what `up` created besides the containers: volumes (the data!), secrets, networks."""
        for volume in self._stack.volumes:
            if self._exists("volume", self._stack.qualified(volume)):
                self._ok("volume", "rm", "-f", self._stack.qualified(volume))
                say(f"removed the volume {self._stack.qualified(volume)}")
        for secret in self._stack.secrets:
            if self._exists("secret", self._stack.qualified(secret)):
                self._ok("secret", "rm", self._stack.qualified(secret))
        for network in (self._stack.qualified("edge"), self._stack.project):
            if self._exists("network", network):
                self._ok("network", "rm", network)


def _files_digest(files: dict[str, bytes]) -> str:
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    return digest.hexdigest()


def _tar(files: dict[str, bytes]) -> bytes:
    """A tar of `files` with their directories, readable by any user (images run as their own)."""
    buffer = io.BytesIO()
    directories = {str(parent) for name in files for parent in Path(name).parents} - {"."}
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for directory in sorted(directories):
            info = tarfile.TarInfo(directory)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            archive.addfile(info)
        for name in sorted(files):
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(files[name]), 0o644
            archive.addfile(info, io.BytesIO(files[name]))
    return buffer.getvalue()
