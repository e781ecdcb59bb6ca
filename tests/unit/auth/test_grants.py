"""Key grants: scopes, projects, expiry, rotation with a grace period, and old key files."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from ai_stack.auth.keystore import KeyFileError, KeyStore, now_utc
from ai_stack.auth.verifier import KeyVerifier, read_usage
from ai_stack.core.limits import KeyLimits


def verifier_at(store: KeyStore, moment: list[dt.datetime], tick: list[float]) -> KeyVerifier:
    return KeyVerifier(
        store,
        reload_interval_s=1.0,
        clock=lambda: tick[0],
        wall_clock=lambda: moment[0],
    )


def test_grants_are_stored_and_handed_out(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys.json")
    key, stored = store.create("agent", scopes=["write", "read"], projects=["beta", "alpha"])
    assert stored.scopes == ("read", "write")  # canonical order
    assert stored.projects == ("alpha", "beta")
    grant = KeyVerifier(store, 1.0).verify(key)
    assert grant is not None
    assert (grant.key_id, grant.scopes, grant.projects) == (
        stored.id,
        ("read", "write"),
        ("alpha", "beta"),
    )


@pytest.mark.parametrize(
    ("scopes", "projects", "problem"),
    [
        (["read", "delete"], None, "unknown scope"),
        ([], None, "at least one scope"),
        (["read"], [], "at least one --project"),
        (["read"], ["a\x00b"], "not a project name"),
        (["read"], ["x" * 257], "not a project name"),
    ],
)
def test_bad_grants_are_refused(
    tmp_path: Path, scopes: list[str], projects: list[str] | None, problem: str
) -> None:
    store = KeyStore(tmp_path / "keys.json")
    with pytest.raises(ValueError, match=problem):
        store.create("k", scopes=scopes, projects=projects)
    assert store.load() == []


def test_a_key_file_from_before_grants_loads_as_full_access(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    store = KeyStore(path)
    key, _ = store.create("old")
    raw = json.loads(path.read_text())
    for item in raw["keys"]:  # what session-1 key files hold
        for field in (
            "scopes",
            "projects",
            "expires_at",
            "previous_hash",
            "previous_valid_until",
            "rotated_at",
        ):
            del item[field]
    path.write_text(json.dumps(raw))
    grant = KeyVerifier(KeyStore(path), 1.0).verify(key)
    assert grant is not None and grant.scopes == ("read", "write", "admin") and grant.projects is None


def test_an_expired_key_stops_working_without_a_file_change(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys.json")
    key, _ = store.create("short", expires_in=dt.timedelta(hours=1))
    moment, tick = [now_utc()], [0.0]
    verifier = verifier_at(store, moment, tick)
    assert verifier.verify(key) is not None
    moment[0] += dt.timedelta(hours=1, seconds=1)
    assert verifier.verify(key) is None


def test_rotation_keeps_grants_and_the_old_secret_until_the_grace_ends(
    tmp_path: Path,
) -> None:
    store = KeyStore(tmp_path / "keys.json")
    old, stored = store.create("agent", scopes=["read"], projects=["p"])
    new, rotated = store.rotate(stored.id, dt.timedelta(minutes=10))
    assert new != old and rotated.id == stored.id
    assert (rotated.scopes, rotated.projects) == (("read",), ("p",))
    moment, tick = [now_utc()], [0.0]
    verifier = verifier_at(store, moment, tick)
    assert verifier.verify(new) is not None
    old_grant = verifier.verify(old)
    assert old_grant is not None and old_grant.key_id == stored.id
    moment[0] += dt.timedelta(minutes=10, seconds=1)
    assert verifier.verify(old) is None
    assert verifier.verify(new) is not None


def test_rotation_without_grace_and_revocation_end_every_secret(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys.json")
    old, stored = store.create("agent")
    new, _ = store.rotate(stored.id, dt.timedelta(0))
    tick = [0.0]
    verifier = KeyVerifier(store, 1.0, clock=lambda: tick[0])
    assert verifier.verify(old) is None and verifier.verify(new) is not None
    newer, _ = store.rotate(stored.id, dt.timedelta(hours=1))
    store.revoke(stored.id)
    tick[0] = 2.0
    assert verifier.verify(new) is None and verifier.verify(newer) is None
    with pytest.raises(ValueError, match="revoked"):
        store.rotate(stored.id, dt.timedelta(0))
    with pytest.raises(KeyError):
        store.rotate("nope", dt.timedelta(0))


def test_last_use_is_recorded_to_the_minute_and_flushed(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys.json")
    key, stored = store.create("agent")
    tick = [0.0]
    verifier = KeyVerifier(store, 1.0, clock=lambda: tick[0])
    assert verifier.verify(key) is not None
    assert read_usage(store.path) == {}  # not written on every request
    tick[0] = 61.0
    assert verifier.verify(key) is not None
    used = read_usage(store.path)[stored.id]
    assert dt.datetime.fromisoformat(used).second == 0
    assert key not in (tmp_path / "keys-usage.json").read_text()


def test_update_changes_only_what_is_given_and_keeps_the_secret(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys.json")
    key, stored = store.create("agent", scopes=["read"], projects=["a"], limits=KeyLimits(5, 10, 2))
    updated = store.update(stored.id, scopes=["read", "write"])
    assert (updated.scopes, updated.projects, updated.limits) == (("read", "write"), ("a",), "5/10/2")
    updated = store.update(stored.id, projects=None, limits=None, expires_in=dt.timedelta(days=1))
    assert updated.projects is None and updated.limits is None and updated.expires_at is not None
    assert store.update(stored.id, expires_in=None).expires_at is None
    grant = KeyVerifier(store, 1.0).verify(key)  # the same secret, the new grants
    assert grant is not None and grant.scopes == ("read", "write") and grant.projects is None
    with pytest.raises(ValueError, match="unknown scope"):
        store.update(stored.id, scopes=["root"])
    store.revoke(stored.id)
    with pytest.raises(ValueError, match="revoked"):
        store.update(stored.id, scopes=["read"])
    with pytest.raises(KeyError):
        store.update("nope", scopes=["read"])


def test_a_broken_key_file_keeps_the_keys_loaded_last(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys.json")
    key, _ = store.create("agent")
    tick = [0.0]
    verifier = KeyVerifier(store, 1.0, clock=lambda: tick[0])
    assert verifier.verify(key) is not None
    raw = json.loads(store.path.read_text())
    raw["keys"][0]["expires_at"] = "next tuesday"  # a careless hand edit
    store.path.write_text(json.dumps(raw))
    tick[0] = 2.0
    assert verifier.verify(key) is not None  # not every client locked out
    with pytest.raises(KeyFileError):
        store.load()


@pytest.mark.parametrize("raw", ["nan/1/1", "inf/1/1", "-1/1/1"])
def test_limits_must_be_finite(raw: str) -> None:
    with pytest.raises(ValueError):
        KeyLimits.parse(raw)
