"""The key file keeps hashes only, is private, and revocation takes effect on reload."""

from __future__ import annotations

from pathlib import Path

import pytest
from ai_stack.auth.keystore import KeyStore
from ai_stack.auth.verifier import KeyVerifier


def test_create_stores_only_the_hash(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys.json")
    key, stored = store.create("ci")
    text = store.path.read_text()
    assert key not in text
    assert stored.hash in text
    assert store.path.stat().st_mode & 0o777 == 0o600
    assert [k.name for k in store.load()] == ["ci"]


def test_empty_name_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="--name"):
        KeyStore(tmp_path / "k.json").create("  ")


def test_revoke_unknown_id(tmp_path: Path) -> None:
    with pytest.raises(KeyError):
        KeyStore(tmp_path / "k.json").revoke("nope")


def test_verifier_follows_the_file(tmp_path: Path) -> None:
    now = [0.0]
    store = KeyStore(tmp_path / "keys.json")
    verifier = KeyVerifier(store, reload_interval_s=1.0, clock=lambda: now[0])
    assert not verifier.verify("aisk_anything")
    key, stored = store.create("agent")
    now[0] = 2.0
    assert verifier.verify(key)
    store.revoke(stored.id)
    assert verifier.verify(key)  # cached until the next reload interval
    now[0] = 4.0
    assert not verifier.verify(key)


def test_concurrent_creates_lose_no_key(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    store = KeyStore(tmp_path / "keys.json")
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: KeyStore(store.path).create(f"k{i}"), range(40)))
    assert sorted(k.name for k in store.load()) == sorted(f"k{i}" for i in range(40))


def test_corrupt_key_file_is_a_clear_error(tmp_path: Path) -> None:
    from ai_stack.auth.keystore import KeyFileError

    path = tmp_path / "keys.json"
    path.write_text("{not json")
    with pytest.raises(KeyFileError, match="not a valid key file"):
        KeyStore(path).load()


def test_writes_go_through_a_symlink_to_the_file(tmp_path: Path) -> None:
    """As root, the startup script keeps the verifier's key file where its unprivileged user can
    read it, and leaves a symlink at the usual place: the CLI writes through it."""
    real = tmp_path / "service" / "api-keys.json"
    real.parent.mkdir()
    real.write_text('{"keys": []}')
    link = tmp_path / "api-keys.json"
    link.symlink_to(real)
    key, _ = KeyStore(link).create("through-the-link")
    assert link.is_symlink() and len(KeyStore(real).load()) == 1
    assert KeyVerifier(KeyStore(real), 1.0).verify(key) is not None
