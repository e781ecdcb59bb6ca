"""aidb's end of the engine pipe speaks `multiprocessing.Connection`'s framing, both ways."""

from __future__ import annotations

import socket
import struct
from multiprocessing.connection import Connection

import pytest
from ai_stack.aidb.vectors.framing import frame, take_messages


def _pair() -> tuple[socket.socket, Connection]:
    ours, theirs = socket.socketpair()
    return ours, Connection(theirs.detach())


def _read_all(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        data += sock.recv(size - len(data))
    return data


@pytest.mark.parametrize("payload", [b"", b"x", b"\x00" * 20_000, bytes(range(256)) * 300])
def test_a_frame_is_read_by_a_connection(payload: bytes) -> None:
    ours, connection = _pair()
    with ours, connection:
        ours.sendall(frame(payload))
        assert connection.recv_bytes() == payload


def test_what_a_connection_sends_is_taken_whole_however_it_arrives() -> None:
    ours, connection = _pair()
    payloads = [b"first", b"", b"y" * 70_000, b"last"]
    with ours, connection:
        for payload in payloads:
            connection.send_bytes(payload)
        wire = _read_all(ours, sum(4 + len(p) for p in payloads))
    # Fed a byte at a time, then all at once: the same messages, and nothing left over.
    buffer = bytearray()
    taken: list[bytes] = []
    for byte in wire:
        buffer.append(byte)
        taken += take_messages(buffer)
    assert taken == payloads and not buffer
    buffer = bytearray(wire)
    assert take_messages(buffer) == payloads and not buffer


def test_a_partial_message_stays_in_the_buffer() -> None:
    buffer = bytearray(frame(b"whole") + frame(b"partial")[:-2])
    assert take_messages(buffer) == [b"whole"]
    assert bytes(buffer) == frame(b"partial")[:-2]


def test_the_long_form_header_is_read() -> None:
    # Messages over 2 GiB: a length of -1, then an 8-byte length (built by hand: no 2 GiB here).
    buffer = bytearray(struct.pack("!i", -1) + struct.pack("!Q", 3) + b"abc" + frame(b"next"))
    assert take_messages(buffer) == [b"abc", b"next"]


def test_a_negative_length_is_refused() -> None:
    with pytest.raises(ValueError, match="not a Connection frame"):
        take_messages(bytearray(struct.pack("!i", -7) + b"junk"))
