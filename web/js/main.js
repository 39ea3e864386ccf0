// The explorer page: wires the search, the profile, the graph, the path finder, the
// check and the exports together. Each part keeps its own module; this one only decides
// what a click or a key does.

import { credentials, gql, GqlError, onBusy, saveCredentials } from "./api.js";
import { $, asCode, clear, h, isIdNumber, isMasked, maskedAs } from "./dom.js";
import * as graph from "./graph.js";
import { applyI18n, label, lang, setLang, t } from "./i18n.js";
import { loadProfile, renderProfile } from "./profile.js";
import { findPaths, renderPaths, resolveSubject } from "./paths.js";
import { renderCheck, runCheck } from "./check.js";
import { download, exportNeighborhood, exportPaths } from "./exporter.js";

const SEARCH = `query Search($text: String!) {
  searchSubjects(text: $text, first: 20) { code name kind ... on Entity { status address } } }`;
const WHOAMI = "query Whoami { whoami { role keyName unit } }";

const state = {
  profile: null,     // the subject shown in the profile
  profileCode: null, // the code it was opened with (a full ID number the service masks)
  lastPaths: null,   // {from, to} of the last path search, for the path export
  lastCheck: null,
  lastResults: [],
  lastSearch: "",    // the text the results are for
  rerender: [],      // views to rebuild when the language changes
};

// ------------------------------------------------------------------ errors and busy
function showError(e) {
  const box = $("error");
  const code = e instanceof GqlError ? e.code : "INTERNAL";
  const known = t(`error.${code}`, {}, null);
  clear(box).append(h("strong", {}, known || t("error.generic")), " ",
    h("span.sub", {}, `${e.message || ""} (${code})`),
    h("button.link", { type: "button", onclick: hideError, "aria-label": t("error.close") }, "×"));
  box.hidden = false;
  box.dataset.code = code;
}

function hideError() { $("error").hidden = true; }

/** Runs a user action: clears the last error, shows the next one. */
const act = (fn) => async (...args) => {
  hideError();
  try {
    return await fn(...args);
  } catch (e) {
    showError(e);
    return undefined;
  }
};

onBusy((on) => {
  const b = $("busy");
  b.hidden = !on;
  b.textContent = on ? t("app.loading") : "";
  document.body.classList.toggle("is-busy", on);
});

// ------------------------------------------------------------------ key and purpose
async function refreshWhoami() {
  const who = $("whoami");
  const { key } = credentials();
  if (!key) {
    who.textContent = t("key.public");
    who.dataset.role = "public";
    return;
  }
  try {
    const { data } = await gql(WHOAMI);
    const w = data.whoami;
    who.textContent = `${label("caller", w.role)}${w.keyName ? ` · ${w.keyName}` : ""}${w.unit ? ` · ${w.unit}` : ""}`;
    who.dataset.role = w.role;
  } catch (e) {
    who.textContent = t("key.invalid");
    who.dataset.role = "invalid";
    showError(e);
  }
}

function initKey() {
  const { key, purpose } = credentials();
  $("api-key").value = key;
  $("purpose").value = purpose || t("key.default_purpose");
  $("key-form").addEventListener("submit", act(async (ev) => {
    ev.preventDefault();
    saveCredentials($("api-key").value, $("purpose").value);
    await refreshWhoami();
  }));
  $("key-clear").addEventListener("click", act(async () => {
    $("api-key").value = "";
    saveCredentials("", "");
    $("purpose").value = t("key.default_purpose");
    await refreshWhoami();
  }));
}

// ------------------------------------------------------------------ search
function renderResults() {
  const list = clear($("results"));
  if (!state.lastResults.length) {
    list.append(h("li.hint", {}, t("search.none")));
    return;
  }
  // A person's ID number is masked for most callers: the result cannot be opened by its
  // code, but it can by the full number typed, which the search matched.
  const typed = state.lastSearch.trim().toUpperCase();
  const byTyped = isIdNumber(typed) ? typed : null;
  for (const s of state.lastResults) {
    const masked = isMasked(s.code);
    const code = masked && byTyped && maskedAs(s.code, byTyped) ? byTyped : (masked ? null : s.code);
    list.append(h("li", {},
      h("button.result", { type: "button", disabled: !code, title: code ? null : t("search.masked"),
        dataset: { code: s.code }, onclick: () => openProfile(code) },
        h("span.name", {}, s.name || s.code),
        h("span.sub", {}, `${label("kind", s.kind)} · ${s.code}${s.address ? ` · ${s.address}` : ""}`))));
  }
}

