"""Contextual chunk headers: title and heading path before the chunk, within the model's room."""

from __future__ import annotations

from ai_stack.text.context import contextual_text, header_parts


def words(text: str) -> int:
    return len(text.split())


def test_the_header_names_the_page_and_the_section() -> None:
    text = contextual_text("Set it to on.", "Server configuration", ["WAL", "Archiving"])
    assert text == "Server configuration > WAL > Archiving\n\nSet it to on."


def test_repeated_and_blank_parts_are_dropped() -> None:
    assert header_parts("VACUUM", ["Vacuum", "", "  Notes "]) == ["VACUUM", "Notes"]
    assert contextual_text("body", "", []) == "body"


def test_a_header_is_cut_to_the_room_the_chunk_leaves() -> None:
    title, path = "Server configuration", ["Write ahead log", "Archiving"]
    assert contextual_text("x", title, path, room_tokens=9, count=words).startswith(
        "Server configuration > Write ahead log > Archiving\n\n"
    )
    assert (
        contextual_text("x", title, path, room_tokens=4, count=words)
        == "Server configuration > Archiving\n\nx"
    )
    assert contextual_text("x", title, path, room_tokens=1, count=words) == "Archiving\n\nx"
    assert contextual_text("x", title, path, room_tokens=0, count=words) == "x"


def test_a_chunk_that_starts_with_its_header_is_left_alone() -> None:
    assert contextual_text("Intro\n\nbody", "Intro", []) == "Intro\n\nbody"
