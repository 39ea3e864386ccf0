// The interactive graph: Cytoscape (vendored in web/vendor, drawn on a canvas).
// Nodes are subjects, edges are roles in their real direction (holder → organisation).
// A node is identified by the opaque id the service gives it (`id` in `neighborhood` and
// `paths`, the same in every answer): two persons whose masked ID numbers read alike are
// two nodes. The Cytoscape element id is the code when this caller sees it in clear (a
// code names one subject) and the opaque id when it is masked; the code is what is shown.
// A masked node cannot be expanded further (the service needs the full number), but its
// risk comes with it, computed by the service from what this caller may read.

import cytoscape from "../vendor/cytoscape.esm.min.js";
import { gql } from "./api.js";
import { isMasked } from "./dom.js";
import { t, label } from "./i18n.js";

const NODE = "id code name kind risk";
const EDGE = "type fromCode toCode fromId toId since until shareRatio";
export const GRAPH_FIELDS = { node: NODE, edge: EDGE };

const HOOD = `query Hood($code: String!, $hops: Int!, $limit: Int!) {
  neighborhood(code: $code, hops: $hops, limit: $limit) {
    truncated nodes { ${NODE} }
    edges { ${EDGE} } } }`;

// Whether a subject has negative records in force, and which lists it is on today (for
// nodes added from a code alone, e.g. a check's via chain).
const RISK = `query Risk($codes: [String!]!) {
  subjects(codes: $codes) { code records { category status list } } }`;

const NAMES = `query Names($codes: [String!]!) { subjects(codes: $codes) { code name kind } }`;

const HOOD_LIMIT = 200;
const RISK_BATCH = 50;

const STYLE = [
  { selector: "node", style: {
    "label": "data(label)", "font-size": 10, "text-valign": "bottom", "text-margin-y": 3,
    "text-wrap": "ellipsis", "text-max-width": 110, "width": 30, "height": 30,
    "background-color": "#7d8b99", "border-width": 2, "border-color": "#ffffff",
    "color": "#1d2733", "text-background-color": "#ffffff", "text-background-opacity": 0.7,
  } },
  { selector: "node[kind = 'entity']", style: { "shape": "round-rectangle", "background-color": "#3d7cc9" } },
  { selector: "node[kind = 'person']", style: { "shape": "ellipse", "background-color": "#3f9a5a" } },
  { selector: "node[kind = 'external']", style: { "shape": "diamond" } },
  { selector: "node[risk = 'negative']", style: { "background-color": "#e8843c" } },
  { selector: "node[risk = 'black']", style: { "background-color": "#c0262d", "border-color": "#1d1d1d", "border-width": 4 } },
  { selector: "node[risk = 'red']", style: { "border-color": "#e0b400", "border-width": 4 } },
  { selector: "node.expanded", style: { "font-weight": "bold" } },
  { selector: "node:selected", style: { "overlay-color": "#3d7cc9", "overlay-opacity": 0.18 } },
  { selector: "edge", style: {
    "label": "data(label)", "font-size": 8, "curve-style": "bezier", "width": 1.5,
    "line-color": "#a3adb8", "target-arrow-color": "#a3adb8", "target-arrow-shape": "triangle",
    "text-rotation": "autorotate", "text-background-color": "#ffffff",
    "text-background-opacity": 0.8, "color": "#4a5560",
  } },
  { selector: "edge[type = 'VIA']", style: { "line-style": "dashed" } },
  { selector: "edge.hl", style: { "line-color": "#8a2be2", "target-arrow-color": "#8a2be2", "width": 4, "z-index": 10 } },
  { selector: "node.hl", style: { "border-color": "#8a2be2", "border-width": 5 } },
  { selector: ".dim", style: { "opacity": 0.25 } },
];

let cy = null;
let onChange = () => {};
const expanded = new Set();   // element ids
const byNid = new Map();      // the service's node id → element id
const aliases = new Map();    // a full ID number asked → the element it was shown as
let truncatedAny = false;

export function initGraph(container, { onTap, changed }) {
  cy = cytoscape({
    container, style: STYLE, wheelSensitivity: 0.3, minZoom: 0.1, maxZoom: 4,
    boxSelectionEnabled: false,
  });
  cy.on("tap", "node", (ev) => onTap(ev.target.data()));
  onChange = changed || (() => {});
  // For the browser tests and for anyone debugging the page from the console.
  window.creditGraph = { cy, expanded, elementOf };
  return cy;
}

export const hasNode = (id) => !!id && cy.getElementById(id).nonempty();
export const nodeData = (id) => (hasNode(id) ? cy.getElementById(id).data() : null);
export const isExpanded = (id) => expanded.has(id);

