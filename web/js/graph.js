// The interactive graph: Cytoscape (vendored in web/vendor, drawn on a canvas).
// Nodes are subjects, edges are roles in their real direction (holder → organisation).
// Node ids are the codes as the service shows them to this caller, so a masked ID number
// is a node that cannot be expanded further (the service needs the full number).

import cytoscape from "../vendor/cytoscape.esm.min.js";
import { gql } from "./api.js";
import { isMasked } from "./dom.js";
import { t, label } from "./i18n.js";

const HOOD = `query Hood($code: String!, $hops: Int!, $limit: Int!) {
  neighborhood(code: $code, hops: $hops, limit: $limit) {
    truncated nodes { code name kind }
    edges { type fromCode toCode since until shareRatio } } }`;

// Whether a subject has negative records in force, and which lists it is on today.
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
const expanded = new Set();
let truncatedAny = false;

export function initGraph(container, { onTap, changed }) {
  cy = cytoscape({
    container, style: STYLE, wheelSensitivity: 0.3, minZoom: 0.1, maxZoom: 4,
    boxSelectionEnabled: false,
  });
  cy.on("tap", "node", (ev) => onTap(ev.target.data()));
  onChange = changed || (() => {});
  // For the browser tests and for anyone debugging the page from the console.
  window.creditGraph = { cy, expanded };
  return cy;
}

export const hasNode = (code) => cy.getElementById(code).nonempty();
export const nodeData = (code) => (hasNode(code) ? cy.getElementById(code).data() : null);
export const isExpanded = (code) => expanded.has(code);

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

const edgeId = (e) => `${e.type}|${e.fromCode}|${e.toCode}|${e.since || ""}`;

/** Adds nodes and edges (a neighbourhood, a path); returns the ids that were new. */
export function merge({ nodes = [], edges = [] }, around = null) {
  const added = [];
  const origin = around && hasNode(around) ? cy.getElementById(around).position() : null;
  cy.batch(() => {
    for (const n of nodes) {
      const existing = cy.getElementById(n.code);
      if (existing.nonempty()) {
        if (n.name && !existing.data("name")) existing.data({ name: n.name, label: nodeLabel(n) });
        continue;
      }
      const position = origin
        ? { x: origin.x + (Math.random() - 0.5) * 160, y: origin.y + (Math.random() - 0.5) * 160 }
        : { x: Math.random() * 400, y: Math.random() * 300 };
      cy.add({ group: "nodes", position, data: {
        id: n.code, code: n.code, name: n.name || null, kind: n.kind, label: nodeLabel(n),
        risk: isMasked(n.code) ? "unknown" : "pending",
      } });
      added.push(n.code);
    }
    for (const e of edges) {
      const id = edgeId(e);
      if (cy.getElementById(id).nonempty()) continue;
      if (!hasNode(e.fromCode) || !hasNode(e.toCode)) continue;
      const data = { id, source: e.fromCode, target: e.toCode, type: e.type,
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
  truncatedAny = false;
  onChange();
}

/** Loads the subjects around `code` (one hop) into the graph. */
export async function expand(code, hops = 1) {
  const { data } = await gql(HOOD, { code, hops, limit: HOOD_LIMIT });
  const g = data.neighborhood;
  truncatedAny = truncatedAny || g.truncated;
  // The service shows an ID number masked to most callers: the centre is then the node
  // whose masked code stands for the number asked.
  const centre = g.nodes.some((n) => n.code === code) ? code
    : (g.nodes.find((n) => isMasked(n.code) && sameMasked(n.code, code)) || {}).code || code;
  merge(g, hasNode(centre) ? centre : null);
  expanded.add(centre);
  if (hasNode(centre)) cy.getElementById(centre).addClass("expanded");
  await annotateRisk();
  onChange();
  return { centre, truncated: g.truncated, size: g.nodes.length };
}

function sameMasked(masked, full) {
  return masked.length === full.length && masked.slice(0, 3) === full.slice(0, 3)
    && masked.slice(-4) === full.slice(-4).toUpperCase();
}

/** Colours the subjects whose risk is not known yet: negative records in force, lists. */
export async function annotateRisk() {
  const todo = cy.nodes("[risk = 'pending']").map((n) => n.id());
  for (let i = 0; i < todo.length; i += RISK_BATCH) {
    const codes = todo.slice(i, i + RISK_BATCH);
    const { data } = await gql(RISK, { codes }, { partial: true });
    const found = new Map((data.subjects || []).filter(Boolean).map((s) => [s.code, s]));
    cy.batch(() => {
      for (const code of codes) {
        const s = found.get(code);
        cy.getElementById(code).data("risk", s ? riskOf(s.records) : "unknown");
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
  const missing = [...new Set(codes)].filter((c) => !hasNode(c));
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

/** Highlights a chain of codes (and the edges between neighbours in it); dims the rest. */
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

export function select(code) {
  cy.nodes().unselect();
  if (hasNode(code)) cy.getElementById(code).select();
}

export function relabel() {
  cy.batch(() => cy.edges().forEach((e) => {
    if (e.data("type") !== "VIA") e.data("label", edgeLabel(e.data()));
  }));
}
