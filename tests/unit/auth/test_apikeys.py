"""Key shape, hashing and lookup."""

from __future__ import annotations

from ai_stack.auth.apikeys import generate_key, hash_key, is_well_formed, matches_any, presented_key


def test_generated_keys_are_unique_and_well_formed() -> None:
    keys = {generate_key() for _ in range(50)}
    assert len(keys) == 50
    assert all(is_well_formed(k) for k in keys)


def test_matches_only_stored_hashes() -> None:
    key, other = generate_key(), generate_key()
    stored = [hash_key(other), hash_key(key)]
    assert matches_any(key, stored)
    assert not matches_any(generate_key(), stored)
    assert not matches_any(key, [])


def test_key_is_taken_from_either_header() -> None:
    assert presented_key("Bearer abc", None) == "abc"
    assert presented_key("bearer   abc ", None) == "abc"
    assert presented_key(None, "xyz") == "xyz"
    assert presented_key("Basic abc", None) is None
    assert presented_key("Bearer ", None) is None
    assert presented_key(None, None) is None
