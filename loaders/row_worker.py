"""A validation worker: ``python -m loaders.row_worker``, started by ``loaders.row_pool``.

It reads framed pickles on stdin (first the ``RowContext``, then chunks of rows) and
answers each chunk with a framed pickle on stdout, in order. It ends at the end of its
input: when the loader closes the pipe, and equally when the loader dies, killed or not,
so a worker never outlives its loader. The frames are this loader's own pipes to its
own child, never input from outside, so pickle is safe here.
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
import traceback
from typing import IO, Any

from loaders.frames import read_frame, write_frame
from loaders.row_items import RowContext, prepare_chunk
from schema.codes import limit_code_caches

#: Codes each of a worker's validation caches keeps. Why not the full size: several
#: workers run side by side, each with its own caches, and their memory adds up (at 1M
#: entities the full caches made two workers and the loader 1.2 GiB together). Rows
#: come in chunks, and the rows of a chunk name the same few subjects.
WORKER_CODE_CACHE_SIZE = 30_000


def send(out: IO[bytes], value: Any) -> None:
    write_frame(out, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
    out.flush()


def receive(inp: IO[bytes]) -> Any:
    """The next value; EOFError at the end of the stream (also one cut short)."""
    data = read_frame(inp)
    if data is None:
        raise EOFError
    return pickle.loads(data)  # noqa: S301 - our own child's pipe


def main() -> None:
    # Ctrl-C is the loader's to handle: it closes the pipes and the worker ends.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The engine is the other half of a load and the slower one: let it have a core
    # whenever it can use one.
    os.nice(10)
    limit_code_caches(WORKER_CODE_CACHE_SIZE)
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    try:
        ctx = receive(inp)
        assert isinstance(ctx, RowContext)
        while True:
            rows = receive(inp)
            try:
                answer: tuple[str, Any] = ("ok", prepare_chunk(ctx, rows))
            except Exception:  # a defect: the loader reports it and stops
                answer = ("error", traceback.format_exc())
            send(out, answer)
    except (EOFError, BrokenPipeError):
        return


if __name__ == "__main__":
    main()
