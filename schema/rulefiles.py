"""YAML rule files that report mistakes at the line where they were made.

The policies and the measures catalogue are edited by people who read regulations, not
Python. A broken value must therefore be reported as ``file:line: what is wrong`` at load
time (start-up), never as a pydantic traceback or, worse, as a wrong sanction later. This
module keeps the line of every value while parsing and maps each validation error's
location back to it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from schema.errors import RuleFileError

Loc = tuple[str | int, ...]
M = TypeVar("M", bound=BaseModel)

_MAX_DEPTH = 64
_MAX_ERRORS_SHOWN = 3


class RuleValueError(ValueError):
    """A cross-field rule failed at a known place *below* the model that checks it.

    Raised inside pydantic validators; ``loc`` is relative to the model being validated,
    so the loader can point at the offending item instead of the enclosing mapping.
    """

    def __init__(self, loc: Loc, message: str) -> None:
        super().__init__(message)
        self.loc = loc
        self.message = message


@dataclass
class RuleDoc:
    """A parsed rule file: plain data plus the 1-based line of every value."""

    path: Path
    data: Any
    lines: dict[Loc, int] = field(default_factory=dict)

    def line_of(self, loc: Loc) -> int | None:
        """Line of the deepest known prefix of ``loc``.

        A missing key has no line of its own; its enclosing mapping is the nearest place a
        reader can fix it. Pydantic also appends union-member tags to locations, which the
        prefix walk skips over.
        """
        for end in range(len(loc), -1, -1):
            line = self.lines.get(loc[:end])
            if line is not None:
                return line
        return None

    def error(self, loc: Loc, reason: str) -> RuleFileError:
        return RuleFileError(str(self.path), self.line_of(loc), f"{format_loc(loc)}: {reason}")


def format_loc(loc: Loc) -> str:
    """``groundings[2].measures[0]``: the path as a reader of the YAML would say it."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(document)"


def read_rule_file(path: Path) -> RuleDoc:
    """Parse ``path`` with YAML's safe constructors, recording each value's line.

    Duplicate keys are an error: YAML would silently keep the last one, which hides the
    very kind of copy-paste slip these files are prone to.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise RuleFileError(str(path), None, f"cannot read the rule file: {e}") from None
    loader = yaml.SafeLoader(text)
    try:
        try:
            node = loader.get_single_node()
        except yaml.MarkedYAMLError as e:
            mark = e.problem_mark or e.context_mark
            line = mark.line + 1 if mark is not None else None
            problem = " ".join(p for p in (e.context, e.problem) if p)
            raise RuleFileError(str(path), line, f"not valid YAML: {problem}") from None
        except yaml.YAMLError as e:
            raise RuleFileError(str(path), None, f"not valid YAML: {e}") from None
        doc = RuleDoc(path, None)
        if node is None:
            doc.lines[()] = 1
            return doc
        doc.data = _build(node, loader, doc, (), 1, 0)
        return doc
    finally:
        loader.dispose()


def _build(node: Node, loader: yaml.SafeLoader, doc: RuleDoc, loc: Loc, line: int,
           depth: int) -> Any:
    doc.lines[loc] = line
    if depth > _MAX_DEPTH:
        raise RuleFileError(str(doc.path), line, f"{format_loc(loc)}: nested too deeply")
    if isinstance(node, MappingNode):
        loader.flatten_mapping(node)  # resolves YAML merge keys (<<: *anchor)
        out: dict[Any, Any] = {}
        key_lines: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key_line = key_node.start_mark.line + 1
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, str | int) or isinstance(key, bool):
                raise RuleFileError(
                    str(doc.path), key_line,
                    f"{format_loc(loc)}: key {key!r} must be a plain name (quote it)",
                )
            if key in out:
                raise RuleFileError(
                    str(doc.path), key_line,
                    f"{format_loc((*loc, key))}: duplicate key (first at line {key_lines[key]})",
                )
            key_lines[key] = key_line
            # A nested block starts on the line after its key; the key line is where a
            # reader looks for it, and for scalars the two lines are the same.
            out[key] = _build(value_node, loader, doc, (*loc, key), key_line, depth + 1)
        return out
    if isinstance(node, SequenceNode):
        return [
            _build(item, loader, doc, (*loc, i), item.start_mark.line + 1, depth + 1)
            for i, item in enumerate(node.value)
        ]
    assert isinstance(node, ScalarNode)
    return loader.construct_object(node, deep=True)


def _errors(exc: ValidationError) -> Iterator[tuple[Loc, str]]:
    for err in exc.errors():
        loc: Loc = tuple(err["loc"])
        cause = (err.get("ctx") or {}).get("error")
        if isinstance(cause, RuleValueError):
            yield (*loc, *cause.loc), cause.message
            continue
        msg = err["msg"]
        if err["type"] == "value_error" and cause is not None:
            msg = str(cause)
        if err["type"] == "missing":
            msg = "required field is missing"
        elif err["type"] == "extra_forbidden":
            msg = "unknown field (a typo?)"
        elif "input" in err and not isinstance(err["input"], Mapping | list):
            msg = f"{msg} (got {err['input']!r})"
        yield loc, msg


def validate(doc: RuleDoc, model: type[M], context: dict[str, Any] | None = None) -> M:
    """Build ``model`` from ``doc``; any validation error becomes one ``RuleFileError``.

    The error carries the line of the first problem; the reason lists a few more with
    their lines, so one edit-reload cycle fixes more than one typo.
    """
    try:
        return model.model_validate(doc.data, context=context)
    except ValidationError as e:
        problems = sorted(_errors(e), key=lambda p: doc.line_of(p[0]) or 0)
        first_loc, first_msg = problems[0]
        reason = f"{format_loc(first_loc)}: {first_msg}"
        rest = problems[1:]
        if rest:
            shown = "; ".join(
                f"line {doc.line_of(loc)}: {format_loc(loc)}: {msg}"
                for loc, msg in rest[:_MAX_ERRORS_SHOWN]
            )
            more = len(rest) - _MAX_ERRORS_SHOWN
            reason += f" (also {shown}{f'; and {more} more' if more > 0 else ''})"
        raise RuleFileError(str(doc.path), doc.line_of(first_loc), reason) from None


def load_model(path: Path, model: type[M], context: dict[str, Any] | None = None) -> M:
    return validate(read_rule_file(path), model, context)
