"""The Nix deployment: every .nix file parses, the lock pins nixos-24.11, and nix/module.nix, evaluated
against a stub of nixpkgs' lib (tests/unit/deploy/nix/), declares the options and units it should.

Nothing here builds the package or boots NixOS: `nix-instantiate` (Debian's nix-bin) parses and
evaluates only, with its state under tmp_path and a timeout on every call.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from ai_stack.cli.services import json_document
from ai_stack.registry import SERVICES

from tests.harness.processes import REPO_ROOT

NIX_DIR = REPO_ROOT / "nix"
MODULE = NIX_DIR / "module.nix"
STUBS = Path(__file__).parent / "nix"
NIX_TIMEOUT_S = 60
HARDENING = {
    "DynamicUser": True,
    "ProtectSystem": "strict",
    "ProtectHome": True,
    "PrivateTmp": True,
    "NoNewPrivileges": True,
    "PrivateDevices": True,
    "CapabilityBoundingSet": "",
    "RestrictAddressFamilies": ["AF_INET", "AF_INET6", "AF_UNIX"],
    "SystemCallFilter": ["@system-service"],
    "Restart": "on-failure",
}
TORCH_SERVICES = {"embeddings", "aidb"}
SECRETS = {"gatewaySecretFile": "/run/secrets/gateway-secret"}
GATEWAY = {
    "nginx": {"enable": True},
    "tls": {"certificateFile": "/run/secrets/cert.pem", "keyFile": "/run/secrets/key.pem"},
}


def _nix(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("nix-instantiate")
    if binary is None:
        pytest.fail("nix-instantiate is missing: scripts/test.sh installs it (Debian package nix-bin)")
    state = tmp_path / "nix-state"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "NIX_STATE_DIR": str(state),
        "NIX_LOG_DIR": str(state / "log"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "NIX_PATH": "",
    }
    return subprocess.run(
        [binary, *args], capture_output=True, text=True, env=env, timeout=NIX_TIMEOUT_S, check=False
    )


def _eval_expr(tmp_path: Path, expression: str, config: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps(config))
    return _nix(tmp_path, "--eval", "--strict", "--json", "--argstr", "configFile", str(config_file),
                "--expr", expression)  # fmt: skip


def _module_expr(module: Path) -> str:
    return (
        f"{{ configFile }}: import {STUBS / 'eval.nix'} {{ module = {module};"
        f" pkgs = import {STUBS / 'pkgs.nix'}; config = builtins.fromJSON (builtins.readFile configFile); }}"
    )


def evaluate(tmp_path: Path, settings: dict[str, Any], module: Path = MODULE) -> dict[str, Any]:
    """`{cfg, config}` of the module for `services.ai-stack = settings`."""
    result = _eval_expr(tmp_path, _module_expr(module), {"services": {"ai-stack": settings}})
    if result.returncode != 0:
        pytest.fail(f"nix-instantiate failed:\n{result.stderr}")
    value: dict[str, Any] = json.loads(result.stdout)
    return value


def evaluation_error(tmp_path: Path, settings: dict[str, Any]) -> str:
    result = _eval_expr(tmp_path, _module_expr(MODULE), {"services": {"ai-stack": settings}})
    assert result.returncode != 0, f"evaluation succeeded: {result.stdout[:300]}"
    return result.stderr


def units(tmp_path: Path, settings: dict[str, Any]) -> dict[str, Any]:
    services: dict[str, Any] = evaluate(tmp_path, settings)["config"]["systemd"]["services"]
    return services


def test_committed_services_json_is_the_registry() -> None:
    committed = json.loads((NIX_DIR / "services.json").read_text())
    assert committed == json_document(), (
        "nix/services.json is stale: regenerate it with `ai-stack services --json > nix/services.json`"
    )


@pytest.mark.parametrize(
    "path",
    [REPO_ROOT / "flake.nix", *sorted(NIX_DIR.glob("*.nix")), *sorted(STUBS.glob("*.nix"))],
    ids=lambda p: str(p.relative_to(REPO_ROOT)),
)
def test_nix_file_parses(tmp_path: Path, path: Path) -> None:
    result = _nix(tmp_path, "--parse", str(path))
    assert result.returncode == 0, result.stderr


def test_parse_check_catches_a_syntax_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.nix"
    broken.write_text((NIX_DIR / "module.nix").read_text().replace("in\n{", "in\n{{", 1))
    result = _nix(tmp_path, "--parse", str(broken))
    assert result.returncode != 0 and "syntax error" in result.stderr


def test_flake_lock_pins_nixos_24_11() -> None:
    lock = json.loads((REPO_ROOT / "flake.lock").read_text())
    assert lock["version"] == 7 and lock["root"] == "root"
    assert lock["nodes"]["root"] == {"inputs": {"nixpkgs": "nixpkgs"}}
    assert lock["nodes"]["nixpkgs"] == {
        "locked": {
            "lastModified": 1751274312,
            "narHash": "sha256-/bVBlRpECLVzjV19t5KMdMFWSwKLtb5RyXdjz3LJT+g=",
            "owner": "NixOS",
            "repo": "nixpkgs",
            "rev": "50ab793786d9de88ee30ec4e4c24fb4236fc2674",
            "type": "github",
        },
        "original": {"owner": "NixOS", "ref": "nixos-24.11", "repo": "nixpkgs", "type": "github"},
    }


def test_flake_outputs_cover_both_systems(tmp_path: Path) -> None:
    expression = f"""{{ configFile }}:
      let
        lib = import {STUBS / "lib.nix"};
        pkgs = import {STUBS / "pkgs.nix"};
        systems = [ "x86_64-linux" "aarch64-linux" ];
        nixpkgs = {{
          lib = lib;
          legacyPackages = lib.genAttrs systems (system: pkgs // {{ inherit system; }});
        }};
        flake = import {REPO_ROOT / "flake.nix"};
        outputs = flake.outputs {{ self = outputs; inherit nixpkgs; }};
        names = set: builtins.mapAttrs (_: builtins.attrNames) set;
      in {{
        inputs = flake.inputs.nixpkgs.url;
        packages = names outputs.packages;
        devShells = names outputs.devShells;
        checks = names outputs.checks;
        module = builtins.isFunction outputs.nixosModules.default;
      }}"""
    result = _eval_expr(tmp_path, expression, {})
    assert result.returncode == 0, result.stderr
    both = {"x86_64-linux", "aarch64-linux"}
    outputs = json.loads(result.stdout)
    assert outputs["inputs"] == "github:NixOS/nixpkgs/nixos-24.11"
    assert outputs["packages"] == {system: ["default"] for system in both}
    assert outputs["devShells"] == {system: ["default"] for system in both}
    assert outputs["checks"] == {system: ["unit"] for system in both}
    assert outputs["module"] is True


def test_option_defaults(tmp_path: Path) -> None:
    cfg = evaluate(tmp_path, {})["cfg"]
    assert cfg["enable"] is False
    assert cfg["dataDir"] == "/var/lib/ai-stack"
    assert cfg["ports"] == {s.name: s.default_port for s in SERVICES}
    assert (cfg["httpsPort"], cfg["httpPort"], cfg["listenAddress"]) == (8443, 8088, "127.0.0.1")
    assert cfg["gatewaySecretFile"] is None and cfg["environment"] == {}
    for backing in ("postgresql", "redis", "qdrant", "nginx", "observability"):
        assert cfg[backing]["enable"] is False, backing


def test_disabled_module_defines_nothing(tmp_path: Path) -> None:
    assert evaluate(tmp_path, {"redis": {"enable": True}, **GATEWAY})["config"] == {}


def test_one_hardened_unit_per_registry_service(tmp_path: Path) -> None:
    services = units(tmp_path, {"enable": True})
    assert {f"ai-stack-{s.name}" for s in SERVICES} <= set(services)
    assert set(services) - {f"ai-stack-{s.name}" for s in SERVICES} == {"ai-stack-auth-keys"}
    for s in SERVICES:
        unit = services[f"ai-stack-{s.name}"]
        config = unit["serviceConfig"]
        assert {key: config[key] for key in HARDENING} == HARDENING, s.name
        assert config["ExecStart"].endswith(f"-ai-stack-0.1.0/bin/python -m {s.module}")
        assert config["StateDirectory"] == f"ai-stack/{s.name}"
        assert config["MemoryDenyWriteExecute"] is (s.name not in TORCH_SERVICES)
        env = unit["environment"]
        assert env[f"{s.env_prefix}PORT"] == str(s.default_port)
        assert env[f"{s.env_prefix}HOST"] == "127.0.0.1"
        assert env["HF_HUB_OFFLINE"] == "1" and env["AI_STACK_HOME"] == f"/var/lib/ai-stack/{s.name}"
        assert unit["wantedBy"] == ["multi-user.target"]
        preload = env.get("LD_PRELOAD")
        if s.allocator == "jemalloc":
            assert preload is not None and preload.endswith("-jemalloc/lib/libjemalloc.so"), s.name
        else:
            assert preload is None, s.name


def test_a_new_registry_entry_gets_its_unit_without_editing_the_module(tmp_path: Path) -> None:
    copy = tmp_path / "module"
    copy.mkdir()
    shutil.copy(MODULE, copy / "module.nix")
    registry = [
        *json_document(),
        {
            "name": "reports",
            "module": "ai_stack.reports",
            "default_port": 8095,
            "env_prefix": "AI_STACK_REPORTS_",
            "gateway_prefix": "reports",
            "health_path": "/health/ready",
            "peer_urls": {"AI_STACK_REPORTS_AIDB_URL": "aidb"},
        },
    ]
    (copy / "services.json").write_text(json.dumps(registry))
    result = evaluate(tmp_path, {"enable": True, "ports": {"reports": 9095}}, module=copy / "module.nix")
    unit = result["config"]["systemd"]["services"]["ai-stack-reports"]
    assert unit["serviceConfig"]["ExecStart"].endswith("/bin/python -m ai_stack.reports")
    assert unit["environment"]["AI_STACK_REPORTS_PORT"] == "9095"
    assert unit["environment"]["AI_STACK_REPORTS_AIDB_URL"] == "http://127.0.0.1:8091"
    assert "ai-stack-aidb.service" in unit["after"]


def test_a_changed_port_moves_the_service_its_peers_and_the_gateway(tmp_path: Path) -> None:
    services = units(tmp_path, {"enable": True, "ports": {"aidb": 9000}, **SECRETS, **GATEWAY})
    assert services["ai-stack-aidb"]["environment"]["AI_STACK_AIDB_PORT"] == "9000"
    assert services["ai-stack-hybrid"]["environment"]["AI_STACK_HYBRID_AIDB_URL"] == "http://127.0.0.1:9000"
    assert services["ai-stack-mcp"]["environment"]["AI_STACK_MCP_AIDB_URL"] == "http://127.0.0.1:9000"
    assert services["ai-stack-mcp"]["environment"]["AI_STACK_MCP_HYBRID_URL"] == "http://127.0.0.1:8092"
    assert services["ai-stack-embeddings"]["environment"]["AI_STACK_EMBEDDINGS_PORT"] == "8081"
    assert services["ai-stack-gateway"]["environment"]["AI_STACK_AIDB_PORT"] == "9000"
    assert "ai-stack-aidb.service" in services["ai-stack-hybrid"]["after"]


def test_secrets_arrive_as_credentials(tmp_path: Path) -> None:
    services = units(tmp_path, {"enable": True, "apiKeysFile": "/etc/ai-stack/keys.json", **SECRETS})
    for s in SERVICES:
        unit = services[f"ai-stack-{s.name}"]
        assert "gateway-secret:/run/secrets/gateway-secret" in unit["serviceConfig"]["LoadCredential"]
        assert unit["environment"]["AI_STACK_GATEWAY_SECRET_FILE"] == "%d/gateway-secret"
    auth = services["ai-stack-auth"]
    assert "api-keys:/etc/ai-stack/keys.json" in auth["serviceConfig"]["LoadCredential"]
    assert auth["environment"]["AI_STACK_AUTH_KEYS_FILE"] == "%d/api-keys"
    assert "AI_STACK_AUTH_KEYS_FILE" not in services["ai-stack-aidb"]["environment"]


def test_no_secret_file_no_credential(tmp_path: Path) -> None:
    services = units(tmp_path, {"enable": True})
    aidb = services["ai-stack-aidb"]
    assert aidb["serviceConfig"]["LoadCredential"] == []
    assert "AI_STACK_GATEWAY_SECRET_FILE" not in aidb["environment"]


def test_backing_services_are_off_by_default(tmp_path: Path) -> None:
    result = evaluate(tmp_path, {"enable": True})["config"]
    assert "services" not in result
    assert "ai-stack-gateway" not in result["systemd"]["services"]
    aidb = result["systemd"]["services"]["ai-stack-aidb"]
    assert aidb["after"] == ["network.target", "ai-stack-embeddings.service"]
    assert not any(key.startswith("AI_STACK_AIDB_POSTGRES") for key in aidb["environment"])
    assert "AI_STACK_AIDB_REDIS_URL" not in aidb["environment"]


def test_postgresql(tmp_path: Path) -> None:
    settings = {"enable": True, "postgresql": {"enable": True, "passwordFile": "/run/secrets/pg"}}
    result = evaluate(tmp_path, settings)["config"]
    postgresql = result["services"]["postgresql"]
    assert postgresql["enable"] is True and postgresql["ensureDatabases"] == ["ai_stack"]
    assert postgresql["ensureUsers"] == [{"name": "ai_stack", "ensureDBOwnership": True}]
    units = result["systemd"]["services"]
    assert "ALTER ROLE ai_stack" in units["ai-stack-postgres-password"]["script"]
    aidb = units["ai-stack-aidb"]
    assert aidb["environment"]["AI_STACK_AIDB_POSTGRES_PASSWORD_FILE"] == "%d/postgres-password"
    assert aidb["environment"]["AI_STACK_AIDB_POSTGRES_PORT"] == "5432"
    assert "postgres-password:/run/secrets/pg" in aidb["serviceConfig"]["LoadCredential"]
    assert "ai-stack-postgres-password.service" in aidb["after"]
    assert (
        "postgres-password:/run/secrets/pg" not in units["ai-stack-hybrid"]["serviceConfig"]["LoadCredential"]
    )


def test_redis(tmp_path: Path) -> None:
    result = evaluate(tmp_path, {"enable": True, "redis": {"enable": True}})["config"]
    server = result["services"]["redis"]["servers"]["ai-stack"]
    assert server["enable"] is True and server["port"] == 0
    for s in SERVICES:
        unit = result["systemd"]["services"][f"ai-stack-{s.name}"]
        assert unit["environment"][f"{s.env_prefix}REDIS_URL"] == f"unix://{server['unixSocket']}?db=0"
        assert unit["serviceConfig"]["SupplementaryGroups"] == ["redis-ai-stack"]
        assert "redis-ai-stack.service" in unit["after"]


def test_qdrant(tmp_path: Path) -> None:
    result = evaluate(tmp_path, {"enable": True, "qdrant": {"enable": True, "port": 7333}})["config"]
    assert result["services"]["qdrant"]["enable"] is True
    assert result["services"]["qdrant"]["settings"]["service"]["http_port"] == 7333
    aidb = result["systemd"]["services"]["ai-stack-aidb"]
    assert aidb["environment"]["AI_STACK_AIDB_QDRANT_URL"] == "http://127.0.0.1:7333"
    assert "qdrant.service" in aidb["after"]


def test_gateway_renders_its_configuration_at_start(tmp_path: Path) -> None:
    settings = {"enable": True, "gatewayListenAddresses": ["127.0.0.1", "::1"], **SECRETS, **GATEWAY}
    gateway = units(tmp_path, settings)["ai-stack-gateway"]
    config = gateway["serviceConfig"]
    assert {key: config[key] for key in HARDENING} == HARDENING
    prepare = config["ExecStartPre"]
    assert "bin/ai-stack gateway render" in prepare and "--listen 127.0.0.1 --listen ::1" in prepare
    assert config["ExecStart"].endswith("-g 'daemon off;'")
    assert set(config["LoadCredential"]) == {
        "tls-cert:/run/secrets/cert.pem",
        "tls-key:/run/secrets/key.pem",
        "gateway-secret:/run/secrets/gateway-secret",
    }
    assert gateway["environment"]["AI_STACK_GATEWAY_HTTPS_PORT"] == "8443"
    assert gateway["wants"] == [f"ai-stack-{s.name}.service" for s in SERVICES]


def test_gateway_on_port_443_gets_only_net_bind_service(tmp_path: Path) -> None:
    config = units(tmp_path, {"enable": True, "httpsPort": 443, **SECRETS, **GATEWAY})["ai-stack-gateway"]
    assert config["serviceConfig"]["CapabilityBoundingSet"] == "CAP_NET_BIND_SERVICE"
    assert config["serviceConfig"]["AmbientCapabilities"] == ["CAP_NET_BIND_SERVICE"]


@pytest.mark.parametrize(
    ("settings", "failed"),
    [
        ({"postgresql": {"enable": True}}, "postgresql.passwordFile is required"),
        (GATEWAY, "gatewaySecretFile is required"),
        ({"nginx": {"enable": True}, **SECRETS}, "tls.certificateFile and keyFile are required"),
        ({"dataDir": "/srv/ai-stack"}, "dataDir must be under /var/lib/"),
    ],
)
def test_assertions_catch_an_incomplete_configuration(
    tmp_path: Path, settings: dict[str, Any], failed: str
) -> None:
    assertions = evaluate(tmp_path, {"enable": True, **settings})["config"]["assertions"]
    assert [a["message"] for a in assertions if not a["assertion"]] == [
        next(a["message"] for a in assertions if failed in a["message"])
    ]


def test_a_complete_configuration_passes_every_assertion(tmp_path: Path) -> None:
    settings = {
        "enable": True,
        "postgresql": {"enable": True, "passwordFile": "/run/pg"},
        **SECRETS,
        **GATEWAY,
    }
    assert all(a["assertion"] for a in evaluate(tmp_path, settings)["config"]["assertions"])


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            {"ports": {"aidb": "8091"}},
            "services.ai-stack.ports.aidb' is not of type `16 bit unsigned integer",
        ),
        ({"httpsPort": 70000}, "services.ai-stack.httpsPort' is not of type"),
        ({"enable": "yes"}, "services.ai-stack.enable' is not of type `boolean'"),
        (
            {"environment": {"A": 1}},
            "services.ai-stack.environment' is not of type `attribute set of string'",
        ),
        ({"apiKeysFile": "relative/keys.json"}, "services.ai-stack.apiKeysFile' is not of type `path'"),
        ({"ports": {"nosuch": 1}}, "services.ai-stack.ports.nosuch' does not exist"),
        ({"postgres": {"enable": True}}, "services.ai-stack.postgres' does not exist"),
    ],
)
def test_wrong_definitions_are_rejected(tmp_path: Path, settings: dict[str, Any], message: str) -> None:
    assert message in evaluation_error(tmp_path, {"enable": True, **settings})
