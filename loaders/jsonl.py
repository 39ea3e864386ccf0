"""Read JSON Lines lazily, one (line number, object or error) at a time."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from loaders.rows import RowRejected


def read_jsonl(path: Path) -> Iterator[tuple[int, Any | RowRejected]]:
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            text = raw.strip()
            if not text:
                continue
            try:
                yield number, json.loads(text.decode("utf-8-sig" if number == 1 else "utf-8"))
            except UnicodeDecodeError:
                yield number, RowRejected("bad_encoding", "line is not valid UTF-8")
            except json.JSONDecodeError as e:
                yield (
                    number,
                    RowRejected("malformed", f"not a JSON object: {e.msg} at column {e.colno}"),
                )
