"""Keep ID numbers out of logs in clear, whatever code path formats the message.

Engine errors can echo a query's parameters, and tracebacks can carry argument values;
a filter on every handler masks anything shaped like a resident ID number.
"""

from __future__ import annotations

import logging
import re

from schema.access import Caller, reveals_id
from schema.codes import mask_id_number, mask_id_runs

ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")


def mask_text(text: str) -> str:
    """A log line or an error message with free-standing ID numbers masked. Word
    boundaries keep hex digests and similar tokens intact; caller-typed text, where an
    ID number may be glued to words, goes through ``mask_name`` instead."""
    return ID_NUMBER.sub(lambda m: mask_id_number(m.group(0)), text)


def mask_name(name: str) -> str:
    """A caller-chosen name (a GraphQL operation name) with every ID-number-like digit
    run masked, wherever it sits in the name. The caller picks the name, so it may carry
    an ID number, and the name is kept (audit log) and exposed (``/metrics``, public).
    Also a key's name and purpose as the audit log stores them."""
    return mask_id_runs(name)


def shown_text(caller: Caller, text: str) -> str:
    """Caller-typed free text as ``caller`` may read it: ID numbers in clear only for
    operators and the person they belong to, as for ``subjectCode``. Such text is shown
    back to providers and other readers who may not see ID numbers, and anyone may write
    an ID number into it, glued to the words of a Chinese sentence (``schema.codes.ID_RUN``)."""
    return mask_id_runs(text, keep=lambda run: reveals_id(caller, run))


def shown_opt(caller: Caller, text: str | None) -> str | None:
    """``shown_text`` of a field that may be absent. Also for what providers typed into a
    record (title, document number, authority): a title such as "对张三
    (320602...)的处罚决定" carried the person's ID number to every caller."""
    return None if text is None else shown_text(caller, str(text))


class MaskIdNumbers(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info:
            formatter = logging.Formatter()
            message = message + "\n" + formatter.formatException(record.exc_info)
            record.exc_info = None
            record.exc_text = None
        record.msg = mask_text(message)
        record.args = None
        return True


def install(level: int = logging.INFO) -> None:
    """Attach the filter to every handler of the root logger (adding one if none)."""
    root = logging.getLogger()
    if not root.handlers:
        handler: logging.Handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    root.setLevel(level)
    for handler in root.handlers:
        if not any(isinstance(f, MaskIdNumbers) for f in handler.filters):
            handler.addFilter(MaskIdNumbers())
