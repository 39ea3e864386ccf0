"""Injection strings shared by the hostile-input tests (GraphQL arguments, loaded files)."""

from __future__ import annotations

#: Classic injection strings: quote breaking, comment tails, clause smuggling, procedure
#: calls, parameter look-alikes, backticks, escapes, invisible characters, long text.
PAYLOADS: tuple[str, ...] = (
    "' OR 1=1 //",
    "\" OR 1=1 //",
    "'}) MATCH (n) DETACH DELETE n //",
    "\"}) MATCH (n) DETACH DELETE n //",
    "x' RETURN 1 UNION MATCH (n) RETURN n //",
    "\\u0027) MATCH (n) SET n.pwned = true //",
    "`) DETACH DELETE n //",
    "$code",
    "{code}",
    "CALL db.labels()",
    "1; MATCH (n) DETACH DELETE n",
    "\\' OR \\'1\\'=\\'1",
    "/* */ MERGE (p:Pwned) //",
    "'; CREATE (:Pwned {at: timestamp()}); //",
    "张三' OR '1'='1",
    "\u202e\ufeff\u200b零宽",
    "𝕏" * 3 + "\U0001f600",
    "长" * 1900,
)

#: Text no engine can hold as sent (a NUL ends FalkorDB's query text; a lone surrogate is
#: not UTF-8): refused with ``INVALID_INPUT`` / ``bad_text``, nothing written
#: (graph/text_guard.py).
UNSTORABLE: tuple[str, ...] = ("x\x00y", "\x00", "名\ud800称")
