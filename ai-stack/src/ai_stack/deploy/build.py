"""The `podman build` commands of the stack's two images (pure: inputs in, argv out)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

CONTAINERFILE = Path("ai-stack/deploy/podman/Containerfile")
SOURCE_LABEL = "ai-stack.source"
HOST_CA_IN_BUILD = "/run/ai-stack-build/ca.crt"
WHEELS_IN_BUILD = "/run/ai-stack-build/wheels"


@dataclass(frozen=True)
class BuildInputs:
    """Where the build's base image and Python packages come from."""

    repo_root: Path
    base_image: str
    # A directory of wheels (the CPU torch among them) used instead of PyTorch's index: mounted
    # read-only into the build.
    wheels_dir: Path | None = None
    # The CA bundle of a proxy that intercepts TLS (this host's pip `cert`): mounted likewise.
    ca_bundle: Path | None = None


def source_digest(repo_root: Path) -> str:
    """A digest of everything an image is built from (the Python project, the Containerfile
    included), so an unchanged checkout skips the build."""
    digest = hashlib.sha256()
    project = repo_root / "ai-stack"
    for path in sorted(p for p in project.rglob("*") if p.is_file()):
        relative = path.relative_to(repo_root)
        if "__pycache__" in relative.parts or any(part.endswith(".egg-info") for part in relative.parts):
            continue
        digest.update(str(relative).encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:24]


def build_args(inputs: BuildInputs, target: str, tag: str, source: str = "") -> list[str]:
    """`podman build` arguments for `target` (service or gateway) of the Containerfile, labelled
    with the `source` digest."""
    if target not in ("service", "gateway"):
        raise ValueError(f"unknown image target {target!r} (service or gateway)")
    # Docker format: the OCI format drops HEALTHCHECK.
    args = ["build", "--format", "docker", "--target", target, "--tag", tag]
    if source:
        args += ["--build-arg", f"AI_STACK_SOURCE={source}"]
    args += [
        "--file",
        str(inputs.repo_root / CONTAINERFILE),
        "--build-arg",
        f"BASE_IMAGE={inputs.base_image}",
    ]
    if inputs.wheels_dir is not None:
        args += ["--volume", f"{inputs.wheels_dir}:{WHEELS_IN_BUILD}:ro"]
        args += ["--build-arg", f"PIP_FIND_LINKS={WHEELS_IN_BUILD}", "--build-arg", "TORCH_INDEX_URL="]
    if inputs.ca_bundle is not None:
        args += [
            "--volume",
            f"{inputs.ca_bundle}:{HOST_CA_IN_BUILD}:ro",
            "--build-arg",
            f"PIP_CERT={HOST_CA_IN_BUILD}",
        ]
    return [*args, str(inputs.repo_root)]


def torch_wheels(find_links: str | None) -> Path | None:
    """The first find-links directory that holds a torch 2.13.0 wheel, if any."""
    for entry in (find_links or "").split():
        directory = Path(entry.removeprefix("file://"))
        if directory.is_dir() and any(directory.glob("torch-2.13.0*.whl")):
            return directory
    return None
