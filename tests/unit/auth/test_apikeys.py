"""Key shape, hashing and lookup."""

from __future__ import annotations

from ai_stack.auth.apikeys import generate_key, hash_key, is_well_formed, presented_key


def test_generated_keys_are_unique_and_well_formed() -> None:
    keys = {generate_key() for _ in range(50)}
    assert len(keys) == 50
    assert all(is_well_formed(k) for k in keys)


def test_the_hash_is_sha256_of_the_key() -> None:
    key = generate_key()
    assert hash_key(key) == hash_key(key) != hash_key(generate_key())
    assert len(hash_key(key)) == 64


def test_key_is_taken_from_either_header() -> None:
    assert presented_key("Bearer abc", None) == "abc"
    assert presented_key("bearer   abc ", None) == "abc"
    assert presented_key(None, "xyz") == "xyz"
    assert presented_key("Basic abc", None) is None
    assert presented_key("Bearer ", None) is None
    assert presented_key(None, None) is None