const search = act(async (ev) => {
  if (ev) ev.preventDefault();
  const text = $("search").value.trim();
  if (!text) return;
  let data;
  try {
    ({ data } = await gql(SEARCH, { text }));
  } catch (e) {
    // The old results are not the answer to this search.
    state.lastResults = [];
    state.lastSearch = "";
    clear($("results"));
    throw e;
  }
  state.lastResults = data.searchSubjects;
  state.lastSearch = text;
  renderResults();
  const first = $("results").querySelector("button.result:not([disabled])");
  if (first) first.focus();
});

// ------------------------------------------------------------------ profile
const openProfile = act(async (code) => {
  const s = await loadProfile(code);
  state.profile = s;
  // Opened by a full ID number the service shows masked: the number typed is what the
  // profile's actions ask about (the masked code names nobody).
  state.profileCode = isMasked(s.code) && !isMasked(code) ? code : s.code;
  const asked = state.profileCode;
  drawProfile();
  $("check-code").value = asked;
  if (!$("path-from").value) $("path-from").value = asked;
  $("export-neighborhood").disabled = isMasked(asked);
  if (!isMasked(asked)) {
    const { centre } = await graph.expand(asked);
    graph.select(centre);
  }
});

function drawProfile() {
  const s = state.profile;
  if (!s) return;
  // The profile's own buttons name s.code; a masked one stands for the number it was
  // opened with.
  const own = (code) => (code === s.code ? state.profileCode || code : code);
  clear($("profile-body")).append(renderProfile(s, {
    open: openProfile,
    graph: act(async (code) => {
      const { centre } = await graph.expand(own(code)); graph.select(centre); graph.fit();
    }),
    check: (code) => { $("check-code").value = own(code); runCheckAction(); },
    pathFrom: (code) => { $("path-from").value = own(code); $("path-to").focus(); },
    pathTo: (code) => { $("path-to").value = own(code); $("path-from").focus(); },
  }));
}

// ------------------------------------------------------------------ graph
function nameOf(code) {
  const d = graph.dataOfCode(code);
  if (d && d.name) return d.name;
  const c = state.lastCheck;
  return c && c.code === code && c.subjectName ? c.subjectName : code;
}

function riskText(d) {
  return d.risk && !["none", "pending"].includes(d.risk) ? label("risk", d.risk) : "";
}

// Nodes are named by their element ids (graph.js); the code is what is shown and asked.
const tapNode = act(async (d) => {
  graph.select(d.id);
  drawNodePanel(d.id);
  if (!graph.isExpanded(d.id) && !isMasked(d.code)) {
    await graph.expand(d.code);
    drawNodePanel(d.id);
  }
});

function drawNodePanel(id) {
  const d = graph.nodeData(id);
  const panel = $("node-panel");
  if (!d) { panel.hidden = true; return; }
  const code = d.code;
  const masked = isMasked(code);
  clear(panel).append(
    h("strong", {}, d.name || d.code), " ",
    h("span.sub", {}, `${label("kind", d.kind)} · ${d.code} ${riskText(d)}`),
    h("div.actions", {},
      h("button", { type: "button", disabled: masked, onclick: () => openProfile(code) }, t("node.profile")),
      h("button", { type: "button", disabled: masked || graph.isExpanded(id),
        onclick: () => tapNode(d) }, t("node.expand")),
      h("button", { type: "button", disabled: masked,
        onclick: () => { $("check-code").value = code; runCheckAction(); } }, t("node.check")),
      h("button", { type: "button", disabled: masked,
        onclick: () => { $("path-from").value = code; } }, t("node.path_from")),
      h("button", { type: "button", disabled: masked,
        onclick: () => { $("path-to").value = code; } }, t("node.path_to"))),
    ...(masked ? [h("p.hint", {}, t("search.masked"))] : []));
  panel.hidden = false;
  panel.dataset.node = id;
  panel.dataset.code = code;
}

function graphChanged() {
  const s = graph.stats();
  $("graph-status").textContent = t("graph.status", { nodes: s.nodes, edges: s.edges })
    + (s.truncated ? ` ${t("graph.truncated")}` : "");
  const list = clear($("graph-nodes"));
  for (const d of graph.allNodes()) {
    list.append(h("li", {}, h("button.link", { type: "button", dataset: { code: d.code },
      onclick: () => tapNode(d) },
    `${d.name || d.code} (${label("kind", d.kind)}${riskText(d) ? `, ${riskText(d)}` : ""})${graph.isExpanded(d.id) ? " ✓" : ""}`)));
  }
}

// ------------------------------------------------------------------ paths
const findPathsAction = act(async (ev) => {
  if (ev) ev.preventDefault();
  let a; let b; let paths;
  try {
    [a, b] = await Promise.all([resolveSubject($("path-from").value), resolveSubject($("path-to").value)]);
    paths = await findPaths(a, b, Number($("path-hops").value));
  } catch (e) {
    // The old paths answer another question: neither shown nor exported any more.
    state.lastPaths = null;
    drawPaths();
    $("export-paths").disabled = true;
    throw e;
  }
  state.lastPaths = { from: a, to: b, paths };
  drawPaths();
  $("export-paths").disabled = false;
  for (const p of paths) graph.merge(p);
  await graph.annotateRisk();
  if (paths.length) graph.highlightChains([graph.pathIds(paths[0])]);
});

