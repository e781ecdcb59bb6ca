"""Settings shared by every service: one env prefix per service, `*_FILE` variants for secrets."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from ai_stack.core.limits import KeyLimits

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]


def default_home() -> Path:
    """Where ai-stack keeps its data when AI_STACK_HOME is not set."""
    return Path(os.environ.get("AI_STACK_HOME") or Path.home() / ".local/share/ai-stack")


def shared_gateway_secret() -> SecretStr | None:
    """The install's gateway secret from AI_STACK_GATEWAY_SECRET(_FILE), shared by every service."""
    if value := os.environ.get("AI_STACK_GATEWAY_SECRET"):
        return SecretStr(value.strip())
    if path := os.environ.get("AI_STACK_GATEWAY_SECRET_FILE"):
        try:
            return SecretStr(Path(path).read_text(encoding="utf-8").strip())
        except OSError as exc:
            raise ValueError(
                f"AI_STACK_GATEWAY_SECRET_FILE={path}: cannot read the file ({exc.strerror})"
            ) from exc
    return None


class FileVariantSource(PydanticBaseSettingsSource):
    """Reads `<PREFIX><FIELD>_FILE` so secrets can come from files (Podman/NixOS secrets)."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        prefix = str(self.config.get("env_prefix", ""))
        env_name = f"{prefix}{field_name}_FILE".upper()
        path = os.environ.get(env_name)
        if not path:
            return None, field_name, False
        try:
            return Path(path).read_text(encoding="utf-8").strip(), field_name, False
        except OSError as exc:
            raise ValueError(f"{env_name}={path}: cannot read the file ({exc.strerror})") from exc

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, field in self.settings_cls.model_fields.items():
            value, key, _ = self.get_field_value(field, name)
            if value is not None:
                values[key] = value
        return values


class FileVariantSettings(BaseSettings):
    """Settings read from the arguments, then the environment, then `*_FILE` variants."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, FileVariantSource(settings_cls))


class CoreSettings(FileVariantSettings):
    """Fields every service has. Subclasses set `env_prefix`, e.g. AI_STACK_EMBEDDINGS_."""

    model_config = SettingsConfigDict(extra="ignore", validate_default=True)

    host: str = Field("127.0.0.1", description="Address the service listens on.")
    port: int = Field(8080, ge=1, le=65535, description="TCP port the service listens on.")
    log_level: LogLevel = Field("INFO", description="Minimum log level.")
    max_body_bytes: int = Field(
        1_048_576, ge=1024, description="Largest request body accepted (413 above it)."
    )
    redis_url: str = Field("redis://127.0.0.1:56379/0", description="Redis URL (cache and shared state).")
    dependency_timeout_s: float = Field(2.0, gt=0, description="Timeout of each call to a dependency.")
    breaker_failure_threshold: int = Field(
        5, ge=1, description="Consecutive failures that open a dependency's circuit breaker."
    )
    breaker_reset_s: float = Field(
        10.0, gt=0, description="Seconds an open breaker waits before admitting one probe."
    )
    shutdown_timeout_s: float = Field(10.0, gt=0, description="Graceful shutdown budget.")
    health_probe_interval_s: float = Field(
        15.0,
        gt=0,
        description=(
            "Seconds between the service's own runs of its dependency checks, which keep the"
            " dependency_up metric current without traffic."
        ),
    )
    gateway_secret: SecretStr | None = Field(
        default_factory=shared_gateway_secret,
        description=(
            "The install's secret that nginx (and the services, calling each other) present in"
            " X-AI-Gateway-Secret; when set, every other request but /health gets 401. Shared by"
            " every service through AI_STACK_GATEWAY_SECRET or AI_STACK_GATEWAY_SECRET_FILE."
        ),
    )

    @field_validator("gateway_secret")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError("the gateway secret must have at least 16 characters")
        return value


class KeyLimitedSettings(CoreSettings):
    """A service that limits each API key's requests (429 above the limits)."""

    key_rate_per_s: float = Field(
        100.0, gt=0, description="Requests per second an API key may make to this service (sustained)."
    )
    key_burst: int = Field(200, ge=1, description="Requests an API key may make at once above its rate.")
    key_concurrency: int = Field(
        16, ge=1, description="Requests of one API key this service serves at once (429 above it)."
    )

    def default_key_limits(self) -> KeyLimits:
        """The limits of a key that has none of its own."""
        return KeyLimits(self.key_rate_per_s, self.key_burst, self.key_concurrency)


SettingsT = TypeVar("SettingsT", bound=BaseSettings)


class SettingsError(RuntimeError):
    """A configuration that cannot start a service, with the variables to fix."""


def load_settings(cls: type[SettingsT]) -> SettingsT:
    """Build settings from the environment, turning validation errors into one clear message."""
    try:
        return cls()
    except ValidationError as exc:
        prefix = str(cls.model_config.get("env_prefix", "")).upper()
        problems = [
            f"{prefix}{'.'.join(str(p) for p in err['loc']).upper()}: {err['msg']}" for err in exc.errors()
        ]
        raise SettingsError("invalid configuration: " + "; ".join(problems)) from None
    except ValueError as exc:
        raise SettingsError(f"invalid configuration: {exc}") from None
