"""Length-prefixed frames on a byte stream: the loader's spool file and its pipes to
validation workers both carry a sequence of serialised values this way."""

from __future__ import annotations

import struct
from typing import IO

_SIZE = struct.Struct("=I")


def write_frame(out: IO[bytes], data: bytes) -> None:
    out.write(_SIZE.pack(len(data)) + data)


def read_frame(inp: IO[bytes]) -> bytes | None:
    """The next frame, or None at the end of the stream; a frame cut short (the writer
    died half-way) is the end of the stream too."""
    head = inp.read(_SIZE.size)
    if len(head) < _SIZE.size:
        return None
    size = _SIZE.unpack(head)[0]
    data = inp.read(size)
    return data if len(data) == size else None
