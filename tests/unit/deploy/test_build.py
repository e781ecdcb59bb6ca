"""The image build commands."""

from __future__ import annotations

from pathlib import Path

import pytest
from ai_stack.deploy.build import BuildInputs, build_args, source_digest, torch_wheels


def test_registry_build_uses_pytorchs_index_and_docker_format() -> None:
    args = build_args(BuildInputs(Path("/repo"), "docker.io/library/debian:bookworm-slim"), "service", "x:1")
    assert args[:2] == ["build", "--format"] and args[2] == "docker"  # OCI drops HEALTHCHECK
    assert ["--target", "service"] == args[args.index("--target") : args.index("--target") + 2]
    assert "BASE_IMAGE=docker.io/library/debian:bookworm-slim" in args
    assert not any(a.startswith(("PIP_FIND_LINKS", "TORCH_INDEX_URL", "PIP_CERT")) for a in args)
    assert args[-1] == "/repo"


def test_a_local_wheel_directory_and_ca_bundle_are_mounted_read_only(tmp_path: Path) -> None:
    args = build_args(
        BuildInputs(Path("/repo"), "localhost/base", tmp_path, Path("/etc/ca.crt")), "gateway", "g:1"
    )
    assert f"{tmp_path}:/run/ai-stack-build/wheels:ro" in args
    assert "TORCH_INDEX_URL=" in args and "PIP_FIND_LINKS=/run/ai-stack-build/wheels" in args
    assert (
        "/etc/ca.crt:/run/ai-stack-build/ca.crt:ro" in args and "PIP_CERT=/run/ai-stack-build/ca.crt" in args
    )


def test_unknown_target_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown image target"):
        build_args(BuildInputs(Path("/repo"), "b"), "postgres", "x")


def test_torch_wheels_finds_the_directory_holding_the_pinned_wheel(tmp_path: Path) -> None:
    empty, wheels = tmp_path / "empty", tmp_path / "wheels"
    empty.mkdir()
    wheels.mkdir()
    (wheels / "torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl").touch()
    assert torch_wheels(f"{empty} file://{wheels}") == wheels
    assert torch_wheels(str(empty)) is None
    assert torch_wheels(None) is None


def test_the_source_digest_follows_the_project_files_and_nothing_else(tmp_path: Path) -> None:
    module = tmp_path / "ai-stack/src/pkg/mod.py"
    module.parent.mkdir(parents=True)
    module.write_text("x = 1\n")
    first = source_digest(tmp_path)
    (tmp_path / "ai-stack/src/pkg/__pycache__").mkdir()
    (tmp_path / "ai-stack/src/pkg/__pycache__/mod.pyc").write_bytes(b"junk")
    (tmp_path / "README.md").write_text("outside the image")
    assert source_digest(tmp_path) == first
    module.write_text("x = 2\n")
    assert source_digest(tmp_path) != first


def test_the_source_digest_is_a_label_of_the_image() -> None:
    args = build_args(BuildInputs(Path("/repo"), "b"), "service", "x", source="abc")
    assert "AI_STACK_SOURCE=abc" in args
