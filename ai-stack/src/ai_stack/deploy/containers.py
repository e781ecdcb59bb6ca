"""The stack as containers, derived from the service registry (pure: settings in, specs out).

One list of `Container`s feeds the compose file, the Quadlet units and `ai-stack podman up`, so the
three never disagree. A registry service is wired by the fields its settings class declares: a
`redis_url` gets the redis-url secret, an `aidb_url` the aidb container's address, a `data_dir` a
volume of its own, and so on. A new service therefore joins with its registry entry alone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from ai_stack.deploy.settings import PodmanSettings
from ai_stack.registry import SERVICES, Service, proxied
from ai_stack.registry import service as registry_service

HOME = "/var/lib/ai-stack"
SECRETS = "/run/secrets"
IMAGE_JEMALLOC = "/usr/local/lib/libjemalloc.so.2"
GATEWAY_HTTPS_PORT = 8443
GATEWAY_HTTP_PORT = 8088
QDRANT_PORT = 6333
OBSERVABILITY_PROFILE = "observability"


@dataclass(frozen=True)
class Container:
    """One container: what runs, what it reads, where it is reached."""

    name: str  # its role and DNS name on the stack's network (aidb, postgres, gateway, …)
    image: str
    command: tuple[str, ...] = ()
    environment: dict[str, str] = field(default_factory=dict)
    secrets: tuple[str, ...] = ()  # mounted at /run/secrets/<name>
    volumes: tuple[tuple[str, str], ...] = ()  # (volume role, path in the container)
    ports: tuple[str, ...] = ()  # published: "[host address:]host port:container port"
    health: tuple[str, ...] = ()  # the check's argv; empty: the image's own
    health_start_s: int = 30
    depends_on: tuple[str, ...] = ()
    memory_mib: int = 512
    profile: str | None = None  # started only with this compose profile
    edge: bool = False  # also on the edge network, the only one that reaches the host


@dataclass(frozen=True)
class Stack:
    """Every container, with the secrets and volumes they use."""

    project: str
    containers: tuple[Container, ...]

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(sorted({s for c in self.containers for s in c.secrets}))

    @property
    def volumes(self) -> tuple[str, ...]:
        return tuple(sorted({v for c in self.containers for v, _ in c.volumes}))

    def chosen(self, profiles: frozenset[str]) -> tuple[Container, ...]:
        """The containers that run: those of no profile, and those of `profiles`."""
        return tuple(c for c in self.containers if c.profile is None or c.profile in profiles)

    def qualified(self, role: str) -> str:
        """The host-wide name of a container, volume or secret: `<project>-<role>`."""
        return f"{self.project}-{role}"


def _python_health(url: str) -> tuple[str, ...]:
    return ("python", "-m", "ai_stack.deploy.healthcheck", url)


def _service_address(field_name: str) -> Service | None:
    """The registry service a `<name>_url` settings field points at (docs_url → docs-search)."""
    stem = field_name.removesuffix("_url")
    for service in SERVICES:
        if stem in (service.name.replace("-", "_"), service.gateway_prefix):
            return service
    return None


@dataclass
class _Wiring:
    env: dict[str, str] = field(default_factory=dict)
    secrets: list[str] = field(default_factory=lambda: ["gateway-secret"])
    volumes: list[tuple[str, str]] = field(default_factory=list)
    uses: list[str] = field(default_factory=list)  # the backing containers it needs healthy first


def _wiring(service: Service, settings: PodmanSettings) -> _Wiring:
    fields = service.settings_class().model_fields
    prefix = service.env_prefix
    wiring = _Wiring()
    env, secrets, volumes, uses = wiring.env, wiring.secrets, wiring.volumes, wiring.uses
    for name in fields:
        target = _service_address(name) if name.endswith("_url") else None
        if target is not None:
            env[f"{prefix}{name.upper()}"] = f"http://{target.name}:{target.default_port}"
    if "postgres_host" in fields:
        host, _, port = (settings.postgres_address or "postgres:5432").rpartition(":")
        env |= {f"{prefix}POSTGRES_HOST": host, f"{prefix}POSTGRES_PORT": port}
        env[f"{prefix}POSTGRES_PASSWORD_FILE"] = f"{SECRETS}/postgres-password"
        secrets.append("postgres-password")
        uses += ["postgres"] if settings.postgres_address is None else []
    if "redis_url" in fields:
        env[f"{prefix}REDIS_URL_FILE"] = f"{SECRETS}/redis-url"
        secrets.append("redis-url")
        uses += ["redis"] if settings.redis_address is None else []
    if "qdrant_url" in fields and settings.qdrant != "embedded":
        url = f"http://qdrant:{QDRANT_PORT}" if settings.qdrant == "container" else settings.qdrant
        env[f"{prefix}QDRANT_URL"] = url
        uses += ["qdrant"] if settings.qdrant == "container" else []
    if "data_dir" in fields:
        env[f"{prefix}DATA_DIR"] = f"{HOME}/data"
        volumes.append((f"{service.name}-data", f"{HOME}/data"))
    if "keys_file" in fields:
        env[f"{prefix}KEYS_FILE"] = f"{HOME}/keys/api-keys.json"
        volumes.append(("keys", f"{HOME}/keys"))
    return wiring


def _backing(settings: PodmanSettings) -> list[Container]:
    backing: list[Container] = []
    if settings.postgres_address is None:
        backing.append(
            Container(
                name="postgres",
                image=settings.postgres_image,
                environment={
                    "POSTGRES_USER": "ai_stack",
                    "POSTGRES_DB": "ai_stack",
                    "POSTGRES_PASSWORD_FILE": f"{SECRETS}/postgres-password",
                },
                secrets=("postgres-password",),
                volumes=(("postgres-data", "/var/lib/postgresql/data"),),
                health=("pg_isready", "-U", "ai_stack", "-d", "ai_stack"),
                memory_mib=settings.memory_limit_mib("postgres"),
            )
        )
    if settings.redis_address is None:
        backing.append(
            Container(
                name="redis",
                image=settings.redis_image,
                # The password is in a config file (a secret), never on a command line.
                command=("redis-server", f"{SECRETS}/redis-conf"),
                secrets=("redis-conf",),
                volumes=(("redis-data", "/data"),),
                health=(
                    "sh",
                    "-c",
                    # The password reaches redis-cli by its environment, not its argv.
                    "REDISCLI_AUTH=\"$(sed -n 's/^requirepass //p' /run/secrets/redis-conf)\" redis-cli ping"
                    " | grep -q PONG",
                ),
                memory_mib=settings.memory_limit_mib("redis"),
            )
        )
    if settings.qdrant == "container":
        backing.append(
            Container(
                name="qdrant",
                image=settings.qdrant_image,
                volumes=(("qdrant-data", "/qdrant/storage"),),
                # The image has no shell client: its readiness is checked by aidb's own, which
                # waits for it.
                health=("bash", "-c", f"exec 3<>/dev/tcp/127.0.0.1/{QDRANT_PORT}"),
                memory_mib=settings.memory_limit_mib("qdrant"),
            )
        )
    return backing


def _service(service: Service, settings: PodmanSettings) -> Container:
    wiring = _wiring(service, settings)
    env = wiring.env | {
        f"{service.env_prefix}HOST": "0.0.0.0",
        f"{service.env_prefix}PORT": str(service.default_port),
        "AI_STACK_HEALTHCHECK_URL": f"http://127.0.0.1:{service.default_port}{service.health_path}",
    }
    if settings.observability:
        env |= {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://jaeger:4318", "OTEL_SERVICE_NAME": service.name}
    if service.allocator == "jemalloc":
        env["LD_PRELOAD"] = IMAGE_JEMALLOC  # installed and linked there by the Containerfile
    return Container(
        name=service.name,
        image=settings.image,
        command=("python", "-m", service.module),
        environment=dict(sorted(env.items())),
        secrets=tuple(wiring.secrets),
        volumes=tuple(wiring.volumes),
        health=_python_health(env["AI_STACK_HEALTHCHECK_URL"]),
        # The embeddings model loads for up to a minute on a small machine.
        health_start_s=120,
        depends_on=tuple(wiring.uses),
        memory_mib=_memory_mib(service, settings),
    )


def _memory_mib(service: Service, settings: PodmanSettings) -> int:
    """The service's own limit; a service that runs the embedded vector engine (Qdrant neither a
    container nor a URL) gets the Qdrant container's budget on top: its engine replicas hold the
    shard a Qdrant container would have held."""
    own = settings.memory_limit_mib(service.name)
    if settings.qdrant == "embedded" and "qdrant_url" in service.settings_class().model_fields:
        return own + settings.memory_limit_mib("qdrant")
    return own


def _gateway(settings: PodmanSettings, https_port: int, http_port: int) -> Container:
    upstreams = {"auth": [f"auth:{registry_service('auth').default_port}"]} | {
        s.name: [f"{s.name}:{s.default_port}"] for s in proxied()
    }
    return Container(
        name="gateway",
        image=settings.gateway_image,
        environment={"AI_STACK_GATEWAY_UPSTREAMS": json.dumps(upstreams, separators=(",", ":"))},
        secrets=("gateway-secret", "tls-cert", "tls-key"),
        ports=(f"{https_port}:{GATEWAY_HTTPS_PORT}", f"{http_port}:{GATEWAY_HTTP_PORT}"),
        health=_python_health(f"https://127.0.0.1:{GATEWAY_HTTPS_PORT}/health"),
        depends_on=tuple(s.name for s in SERVICES),
        memory_mib=settings.memory_limit_mib("gateway"),
        edge=True,
    )


def _observability(settings: PodmanSettings) -> list[Container]:
    common = {"profile": OBSERVABILITY_PROFILE, "edge": True}
    return [
        Container(
            name="jaeger",
            image=settings.jaeger_image,
            environment={"COLLECTOR_OTLP_ENABLED": "true"},
            ports=("127.0.0.1:16686:16686",),
            memory_mib=settings.memory_limit_mib("jaeger"),
            **common,  # type: ignore[arg-type]
        ),
        Container(
            name="prometheus",
            image=settings.prometheus_image,
            command=(
                "--config.file=/etc/ai-stack/prometheus/prometheus.yml",
                "--storage.tsdb.retention.time=15d",
            ),
            secrets=("gateway-secret",),
            volumes=(("prometheus-config", "/etc/ai-stack/prometheus"), ("prometheus-data", "/prometheus")),
            ports=("127.0.0.1:9090:9090",),
            memory_mib=settings.memory_limit_mib("prometheus"),
            **common,  # type: ignore[arg-type]
        ),
        Container(
            name="grafana",
            image=settings.grafana_image,
            environment={"GF_PATHS_PROVISIONING": "/etc/ai-stack/grafana/provisioning"},
            volumes=(("grafana-config", "/etc/ai-stack/grafana"), ("grafana-data", "/var/lib/grafana")),
            ports=("127.0.0.1:3000:3000",),
            depends_on=("prometheus",),
            memory_mib=settings.memory_limit_mib("grafana"),
            **common,  # type: ignore[arg-type]
        ),
    ]


def stack(settings: PodmanSettings, https_port: int = 8443, http_port: int = 8088) -> Stack:
    """The stack's containers in start order, the observability profile's last."""
    containers = [
        *_backing(settings),
        *(_service(s, settings) for s in SERVICES),
        _gateway(settings, https_port, http_port),
    ]
    containers += _observability(settings)
    return Stack(settings.project, tuple(containers))
