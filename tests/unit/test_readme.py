"""The README documents every setting the services read."""

from __future__ import annotations

from ai_stack.cli.connection import ClientSettings
from ai_stack.cli.stack import StackSettings
from ai_stack.deploy.settings import PodmanSettings
from ai_stack.observability.settings import ObservabilitySettings
from ai_stack.registry import SERVICES
from pydantic_settings import BaseSettings

from tests.harness.processes import REPO_ROOT

# Every service in the registry, so a new service's settings are checked without an edit here.
SETTINGS: tuple[type[BaseSettings], ...] = (
    *(s.settings_class() for s in SERVICES),
    StackSettings,
    ClientSettings,
    ObservabilitySettings,
    PodmanSettings,
)


def test_every_setting_is_in_the_readme() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    missing = [
        f"{cls.model_config['env_prefix']}{name.upper()}"
        for cls in SETTINGS
        for name in cls.model_fields
        if f"`{cls.model_config['env_prefix']}{name.upper()}`" not in readme
    ]
    assert missing == []


def test_every_setting_has_a_description() -> None:
    undocumented = [name for cls in SETTINGS for name, f in cls.model_fields.items() if not f.description]
    assert undocumented == []
