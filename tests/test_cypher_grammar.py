"""Every Cypher query of ``queries/`` passes Neo4j's own grammar and semantic analysis.

How the queries are found: ``tests/cypher_queries.py`` imports every module of the
``queries`` package and takes each module-level UPPER_CASE ``str`` constant, plus every
``(name, text)`` a module's ``variants()`` yields (builders expose each text they can
produce that way). Names are ``module.CONSTANT``.

How they are checked: ``tests/cypher_lint.mjs`` runs ``lintCypherQuery`` of the npm
package ``@neo4j-cypher/language-support`` 2.0.0-next.38 (pinned in
``tests/package.json`` / ``package-lock.json``) on all of them in one node process, as
Cypher 5, with the labels, relationship types and property keys of ``docs/model.md`` and
Neo4j's built-in functions as the database schema. The tests fail on:

- any diagnostic of severity 1 (Error): syntax, semantic analysis (undefined variables,
  type errors, clause order...), unknown functions, console commands;
- a text holding more than one statement (a driver runs exactly one);
- a label or relationship type not declared in ``docs/model.md`` (a misspelt label
  matches nothing, silently);
- a string literal where a ``$parameter`` belongs (the rule below).

Other warnings (e.g. a property key read but not listed in ``docs/model.md``, a
deprecation) do not fail; they are shown in pytest's warnings summary. Keys read from an
``UNWIND $rows AS row`` map (``row.subject``) are keys of a parameter, not graph
properties, and are not reported.

The literal rule. Values reach Cypher only as ``$parameters``, never by building the text.
A string literal in a query is a violation when it is
  1. an operand of a comparison: next to ``=``, ``<>``, ``!=``, ``<``, ``<=``, ``>``,
     ``>=``, ``=~``, or right after ``IN``, ``CONTAINS``, ``STARTS WITH``,
     ``ENDS WITH`` or the ``WHEN`` of a simple ``CASE``; or an element of a list literal
     right after ``IN``;
  2. anywhere in a ``SET``, ``CREATE``, ``MERGE``, ``REMOVE`` or ``DELETE`` clause (a
     value written to or merged into the graph), or a value in a map written in a
     ``MATCH`` or ``WHERE`` clause (pattern properties, ``{code: '...'}``);
unless it is in ``GLOBAL_ALLOWED_LITERALS`` below (the open-end date sentinels) or in the
``ALLOWED_LITERALS`` set of the query's module (fixed, non-data literals a query really
needs). Not flagged: literals in ``RETURN`` / ``WITH`` / ``UNWIND`` / ``ORDER BY``
projections (``'exists' AS reach``) and function arguments outside write clauses
(``coalesce(ro.since, '0000-01-01') <= ...``): they shape the result, they do not select
data. Numbers, booleans and ``null`` are not checked. Builder variants are checked like
constants: they are the complete, enumerated set of texts a builder can produce.

Setup: the Node side is installed by ``npm ci --prefix tests --no-audit --no-fund``
(``make setup``); without node or the package these tests FAIL, never skip.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import sys
import textwrap
import uuid
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests import cypher_queries as cq

#: Fixed literals every module may use: the sentinels for an open start or end of a term.
GLOBAL_ALLOWED_LITERALS = frozenset({"0000-01-01", "9999-12-31"})

ERROR = 1
WARNING = 2
_NOT_PRESENT = "is not present in the database"


# --- reports over lint results -------------------------------------------------------------


def _excerpt(text: str, line: int) -> str:
    lines = text.splitlines()
    return lines[line - 1].strip() if 0 < line <= len(lines) else ""


def error_report(queries: Iterable[tuple[str, str]], results: list[dict[str, Any]]) -> list[str]:
    """One line per severity-1 diagnostic, and per text that is not exactly one statement."""
    texts = dict(queries)
    out = []
    for r in results:
        name = r["name"]
        if r["statements"] != 1:
            out.append(f"{name}: holds {r['statements']} statements; a driver runs exactly one")
        for d in r["diagnostics"]:
            if d["severity"] == ERROR:
                where = f"{d['line']}:{d['column']}"
                out.append(
                    f"{name} {where}: {d['message']}\n    | {_excerpt(texts[name], d['line'])}"
                )
    return out


def _is_unknown_label_or_type(message: str) -> bool:
    return _NOT_PRESENT in message and message.startswith(("Label ", "Relationship type "))


def model_report(results: list[dict[str, Any]]) -> list[str]:
    """One line per label or relationship type that docs/model.md does not declare."""
    return [
        f"{r['name']} {d['line']}:{d['column']}: {d['message'].split('. ')[0]}"
        for r in results
        for d in r["diagnostics"]
        if d["severity"] == WARNING and _is_unknown_label_or_type(d["message"])
    ]


def _unwind_variables(text: str) -> set[str]:
    return set(re.findall(r"\bUNWIND\b[^;]*?\bAS\s+(\w+)", text, re.I))


def other_warnings(queries: Iterable[tuple[str, str]], results: list[dict[str, Any]]) -> list[str]:
    """Warnings that do not fail: property keys missing from docs/model.md, deprecations.

    A key read from an UNWIND row (``row.subject``) is a key of a parameter map, not a
    graph property, and is left out.
    """
    texts = dict(queries)
    out = []
    for r in results:
        text = texts[r["name"]]
        rows = _unwind_variables(text)
        for d in r["diagnostics"]:
            if d["severity"] != WARNING or _is_unknown_label_or_type(d["message"]):
                continue
            line = text.splitlines()[d["line"] - 1] if d["line"] <= len(text.splitlines()) else ""
            before = line[: d["column"] - 1]
            if _NOT_PRESENT in d["message"] and any(before.endswith(f"{v}.") for v in rows):
                continue
            out.append(f"{r['name']} {d['line']}:{d['column']}: {d['message'].split('. ')[0]}")
    return out


# --- the literal rule ----------------------------------------------------------------------

_TOKEN = re.compile(
    r"""
      (?P<ws>\s+|//[^\n]*|/\*.*?\*/)
    | (?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
    | (?P<name>`(?:[^`]|``)*`|[A-Za-z_][A-Za-z0-9_]*)
    | (?P<param>\$(?:`[^`]*`|[A-Za-z0-9_]+))
    | (?P<num>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
    | (?P<op><>|<=|>=|=~|!=|\+=|\.\.|::|.)
    """,
    re.X | re.S,
)

_COMPARISON_OPS = {"=", "<>", "!=", "<", "<=", ">", ">=", "=~"}
_COMPARISON_WORDS = {"IN", "CONTAINS", "WHEN"}
_CLAUSES = {
    "MATCH", "MERGE", "CREATE", "SET", "REMOVE", "DELETE", "WHERE", "WITH", "RETURN",
    "UNWIND", "ORDER", "SKIP", "LIMIT", "CALL", "YIELD", "FOREACH", "UNION", "FINISH",
}  # fmt: skip
_WRITE_CLAUSES = {"SET", "CREATE", "MERGE", "REMOVE", "DELETE"}
_MATCHING_CLAUSES = {"MATCH", "WHERE"}
_OPENERS = {"(": ")", "[": "]", "{": "}"}


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str
    line: int

    @property
    def word(self) -> str:
        return self.text.upper() if self.kind == "name" else ""


def _tokens(text: str) -> list[_Tok]:
    out = []
    line = 1
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup or "op"
        if kind != "ws":
            out.append(_Tok(kind, m.group(), line))
        line += m.group().count("\n")
    return out


def _literal_value(token: str) -> str:
    return token[1:-1].encode("utf-8").decode("unicode_escape") if "\\" in token else token[1:-1]


def literal_violations(text: str, allowed: Iterable[str] = ()) -> list[tuple[str, int, str]]:
    """``(literal, line, why)`` for each string literal that should be a $parameter."""
    allow = GLOBAL_ALLOWED_LITERALS | set(allowed)
    toks = _tokens(text)
    clause = ""
    # one frame per open bracket: (opener, clause when it opened)
    stack: list[tuple[str, str]] = []
    out = []
    for i, tok in enumerate(toks):
        prev = toks[i - 1] if i > 0 else None
        prev2 = toks[i - 2] if i > 1 else None
        nxt = toks[i + 1] if i + 1 < len(toks) else None
        if tok.kind == "op" and tok.text in _OPENERS:
            stack.append((tok.text, clause))
            continue
        if tok.kind == "op" and tok.text in _OPENERS.values():
            if stack:
                clause = stack.pop()[1]
            continue
        if tok.word in _CLAUSES and not (
            tok.word == "WITH" and prev is not None and prev.word in {"STARTS", "ENDS"}
        ):
            clause = tok.word
            continue
        if tok.kind != "str":
            continue
        value = _literal_value(tok.text)
        if value in allow:
            continue
        why = ""
        if (prev and prev.kind == "op" and prev.text in _COMPARISON_OPS) or (
            nxt and nxt.kind == "op" and nxt.text in _COMPARISON_OPS
        ):
            why = "compared"
        elif prev and (
            prev.word in _COMPARISON_WORDS
            or (prev.word == "WITH" and prev2 is not None and prev2.word in {"STARTS", "ENDS"})
        ):
            why = "compared"
        elif stack and stack[-1][0] == "[" and _list_after_in(toks, i):
            why = "compared (IN list)"
        elif clause in _WRITE_CLAUSES:
            why = f"written in {clause}"
        elif (
            stack
            and stack[-1][0] == "{"
            and prev is not None
            and prev.text == ":"
            and (stack[-1][1] in _MATCHING_CLAUSES or clause in _MATCHING_CLAUSES)
        ):
            why = "a pattern property value"
        if why:
            out.append((value, tok.line, why))
    return out


def _list_after_in(toks: list[_Tok], i: int) -> bool:
    """Whether token i sits directly in a list literal that follows ``IN``."""
    depth = 0
    for j in range(i - 1, -1, -1):
        t = toks[j]
        if t.kind == "op" and t.text in _OPENERS.values():
            depth += 1
        elif t.kind == "op" and t.text in _OPENERS:
            if depth == 0:
                return t.text == "[" and j > 0 and toks[j - 1].word == "IN"
            depth -= 1
    return False


def literal_report(
    queries: Iterable[tuple[str, str]], allowed_by_module: dict[str, frozenset[str]]
) -> list[str]:
    out = []
    for name, text in queries:
        module = name.split(".", 1)[0]
        for value, line, why in literal_violations(text, allowed_by_module.get(module, ())):
            out.append(f"{name} line {line}: {value!r} is {why}")
    return out


# --- which modules hold Cypher ----------------------------------------------------------

_CYPHER_START = re.compile(
    r"^\s*(MATCH|OPTIONAL\s+MATCH|MERGE|CREATE|UNWIND|WITH|RETURN|CALL|DETACH\s+DELETE)\b"
)


def holds_cypher_text(module: ModuleType) -> bool:
    """Whether the module's source has a string constant that reads as a Cypher query."""
    tree = ast.parse(inspect.getsource(module))
    return any(
        isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and _CYPHER_START.match(node.value)
        for node in ast.walk(tree)
    )


def uncollected_modules(package: str | ModuleType) -> list[str]:
    """Modules whose source holds Cypher text but from which nothing is collected."""
    return [
        m.__name__
        for m in cq.query_modules(package)
        if holds_cypher_text(m) and not cq.module_queries(m)
    ]


# --- running the linter ---------------------------------------------------------------------


@dataclass
class LintRun:
    queries: list[tuple[str, str]]
    results: list[dict[str, Any]]
    problem: str | None = None

    def require(self) -> list[dict[str, Any]]:
        if self.problem is not None:
            pytest.fail(f"the Cypher grammar check cannot run: {self.problem}", pytrace=False)
        return self.results


def run_lint(queries: list[tuple[str, str]]) -> LintRun:
    problem = cq.node_setup_problem()
    if problem is not None:
        return LintRun(queries, [], problem)
    return LintRun(queries, cq.lint_queries(queries, cq.graph_schema()))


@pytest.fixture(scope="session")
def project_queries() -> list[tuple[str, str]]:
    return cq.collect_queries("queries")


@pytest.fixture(scope="session")
def project_lint(project_queries: list[tuple[str, str]]) -> LintRun:
    return run_lint(project_queries)


def _fail(title: str, lines: list[str], hint: str) -> None:
    body = "\n".join(f"  {line}" for line in lines)
    pytest.fail(f"{title} ({len(lines)}):\n{body}\n{hint}", pytrace=False)


# --- the project's queries ----------------------------------------------------------------


def test_queries_are_collected_from_every_module(project_queries: list[tuple[str, str]]) -> None:
    assert project_queries, "no Cypher query collected from the queries package"
    names = {name.split(".", 1)[0] for name, _ in project_queries}
    for module in cq.query_modules("queries"):
        short = cq.short_name(module)
        if cq.module_queries(module) or holds_cypher_text(module):
            assert short in names, f"no query collected from queries.{short}"
    missed = uncollected_modules("queries")
    assert not missed, (
        f"{missed} hold Cypher text the grammar test cannot see: make each query an "
        "UPPER_CASE str constant, or expose a builder's texts with variants()"
    )


def test_every_query_passes_neo4j_grammar_and_semantics(project_lint: LintRun) -> None:
    results = project_lint.require()
    problems = error_report(project_lint.queries, results)
    if problems:
        _fail(
            "Cypher rejected by Neo4j's grammar or semantic analysis",
            problems,
            "(lintCypherQuery of @neo4j-cypher/language-support, Cypher 5; see "
            "tests/test_cypher_grammar.py)",
        )
    other = other_warnings(project_lint.queries, results)
    if other:
        warnings.warn("Cypher lint warnings (not failing):\n" + "\n".join(other), stacklevel=1)


def test_queries_use_only_labels_and_types_of_the_model(project_lint: LintRun) -> None:
    problems = model_report(project_lint.require())
    if problems:
        _fail(
            "labels or relationship types not declared in docs/model.md",
            problems,
            "A misspelt label or type matches nothing; a new one goes into docs/model.md.",
        )


def test_queries_take_values_only_as_parameters(project_queries: list[tuple[str, str]]) -> None:
    problems = literal_report(project_queries, cq.allowed_literals("queries"))
    if problems:
        _fail(
            "string literals where a $parameter belongs",
            problems,
            "Pass the value as a $parameter; a fixed non-data literal the query needs goes "
            "into its module's ALLOWED_LITERALS (rule: tests/test_cypher_grammar.py).",
        )


# --- self-tests: the check can fail ---------------------------------------------------------

REPRESENTATIVE_MERGE = (
    "UNWIND $rows AS row MERGE (n:Subject:Entity {code: row.code}) WITH n, row "
    "WHERE n.row_hash IS NULL OR n.row_hash <> row.row_hash "
    "SET n += row.props, n.row_hash = row.row_hash RETURN count(n) AS changed"
)
REPRESENTATIVE_CHECK = (
    "MATCH (s:Subject {code: $code})<-[:CONCERNS]-(r:Record) WHERE r.decided_on <= $as_of "
    "RETURN r {.*} AS record, [s.code] AS via, null AS role UNION ALL "
    "MATCH (s:Person {code: $code})-[ro:LEGAL_REPRESENTATIVE_OF|PRINCIPAL_OF]->(e:Entity)"
    "<-[:CONCERNS]-(r:Record) "
    "WHERE coalesce(ro.since, '0000-01-01') <= coalesce(r.act_ended_on, r.decided_on) "
    "RETURN r {.*} AS record, [s.code, e.code] AS via, type(ro) AS role"
)

_DEMO_MODULES = {
    "__init__": '"""A throwaway queries package for the self-tests."""\n',
    "good": f'''
        from collections.abc import Iterator

        MERGE_ENTITIES = {REPRESENTATIVE_MERGE!r}
        CHECK = {REPRESENTATIVE_CHECK!r}
        MULTILINE = """
        MATCH (r:Record {{uid: $uid}})
        // a comment
        RETURN properties(r) AS record
        """
        REL_TYPES = {{"concerns": "CONCERNS", "changed": "CHANGED"}}
        ALLOWED_LITERALS = frozenset({{"entity"}})
        _FRAGMENT = "RETURN"
        lower_case = "MATCH (n RETURN n"


        def variants() -> Iterator[tuple[str, str]]:
            for key, rel in REL_TYPES.items():
                yield f"count[{{key}}]", f"MATCH ()-[r:{{rel}}]->() RETURN count(r) AS n"
        ''',
    "bad": """
        UNCLOSED = "MATCH (n RETURN n"
        ORDER_WITHOUT_BY = "MATCH (n) RETURN n ORDER n"
        UNDEFINED_VARIABLE = "MATCH (n:Subject) RETURN m"
        UNKNOWN_FUNCTION = "MATCH (n:Subject) RETURN colaesce(n.code, $code) AS c"
        TWO_STATEMENTS = "MATCH (n:Subject) RETURN n; MATCH (m:Record) RETURN m"
        MISSPELT_LABEL = "MATCH (n:Subjcet) RETURN n"
        MISSPELT_TYPE = "MATCH (n:Record)-[:CONCERN]->(s:Subject) RETURN s"
        LITERAL_CODE = "MATCH (s:Subject {code: '91420100MA4K0000X1'}) RETURN s"
        """,
    "helpers": '''
        """No queries here: nothing to collect, nothing required."""

        def describe() -> str:
            return "Match the subject first."
        ''',
    "hidden": """
        def query() -> str:
            return "MATCH (n) RETURN n"
        """,
}


@pytest.fixture
def demo_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    name = f"queries_selftest_{uuid.uuid4().hex[:8]}"
    pkg = tmp_path / name
    pkg.mkdir()
    for module, source in _DEMO_MODULES.items():
        (pkg / f"{module}.py").write_text(textwrap.dedent(source), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    yield name
    for mod in [m for m in sys.modules if m == name or m.startswith(f"{name}.")]:
        del sys.modules[mod]


def test_collector_convention(demo_package: str) -> None:
    names = [name for name, _ in cq.collect_queries(demo_package)]
    assert names[:3] == ["bad.LITERAL_CODE", "bad.MISSPELT_LABEL", "bad.MISSPELT_TYPE"]
    good = [n for n in names if n.startswith("good.")]
    assert good == [
        "good.CHECK",
        "good.MERGE_ENTITIES",
        "good.MULTILINE",
        "good.count[concerns]",
        "good.count[changed]",
    ]
    assert not [n for n in names if n.startswith(("helpers.", "hidden."))]
    assert cq.allowed_literals(demo_package)["good"] == frozenset({"entity"})
    assert uncollected_modules(demo_package) == [f"{demo_package}.hidden"]


def test_linter_accepts_good_and_rejects_bad_queries(demo_package: str) -> None:
    queries = cq.collect_queries(demo_package)
    results = run_lint(queries).require()
    errors = error_report(queries, results)
    unknown = model_report(results)
    failing = {line.split(" ", 1)[0].rstrip(":") for line in errors + unknown}
    assert not [line for line in errors + unknown if line.startswith("good.")], errors
    assert failing == {
        "bad.UNCLOSED",
        "bad.ORDER_WITHOUT_BY",
        "bad.UNDEFINED_VARIABLE",
        "bad.UNKNOWN_FUNCTION",
        "bad.TWO_STATEMENTS",
        "bad.MISSPELT_LABEL",
        "bad.MISSPELT_TYPE",
    }
    by_name = {r["name"]: r for r in results}
    for name in ("bad.UNCLOSED", "bad.ORDER_WITHOUT_BY", "bad.UNDEFINED_VARIABLE"):
        assert any(d["severity"] == ERROR for d in by_name[name]["diagnostics"]), name
    # parameters are supplied by the driver: never an error
    assert not any("Parameter" in line for line in errors)
    literals = literal_report(queries, cq.allowed_literals(demo_package))
    assert [line.split(" ", 1)[0] for line in literals] == ["bad.LITERAL_CODE"]


def test_missing_node_package_fails_with_the_setup_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cq, "PACKAGE_DIR", tmp_path / "absent")
    run = run_lint([("x.Q", "RETURN 1 AS one")])
    assert run.problem is not None and cq.SETUP_COMMAND in run.problem
    with pytest.raises(pytest.fail.Exception, match="npm ci --prefix tests"):
        run.require()
    monkeypatch.setattr("shutil.which", lambda _: None)
    problem = cq.node_setup_problem()
    assert problem is not None and "node is not on PATH" in problem


@pytest.mark.parametrize(
    ("query", "flagged"),
    [
        ("MATCH (s:Subject {code: '9142'}) RETURN s", ["9142"]),
        ("MATCH (r:Record) WHERE r.status = 'active' RETURN r", ["active"]),
        ("MATCH (r:Record) WHERE 'active' <> r.status RETURN r", ["active"]),
        ("MATCH (r:Record) WHERE r.status IN ['a', 'b'] RETURN r", ["a", "b"]),
        ("MATCH (s:Subject) WHERE s.name STARTS WITH 'Wu' RETURN s", ["Wu"]),
        ('MATCH (s:Subject) WHERE toLower(s.name) CONTAINS "han" RETURN s', ["han"]),
        ("MATCH (r:Record {uid: $uid}) SET r.status = 'withdrawn' RETURN r", ["withdrawn"]),
        ("MATCH (r:Record) SET r += {status: 'x'}", ["x"]),
        ("CREATE (e:Event {kind: 'revoked'}) RETURN e", ["revoked"]),
        ("MERGE (n:Subject {code: 'C1'}) RETURN n", ["C1"]),
        ("MATCH (r:Record) RETURN CASE r.status WHEN 'x' THEN 1 END AS y", ["x"]),
        (
            "MATCH (r:Record) SET r.status = CASE WHEN r.status IS NULL THEN 'active' "
            "ELSE r.status END",
            ["active"],
        ),
        (
            "MATCH (s:Subject) WHERE EXISTS { MATCH (s)<-[:CONCERNS]-(:Record {k: 'v'}) } RETURN s",
            ["v"],
        ),
        (REPRESENTATIVE_MERGE, []),
        (REPRESENTATIVE_CHECK, []),
        ("MATCH (s:Subject {code: $code}) RETURN 'exists' AS reach, s.code AS code", []),
        ("MATCH (s:Subject) RETURN {kind: 'entity', code: s.code} AS m", []),
        ("MATCH (s:Subject) WHERE s.name STARTS WITH $prefix WITH s RETURN s", []),
        ("MATCH (s:Subject) RETURN s // where s.code = 'x'", []),
        ("MATCH (r:Record) WHERE coalesce(r.until, '9999-12-31') >= $as_of RETURN r", []),
    ],
)
def test_literal_rule(query: str, flagged: list[str]) -> None:
    assert [value for value, _, _ in literal_violations(query)] == flagged


def test_literal_rule_honours_module_allow_list() -> None:
    query = "MATCH (s:Subject) WHERE s.kind = 'entity' RETURN s"
    assert literal_violations(query)
    assert not literal_violations(query, {"entity"})
    assert literal_report([("m.Q", query)], {"m": frozenset({"entity"})}) == []
    assert literal_report([("m.Q", query)], {"other": frozenset({"entity"})})