/** The elements that may stand for a code as a check or a profile names it. */
function candidates(code) {
  if (aliases.has(code) && hasNode(aliases.get(code))) return [aliases.get(code)];
  if (hasNode(code)) return [code];
  return cy.nodes().filter((n) => n.data("code") === code).map((n) => n.id());
}

/** The element for a code; `near`: prefer one joined to that element (two masked codes
 * can read alike, and a chain names its subjects in order). */
export function elementOf(code, near = null) {
  const found = candidates(code);
  if (found.length > 1 && near && hasNode(near)) {
    const next = found.find((id) => cy.getElementById(id).edgesWith(cy.getElementById(near)).nonempty());
    if (next) return next;
  }
  return found[0] || null;
}

/** A chain of codes (a check's via) as element ids, each resolved next to the previous. */
export function chainOf(codes) {
  const out = [];
  for (const code of codes) out.push(elementOf(code, out.length ? out[out.length - 1] : null) || code);
  return out;
}

/** The element ids of a path as the service returned it. */
export const pathIds = (p) => p.nodes.map((n) => elementFor(n) || n.code);

/** The node data for a code (its name, kind, risk), if it is in the graph. */
export const dataOfCode = (code) => nodeData(elementOf(code));

/** The element a node of an answer is (or would be) drawn as. */
function elementFor(n) {
  if (n.id && byNid.has(n.id) && hasNode(byNid.get(n.id))) return byNid.get(n.id);
  if (!isMasked(n.code) && hasNode(n.code)) return n.code;
  return null;
}

export function allNodes() {
  return cy.nodes().map((n) => n.data()).sort((a, b) => a.label.localeCompare(b.label, "zh"));
}

export function stats() {
  return { nodes: cy.nodes().length, edges: cy.edges().length, truncated: truncatedAny };
}

function nodeLabel(n) {
  return n.name || n.code;
}

function edgeLabel(d) {
  const parts = [label("role", d.type)];
  if (d.shareRatio !== null && d.shareRatio !== undefined) parts.push(`${Math.round(d.shareRatio * 1000) / 10}%`);
  if (d.since || d.until) parts.push(`${d.since || "…"}–${d.until || t("graph.now")}`);
  return parts.join(" ");
}

const edgeId = (e, source, target) => `${e.type}|${source}|${target}|${e.since || ""}`;

const endOf = (nid, code, near) => (nid && byNid.has(nid) ? byNid.get(nid) : elementOf(code, near));

/** Adds nodes and edges (a neighbourhood, a path); returns the element ids that were new. */
export function merge({ nodes = [], edges = [] }, around = null) {
  const added = [];
  const origin = around && hasNode(around) ? cy.getElementById(around).position() : null;
  cy.batch(() => {
    for (const n of nodes) {
      const known = elementFor(n);
      if (known) {
        const existing = cy.getElementById(known);
        if (n.name && !existing.data("name")) existing.data({ name: n.name, label: nodeLabel(n) });
        if (n.id && !existing.data("nid")) { existing.data("nid", n.id); byNid.set(n.id, known); }
        if (n.code && n.code !== existing.data("code")) existing.data("code", n.code);
        if (n.risk) existing.data("risk", n.risk);
        continue;
      }
      const position = origin
        ? { x: origin.x + (Math.random() - 0.5) * 160, y: origin.y + (Math.random() - 0.5) * 160 }
        : { x: Math.random() * 400, y: Math.random() * 300 };
      const masked = isMasked(n.code);
      const id = masked ? (n.id || `masked:${n.code}:${cy.nodes().length}`) : n.code;
      cy.add({ group: "nodes", position, data: {
        id, nid: n.id || null, code: n.code, name: n.name || null, kind: n.kind,
        label: nodeLabel(n), risk: n.risk || (masked ? "unknown" : "pending"),
      } });
      if (n.id) byNid.set(n.id, id);
      added.push(id);
    }
    for (const e of edges) {
      const source = endOf(e.fromId, e.fromCode, null);
      const target = endOf(e.toId, e.toCode, source);
      if (!hasNode(source) || !hasNode(target)) continue;
      const id = edgeId(e, source, target);
      if (cy.getElementById(id).nonempty()) continue;
      const data = { id, source, target, type: e.type,
        since: e.since || null, until: e.until || null, shareRatio: e.shareRatio ?? null };
      data.label = edgeLabel(data);
      cy.add({ group: "edges", data });
    }
  });
  if (added.length) layout();
  onChange();
  return added;
}

function layout() {
  cy.layout({ name: "cose", animate: false, randomize: false, fit: true, padding: 30,
    nodeDimensionsIncludeLabels: true, nodeRepulsion: () => 9000, idealEdgeLength: () => 90 }).run();
}

export function fit() { cy.fit(undefined, 30); }