function drawPaths() {
  const list = clear($("path-results"));
  if (!state.lastPaths) return;
  renderPaths(list, state.lastPaths.paths, (p) => {
    graph.merge(p);
    graph.highlightChains([graph.pathIds(p)]);
  });
}

// ------------------------------------------------------------------ check
async function showVia(chains) {
  // The checked subject's own neighbourhood first, so the role edges of the explanation
  // are drawn with their dates; anything still missing is added with a dashed link.
  const start = chains.length && chains[0].length ? chains[0][0] : null;
  if (start && !isMasked(start) && !graph.isExpanded(graph.elementOf(start))) await graph.expand(start);
  await graph.ensureNodes(chains.flat());
  // Codes to elements, each next to the one before it (masked codes can read alike).
  const drawn = chains.map((chain) => graph.chainOf(chain));
  for (const chain of drawn) {
    for (let i = 1; i < chain.length; i += 1) graph.ensureLink(chain[i - 1], chain[i], t("check.via_link"));
  }
  graph.highlightChains(drawn);
}

const runCheckAction = act(async (ev) => {
  if (ev) ev.preventDefault();
  let check;
  try {
    const text = $("check-code").value.trim();
    const code = asCode(text) || await resolveSubject(text);
    check = await runCheck(code, $("check-asof").value);
  } catch (e) {
    // The old verdict is about another subject (or another day): not shown under the error.
    state.lastCheck = null;
    clear($("check-result"));
    throw e;
  }
  state.lastCheck = check;
  drawCheck();
  const chains = [...check.measures, ...check.incentives].map((m) => m.via)
    .concat(check.conflicts.map((c) => [c.personCode, c.entityCode]));
  if (chains.length) {
    await showVia(chains);
    drawCheck(); // the subjects on the via chains now have their names from the graph
  }
});

function drawCheck() {
  if (!state.lastCheck) return;
  clear($("check-result")).append(renderCheck(state.lastCheck, {
    nameOf, showVia: act(showVia),
  }));
}

// ------------------------------------------------------------------ export
const exportAction = (which) => act(async () => {
  const format = $("export-format").value;
  const status = $("export-status");
  status.textContent = "";
  let files;
  if (which === "neighborhood") {
    if (!state.profile) return;
    files = await exportNeighborhood(state.profileCode || state.profile.code, format);
  } else {
    if (!state.lastPaths) return;
    files = await exportPaths(state.lastPaths.from, state.lastPaths.to, format);
  }
  for (const f of files) download(f);
  status.textContent = t("export.done", { file: files.map((f) => f.filename).join(", ") });
});

// ------------------------------------------------------------------ language
function redraw() {
  applyI18n(document);
  document.documentElement.lang = lang() === "zh" ? "zh-CN" : "en";
  if (state.lastResults.length) renderResults();
  drawProfile();
  drawPaths();
  drawCheck();
  graph.relabel();
  graphChanged();
  refreshWhoami();
  const panel = $("node-panel");
  if (!panel.hidden && panel.dataset.node) drawNodePanel(panel.dataset.node);
}

// ------------------------------------------------------------------ start
function start() {
  applyI18n(document);
  document.documentElement.lang = lang() === "zh" ? "zh-CN" : "en";
  graph.initGraph($("graph"), { onTap: tapNode, changed: graphChanged });
  graphChanged();
  initKey();
  refreshWhoami();
  $("search-form").addEventListener("submit", search);
  $("paths-form").addEventListener("submit", findPathsAction);
  $("check-form").addEventListener("submit", runCheckAction);
  $("graph-fit").addEventListener("click", () => graph.fit());
  $("graph-clear").addEventListener("click", () => { graph.clearGraph(); $("node-panel").hidden = true; });
  $("export-neighborhood").addEventListener("click", exportAction("neighborhood"));
  $("export-paths").addEventListener("click", exportAction("paths"));
  $("lang").addEventListener("click", () => { setLang(lang() === "zh" ? "en" : "zh"); redraw(); });
  document.addEventListener("keydown", (ev) => {
    const typing = ev.target instanceof HTMLInputElement || ev.target instanceof HTMLSelectElement;
    if (ev.key === "/" && !typing) { ev.preventDefault(); $("search").focus(); }
    if (ev.key === "Escape") { graph.clearHighlight(); hideError(); }
  });
  document.body.dataset.ready = "true";
}

start();
