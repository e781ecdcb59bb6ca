"""`multiprocessing.connection.Connection`'s framing, for the side of the pipe run by an event loop.

The engine worker reads and writes its end with a plain `Connection` (it does one thing at a
time, so blocking is what it wants). aidb's end is a socket read and written by its event loop,
so it speaks the same framing: a message is a signed 4-byte big-endian length and then that
many bytes; a message longer than 2**31 - 1 bytes is sent as a length of -1, an unsigned 8-byte
length, then the bytes.
"""

from __future__ import annotations

import struct

_SHORT = struct.Struct("!i")
_LONG = struct.Struct("!Q")
_LONGEST_SHORT = 0x7FFFFFFF


def frame(payload: bytes) -> bytes:
    """`payload` with the header `Connection.recv_bytes` expects."""
    if len(payload) > _LONGEST_SHORT:
        return _SHORT.pack(-1) + _LONG.pack(len(payload)) + payload
    return _SHORT.pack(len(payload)) + payload


def take_messages(buffer: bytearray) -> list[bytes]:
    """The whole messages at the start of `buffer`, removed from it; a partial one stays."""
    messages: list[bytes] = []
    start = 0
    view = memoryview(buffer)
    try:
        while len(buffer) - start >= _SHORT.size:
            (size,) = _SHORT.unpack_from(buffer, start)
            header = _SHORT.size
            if size == -1:
                if len(buffer) - start < _SHORT.size + _LONG.size:
                    break
                (size,) = _LONG.unpack_from(buffer, start + _SHORT.size)
                header += _LONG.size
            elif size < 0:
                raise ValueError(f"not a Connection frame: length {size}")
            end = start + header + size
            if end > len(buffer):
                break
            messages.append(bytes(view[start + header : end]))
            start = end
    finally:
        view.release()  # a bytearray with a live view cannot be resized
    del buffer[:start]
    return messages
