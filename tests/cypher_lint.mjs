// Lints Cypher queries with Neo4j's own grammar and semantic analysis.
//
// Uses lintCypherQuery of @neo4j-cypher/language-support (pinned in tests/package.json),
// the parser and the semantic analysis that Neo4j's tools (Browser, Workspace, VS Code)
// run; it needs no database.
//
//   stdin:  either a JSON array [{name, query}, ...]
//           or an object {"schema": {labels, relationshipTypes, propertyKeys},
//                         "queries": [{name, query}, ...]}
//   stdout: a JSON array [{name, statements, parameters,
//                          diagnostics: [{severity, message, line, column}]}, ...]
//           in input order; severity 1 = Error, 2 = Warning (LSP DiagnosticSeverity);
//           line and column are 1-based; statements is the number of statements in
//           the text (a driver runs exactly one).
//   exit:   0 when every query was linted (whatever the diagnostics), 2 on bad input,
//           3 when the semantic analysis is not running (see the canary below).
//
// The schema given to the linter:
// - labels, relationship types and property keys from stdin: anything else in a query
//   yields a "... is not present in the database" warning;
// - Cypher 5 (Neo4j 5) as the language version;
// - the built-in Neo4j 5 functions and procedures of the package's bundled schema dump
//   (testData.mockSchema, without APOC and GDS), so an unknown or misspelled function
//   is an error rather than silently accepted;
// - the query's own $parameters as declared: the driver supplies them at run time, so
//   "Parameter $x is not defined" is not a fault of the query text;
// - console commands (":param", ":use") disabled: a driver cannot run them.
import {
  lintCypherQuery,
  parseParameters,
  parseStatementsStrs,
  testData,
} from '@neo4j-cypher/language-support';

const CYPHER_VERSION = 'CYPHER 5';
const NOT_BUILT_IN = /^(apoc|gds)\./;

function builtIns() {
  const functions = {};
  const procedures = {};
  for (const [name, fn] of Object.entries(testData.mockSchema.functions[CYPHER_VERSION])) {
    if (fn.isBuiltIn && !NOT_BUILT_IN.test(name)) functions[name] = fn;
  }
  for (const [name, proc] of Object.entries(testData.mockSchema.procedures[CYPHER_VERSION])) {
    if (!NOT_BUILT_IN.test(name)) procedures[name] = proc;
  }
  if (!functions.coalesce || !functions.count || !procedures['db.labels']) {
    throw new Error('the bundled Neo4j function/procedure list is missing or changed shape');
  }
  return {
    functions: { [CYPHER_VERSION]: functions },
    procedures: { [CYPHER_VERSION]: procedures },
  };
}

function lintOne(query, baseSchema) {
  const parameters = parseParameters(query, false);
  const dbSchema = {
    ...baseSchema,
    parameters: Object.fromEntries(parameters.map((p) => [p, null])),
  };
  const { diagnostics } = lintCypherQuery(query, dbSchema, { consoleCommandsEnabled: false });
  return {
    statements: parseStatementsStrs(query).length,
    parameters,
    diagnostics: diagnostics.map((d) => ({
      severity: d.severity,
      message: d.message,
      line: d.range.start.line + 1,
      column: d.range.start.character + 1,
    })),
  };
}

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

function fail(code, message) {
  process.stderr.write(`cypher_lint.mjs: ${message}\n`);
  process.exit(code);
}

const input = JSON.parse(await readStdin());
const queries = Array.isArray(input) ? input : input.queries;
const schema = Array.isArray(input) ? {} : (input.schema ?? {});
if (!Array.isArray(queries)) fail(2, 'expected a JSON array of {name, query} on stdin');
for (const q of queries) {
  if (typeof q?.name !== 'string' || typeof q?.query !== 'string') {
    fail(2, `every item needs a string name and query, got ${JSON.stringify(q)}`);
  }
}

const baseSchema = {
  labels: schema.labels ?? [],
  relationshipTypes: schema.relationshipTypes ?? [],
  propertyKeys: schema.propertyKeys ?? [],
  defaultLanguage: CYPHER_VERSION,
  ...builtIns(),
};

// Canary: the semantic analysis swallows its own exceptions and then reports nothing,
// which would pass every query. An undefined variable is only caught by it.
const canary = lintOne('MATCH (n) RETURN m', baseSchema);
if (!canary.diagnostics.some((d) => d.severity === 1 && /Variable `m` not defined/.test(d.message))) {
  fail(3, `Neo4j's semantic analysis is not running on node ${process.version}; ` +
    `canary diagnostics: ${JSON.stringify(canary.diagnostics)}`);
}

const out = queries.map(({ name, query }) => ({ name, ...lintOne(query, baseSchema) }));
process.stdout.write(JSON.stringify(out));