export function clearGraph() {
  cy.elements().remove();
  expanded.clear();
  byNid.clear();
  aliases.clear();
  truncatedAny = false;
  onChange();
}

/** Loads the subjects around `code` (one hop) into the graph; `centre` is its element. */
export async function expand(code, hops = 1) {
  const { data } = await gql(HOOD, { code, hops, limit: HOOD_LIMIT });
  const g = data.neighborhood;
  truncatedAny = truncatedAny || g.truncated;
  // The service lists the centre first; its code may be shown masked (an ID number asked
  // in full by a caller who sees it masked).
  const first = g.nodes[0] || null;
  const before = first ? elementFor(first) : elementOf(code);
  merge(g, before);
  const centre = (first && elementFor(first)) || elementOf(code) || code;
  if (first && first.code !== code) aliases.set(code, centre);
  expanded.add(centre);
  if (hasNode(centre)) cy.getElementById(centre).addClass("expanded");
  await annotateRisk();
  onChange();
  return { centre, truncated: g.truncated, size: g.nodes.length };
}

/** Colours the nodes whose risk is not known yet (added from a code alone, which the
 * caller sees in clear): negative records in force, lists. */
export async function annotateRisk() {
  const todo = cy.nodes("[risk = 'pending']").map((n) => [n.id(), n.data("code")]);
  for (let i = 0; i < todo.length; i += RISK_BATCH) {
    const batch = todo.slice(i, i + RISK_BATCH);
    const { data } = await gql(RISK, { codes: batch.map(([, code]) => code) }, { partial: true });
    const found = new Map((data.subjects || []).filter(Boolean).map((s) => [s.code, s]));
    cy.batch(() => {
      for (const [id, code] of batch) {
        const s = found.get(code);
        cy.getElementById(id).data("risk", s ? riskOf(s.records) : "unknown");
      }
    });
  }
}

function riskOf(records) {
  const live = records.filter((r) => r.status === "in_force");
  if (live.some((r) => r.list === "black")) return "black";
  if (live.some((r) => r.category === "negative")) return "negative";
  if (live.some((r) => r.list === "red")) return "red";
  return "none";
}

/** Makes sure every code is a node (names read from the service when it can). */
export async function ensureNodes(codes) {
  const missing = [...new Set(codes)].filter((c) => !elementOf(c));
  if (!missing.length) return;
  const readable = missing.filter((c) => !isMasked(c));
  const named = new Map();
  if (readable.length) {
    const { data } = await gql(NAMES, { codes: readable }, { partial: true });
    for (const s of (data.subjects || []).filter(Boolean)) named.set(s.code, s);
  }
  merge({ nodes: missing.map((c) => named.get(c) || { code: c, name: null, kind: isMasked(c) ? "person" : "entity" }) });
  await annotateRisk();
}

/** Links two subjects with a dashed explanation edge when no role edge joins them
 * (a person named responsible in a record is not a role holder). */
export function ensureLink(a, b, why) {
  if (cy.edges().some((e) => (e.source().id() === a && e.target().id() === b)
    || (e.source().id() === b && e.target().id() === a))) return;
  const id = `VIA|${a}|${b}`;
  if (cy.getElementById(id).nonempty()) return;
  cy.add({ group: "edges", data: { id, source: a, target: b, type: "VIA", label: why,
    since: null, until: null, shareRatio: null } });
  onChange();
}

/** Highlights chains of element ids (and the edges between neighbours in them); dims the
 * rest. */
export function highlightChains(chains) {
  clearHighlight();
  const els = cy.collection();
  for (const chain of chains) {
    chain.forEach((code, i) => {
      const n = cy.getElementById(code);
      els.merge(n);
      if (i > 0) {
        const prev = cy.getElementById(chain[i - 1]);
        els.merge(n.edgesWith(prev));
      }
    });
  }
  if (els.empty()) return 0;
  els.addClass("hl");
  cy.elements().not(els).addClass("dim");
  // Fit the highlighted part, but not so close that two subjects fill the screen.
  cy.fit(els, 60);
  if (cy.zoom() > 1.4) cy.zoom({ level: 1.4, renderedPosition: { x: cy.width() / 2, y: cy.height() / 2 } });
  cy.center(els);
  return els.nodes().length;
}

export function highlighted() {
  return cy.nodes(".hl").map((n) => n.id());
}

export function clearHighlight() {
  cy.elements().removeClass("hl dim");
}

export function select(id) {
  cy.nodes().unselect();
  if (hasNode(id)) cy.getElementById(id).select();
}

export function relabel() {
  cy.batch(() => cy.edges().forEach((e) => {
    if (e.data("type") !== "VIA") e.data("label", edgeLabel(e.data()));
  }));
}
