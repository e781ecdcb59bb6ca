"""`ai-stack podman up/down`: order, health gating and idempotent reruns, against a recorded podman."""

from __future__ import annotations

import json
import tarfile
from collections.abc import Sequence
from pathlib import Path

import pytest
from ai_stack.deploy.containers import Container, Stack
from ai_stack.deploy.podman import CONFIG_LABEL, Podman, PodmanError, Result, run_args

OK = Result(0, "", "")
MISSING = Result(1, "", "no such object")


class FakePodman:
    """Just enough of podman's state machine: objects with labels, containers with a state."""

    def __init__(self, unhealthy: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        self.calls: list[list[str]] = []
        self.objects: dict[tuple[str, str], dict[str, str]] = {}
        self.states: dict[str, str] = {}
        self.unhealthy = unhealthy
        self.image_id = "sha256:1"
        self.imported: dict[str, dict[str, bytes]] = {}

    def __call__(self, args: Sequence[str]) -> Result:
        args = list(args)
        self.calls.append(args)
        verb = args[0]
        if verb == "image":
            return Result(0, self.image_id + "\n", "")
        if verb in ("container", "network", "volume", "secret") and args[1] == "exists":
            raise AssertionError("podman 4.3 has no `secret exists`")
        if args[1] == "inspect" and len(args) == 3:
            return OK if (verb, args[2]) in self.objects else MISSING
        if verb in ("container", "secret") and args[1] == "inspect":
            name = args[-1]
            if (verb, name) not in self.objects:
                return MISSING
            if "{{.State.Status}}" in args:
                return Result(0, self.states[name] + "\n", "")
            # Podman's own paths: a container's labels are in its config, a secret's in its spec.
            expected = {"container": "index .Config.Labels", "secret": "index .Spec.Labels"}[verb]
            if expected not in args[3]:
                return Result(125, "", "can't evaluate field Labels")
            label = args[3].split('"')[1]
            return Result(0, self.objects[(verb, name)].get(label, "") + "\n", "")
        if verb in ("network", "volume", "secret") and args[1] == "create":
            labels = dict(a.split("=", 1) for a in args[2:] if "=" in a and not a.startswith("/"))
            name = next(a for a in args[2:] if not a.startswith("-") and "=" not in a)
            self.objects[(verb, name)] = labels
            return OK
        if verb in ("secret", "network") and args[1] == "rm":
            del self.objects[(verb, args[2])]
            return OK
        if verb == "volume" and args[1] == "rm":
            del self.objects[("volume", args[3])]
            return OK
        if verb == "run":
            name = args[args.index("--name") + 1]
            labels = dict(args[i + 1].split("=", 1) for i, a in enumerate(args) if a == "--label")
            self.objects[("container", name)] = labels
            self.states[name] = "running"
            return OK
        if verb == "rm":
            name = args[-1]
            self.objects.pop(("container", name), None)
            self.states.pop(name, None)
            return OK
        if verb == "volume" and args[1] == "import":
            with tarfile.open(args[3]) as archive:
                self.imported[args[2]] = {
                    m.name: archive.extractfile(m).read()  # type: ignore[union-attr]
                    for m in archive.getmembers()
                    if m.isfile()
                }
            return OK
        if verb == "start":
            self.states[args[1]] = "running"
            return OK
        if verb == "healthcheck":
            return Result(1, "", "unhealthy") if args[2] in self.unhealthy else OK
        if verb == "logs":
            return Result(0, "model failed to load\n", "")
        raise AssertionError(f"unexpected podman call {args}")

    def verbs(self, verb: str) -> list[list[str]]:
        return [c for c in self.calls if c[0] == verb]


def small_stack() -> Stack:
    return Stack(
        "t",
        (
            Container("db", "img/db", secrets=("pw",), volumes=(("db-data", "/data"),), health=("true",)),
            Container(
                "api",
                "own/api",
                command=("python", "-m", "x"),
                secrets=("pw",),
                depends_on=("db",),
                health=("check",),
            ),
            Container(
                "gw", "own/api", ports=("8443:8443",), depends_on=("api",), edge=True, health=("check",)
            ),
        ),
    )


@pytest.fixture
def secret(tmp_path: Path) -> dict[str, Path]:
    path = tmp_path / "pw"
    path.write_text("hunter2")
    return {"pw": path}


def podman(fake: FakePodman, spec: Stack | None = None) -> Podman:
    return Podman(spec or small_stack(), {"own/api"}, runner=fake)


def test_up_creates_networks_volumes_secrets_then_containers_in_order(secret: dict[str, Path]) -> None:
    fake = FakePodman()
    spec = small_stack()
    podman(fake).up(spec.containers, secret, timeout_s=1, say=lambda _: None)
    assert [c[c.index("--name") + 1] for c in fake.verbs("run")] == ["t-db", "t-api", "t-gw"]
    assert ("network", "t") in fake.objects and ("network", "t-edge") in fake.objects
    assert fake.calls.index(["network", "create", "--internal", "t"]) < fake.calls.index(fake.verbs("run")[0])
    assert ("volume", "t-db-data") in fake.objects
    assert ("secret", "t-pw") in fake.objects
    gw = fake.verbs("run")[2]
    assert gw[gw.index("--publish") + 1] == "8443:8443"
    assert "t-edge" in gw
    api = fake.verbs("run")[1]
    assert api[-3:] == ["python", "-m", "x"]
    assert "--cap-drop" in api and "--cap-drop" not in fake.verbs("run")[0]  # own images only
    assert "t-pw,type=mount,target=pw" in api


def test_a_rerun_with_nothing_changed_touches_no_container(secret: dict[str, Path]) -> None:
    fake = FakePodman()
    spec = small_stack()
    podman(fake).up(spec.containers, secret, timeout_s=1, say=lambda _: None)
    fake.calls.clear()
    podman(fake).up(spec.containers, secret, timeout_s=1, say=lambda _: None)
    assert fake.verbs("run") == [] and fake.verbs("rm") == []
    assert not [c for c in fake.calls if c[0] == "secret" and c[1] in ("create", "rm")]


def test_a_changed_secret_replaces_the_secret_and_the_containers_using_it(secret: dict[str, Path]) -> None:
    fake = FakePodman()
    spec = small_stack()
    podman(fake).up(spec.containers, secret, timeout_s=1, say=lambda _: None)
    secret["pw"].write_text("rotated")
    fake.calls.clear()
    podman(fake).up(spec.containers, secret, timeout_s=1, say=lambda _: None)
    assert [c[-1] for c in fake.verbs("rm")] == ["t-api", "t-db"]  # reverse order, before the secret
    assert ["secret", "rm", "t-pw"] in fake.calls
    assert [c[c.index("--name") + 1] for c in fake.verbs("run")] == ["t-db", "t-api"]


def test_a_rebuilt_image_replaces_its_containers(secret: dict[str, Path]) -> None:
    fake = FakePodman()
    spec = small_stack()
    podman(fake).up(spec.containers, secret, timeout_s=1, say=lambda _: None)
    fake.image_id = "sha256:2"
    fake.calls.clear()
    podman(fake).up(spec.containers, secret, timeout_s=1, say=lambda _: None)
    assert len(fake.verbs("run")) == 3
    first = [c[c.index("--label") + 1] for c in fake.verbs("run")]
    assert all(label.startswith(f"{CONFIG_LABEL}=") for label in first)


def test_a_stopped_container_is_started_not_recreated(secret: dict[str, Path]) -> None:
    fake = FakePodman()
    spec = small_stack()
    podman(fake).up(spec.containers, secret, timeout_s=1, say=lambda _: None)
    fake.states["t-api"] = "exited"
    fake.calls.clear()
    podman(fake).up(spec.containers, secret, timeout_s=1, say=lambda _: None)
    assert ["start", "t-api"] in fake.calls and fake.verbs("run") == []


def test_an_unhealthy_dependency_stops_the_start_with_its_logs(secret: dict[str, Path]) -> None:
    fake = FakePodman(unhealthy={"t-db"})
    spec = small_stack()
    with pytest.raises(PodmanError, match=r"(?s)t-db is not healthy .*model failed to load"):
        podman(fake).up(spec.containers, secret, timeout_s=0.2, say=lambda _: None)
    assert [c[c.index("--name") + 1] for c in fake.verbs("run")] == ["t-db"]


def test_a_missing_secret_file_is_named_before_anything_runs(tmp_path: Path) -> None:
    fake = FakePodman()
    with pytest.raises(PodmanError, match="no file for the secrets pw"):
        podman(fake).up(small_stack().containers, {}, timeout_s=1, say=lambda _: None)
    assert fake.calls == []


def test_down_removes_containers_in_reverse_and_keeps_volumes(secret: dict[str, Path]) -> None:
    fake = FakePodman()
    spec = small_stack()
    podman(fake).up(spec.containers, secret, timeout_s=1, say=lambda _: None)
    podman(fake).down(spec.containers, say=lambda _: None)
    assert [c[-1] for c in fake.verbs("rm")] == ["t-gw", "t-api", "t-db"]
    assert ("volume", "t-db-data") in fake.objects and ("secret", "t-pw") in fake.objects


def test_health_checks_are_scheduled_only_where_systemd_runs_them() -> None:
    container = small_stack().containers[1]
    without = run_args(small_stack(), container, set(), health_timer=False)
    with_timer = run_args(small_stack(), container, set(), health_timer=True)
    assert without[without.index("--health-interval") + 1] == "disable"
    assert with_timer[with_timer.index("--health-interval") + 1] == "15s"
    assert json.loads(without[without.index("--health-cmd") + 1]) == ["check"]


def test_purge_removes_volumes_secrets_and_networks(secret: dict[str, Path]) -> None:
    fake = FakePodman()
    spec = small_stack()
    podman(fake).up(spec.containers, secret, timeout_s=1, say=lambda _: None)
    podman(fake).down(spec.containers, say=lambda _: None)
    podman(fake).purge(say=lambda _: None)
    assert fake.objects == {}


def test_configuration_files_go_into_their_volume_and_a_change_replaces_the_reader(
    secret: dict[str, Path],
) -> None:
    fake = FakePodman()
    spec = small_stack()
    files = {"db-data": {"conf/db.yml": b"a: 1\n", "top.txt": b"x"}}
    podman(fake).up(spec.containers, secret, timeout_s=1, say=lambda _: None, volume_files=files)
    assert fake.imported["t-db-data"] == {"conf/db.yml": b"a: 1\n", "top.txt": b"x"}
    fake.calls.clear()
    podman(fake).up(spec.containers, secret, timeout_s=1, say=lambda _: None, volume_files=files)
    assert fake.verbs("rm") == []
    changed = {"db-data": {"conf/db.yml": b"a: 2\n", "top.txt": b"x"}}
    podman(fake).up(spec.containers, secret, timeout_s=1, say=lambda _: None, volume_files=changed)
    assert [c[-1] for c in fake.verbs("rm")] == ["t-db"]
    assert fake.imported["t-db-data"]["conf/db.yml"] == b"a: 2\n"


def test_a_container_that_cannot_start_names_its_image_and_the_way_out(secret: dict[str, Path]) -> None:
    fake = FakePodman()
    real = fake.__call__

    def no_registry(args: Sequence[str]) -> Result:
        if args[0] == "run" and "img/db" in args:
            return Result(125, "", "initializing source docker://img/db: pinging container registry")
        return real(args)

    with pytest.raises(PodmanError, match=r"(?s)t-db \(image img/db\).*pinging.*scripts/podman-base\.sh"):
        Podman(small_stack(), {"own/api"}, runner=no_registry).up(
            small_stack().containers, secret, timeout_s=1, say=lambda _: None
        )
