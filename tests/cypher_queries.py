"""Collects every Cypher query of a ``queries`` package and lints it with Neo4j's grammar.

The convention the collector relies on (see ``queries/__init__.py``):

- every module of the package is imported (``pkgutil.iter_modules``);
- every module-level attribute whose name is UPPER_CASE (``^[A-Z][A-Z0-9_]*$``, so
  ``_PRIVATE`` fragments are left out) and whose value is a ``str`` is a complete Cypher
  query; other UPPER_CASE values (``REL_TYPES``, a dict) are ignored;
- a module whose text must vary defines ``variants() -> Iterable[tuple[str, str]]``
  yielding every ``(name, text)`` its builders can produce;
- a module may define ``ALLOWED_LITERALS`` (a set of str): fixed string literals its
  queries legitimately compare or write (see ``tests/test_cypher_grammar.py``).

Names are ``"module.CONSTANT"`` and ``"module.<name yielded by variants()>"``.

The Node side (``tests/cypher_lint.mjs``, ``@neo4j-cypher/language-support``) is
installed by ``npm ci --prefix tests --no-audit --no-fund`` (``make setup`` does it);
``python tests/cypher_queries.py`` installs it when missing and lists the queries.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType
from typing import Any

TESTS_DIR = Path(__file__).resolve().parent
ROOT = TESTS_DIR.parent
LINT_SCRIPT = TESTS_DIR / "cypher_lint.mjs"
MODEL_DOC = ROOT / "docs" / "model.md"
PACKAGE = "@neo4j-cypher/language-support"
PACKAGE_VERSION = "2.0.0-next.38"
PACKAGE_DIR = TESTS_DIR / "node_modules" / "@neo4j-cypher" / "language-support"
SETUP_COMMAND = "npm ci --prefix tests --no-audit --no-fund"

_UPPER_CASE = re.compile(r"[A-Z][A-Z0-9_]*")


def _package(package: str | ModuleType) -> ModuleType:
    return importlib.import_module(package) if isinstance(package, str) else package


def query_modules(package: str | ModuleType = "queries") -> list[ModuleType]:
    """Every module of ``package``, imported, in name order."""
    pkg = _package(package)
    return [
        importlib.import_module(f"{pkg.__name__}.{info.name}")
        for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name)
    ]


def short_name(module: ModuleType) -> str:
    return module.__name__.rsplit(".", 1)[-1]


def module_queries(module: ModuleType) -> list[tuple[str, str]]:
    """The (name, text) pairs of one module: UPPER_CASE str constants, then variants()."""
    prefix = short_name(module)
    out = [
        (f"{prefix}.{attr}", value)
        for attr, value in sorted(vars(module).items())
        if _UPPER_CASE.fullmatch(attr) and isinstance(value, str)
    ]
    variants = getattr(module, "variants", None)
    if callable(variants):
        for name, text in variants():
            if not isinstance(name, str) or not isinstance(text, str):
                raise TypeError(f"{module.__name__}.variants() must yield (str, str) pairs")
            out.append((f"{prefix}.{name}", text))
    return out


def collect_queries(package: str | ModuleType = "queries") -> list[tuple[str, str]]:
    """Every query of every module of ``package`` as ``("module.NAME", text)``."""
    out: list[tuple[str, str]] = []
    for module in query_modules(package):
        out.extend(module_queries(module))
    names = [name for name, _ in out]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"query names are not unique: {duplicates}")
    return out


def allowed_literals(package: str | ModuleType = "queries") -> dict[str, frozenset[str]]:
    """Per module short name, the fixed literals it declares in ``ALLOWED_LITERALS``."""
    return {
        short_name(m): frozenset(getattr(m, "ALLOWED_LITERALS", ())) for m in query_modules(package)
    }


# --- the graph model given to the linter -----------------------------------------------

_BACKTICKED = re.compile(r"`([^`]+)`")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _section(text: str, title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\s*$(.*?)(?=^## |\Z)", text, re.M | re.S)
    return match.group(1) if match else ""


def _first_cells(section: str) -> list[str]:
    rows = [line for line in section.splitlines() if line.startswith("|")]
    return [row.split("|")[1] for row in rows[2:]]  # skip the header and the |---| line


def graph_schema(model_doc: Path = MODEL_DOC) -> dict[str, list[str]]:
    """Labels, relationship types and property keys declared in ``docs/model.md``.

    Labels are the first column of its "Nodes" table (``Subject:Entity`` gives both),
    relationship types the first column of its "Relationships" table, and property keys
    every lower-case identifier written in backticks in those two sections (their tables
    and the notes under them: ``src``, ``src_line``, ``row_hash``...).
    """
    text = model_doc.read_text(encoding="utf-8")
    labels: set[str] = set()
    for cell in _first_cells(_section(text, "Nodes")):
        for token in _BACKTICKED.findall(cell):
            labels.update(_IDENT.findall(token))
    rel_types: set[str] = set()
    for cell in _first_cells(_section(text, "Relationships")):
        for token in _BACKTICKED.findall(cell):
            rel_types.update(_IDENT.findall(token))
    keys = {
        ident
        for section in (_section(text, "Nodes"), _section(text, "Relationships"))
        for line in section.splitlines()
        for token in _BACKTICKED.findall(line)
        for ident in _IDENT.findall(token)
        if ident[0].islower()
    }
    if not labels or not rel_types:
        raise ValueError(
            f"{model_doc}: no labels or relationship types found in its "
            "'## Nodes' / '## Relationships' tables"
        )
    return {
        "labels": sorted(labels),
        "relationshipTypes": sorted(rel_types),
        "propertyKeys": sorted(keys),
    }


# --- the Node side -----------------------------------------------------------------------


def node_setup_problem() -> str | None:
    """Why the linter cannot run here, or None when node and the package are in place."""
    if shutil.which("node") is None:
        return f"node is not on PATH: install Node.js (>= 20), then run `{SETUP_COMMAND}`"
    manifest = PACKAGE_DIR / "package.json"
    if not manifest.is_file():
        return f"{PACKAGE} is not installed in tests/node_modules: run `{SETUP_COMMAND}`"
    version = json.loads(manifest.read_text(encoding="utf-8")).get("version")
    if version != PACKAGE_VERSION:
        return (
            f"tests/node_modules has {PACKAGE} {version}, the lock file pins "
            f"{PACKAGE_VERSION}: run `{SETUP_COMMAND}`"
        )
    return None


def ensure_node_packages() -> None:
    """Install tests/node_modules from tests/package-lock.json when it is missing."""
    if node_setup_problem() is None:
        return
    subprocess.run(
        ["npm", "ci", "--prefix", str(TESTS_DIR), "--no-audit", "--no-fund"],
        check=True,
        cwd=ROOT,
    )


def lint_queries(
    queries: Iterable[tuple[str, str]],
    schema: dict[str, list[str]] | None = None,
    timeout: float = 120,
) -> list[dict[str, Any]]:
    """Lint every query in one node process; one result per query, in input order.

    Each result is ``{name, statements, parameters, diagnostics: [{severity, message,
    line, column}]}``; severity 1 is an error, 2 a warning.
    """
    items = [{"name": name, "query": text} for name, text in queries]
    payload = {"schema": schema or {}, "queries": items}
    proc = subprocess.run(
        ["node", str(LINT_SCRIPT)],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
        cwd=TESTS_DIR,
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"node {LINT_SCRIPT.name} exited with {proc.returncode}:\n{proc.stderr.strip()}"
        )
    results: list[dict[str, Any]] = json.loads(proc.stdout)
    if [r["name"] for r in results] != [q["name"] for q in items]:
        raise RuntimeError(f"node {LINT_SCRIPT.name} did not answer for every query")
    return results


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    ensure_node_packages()
    for query_name, _ in collect_queries():
        print(query_name)
