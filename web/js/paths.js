// The path finder: how two subjects are connected through roles and shareholdings.

import { gql, GqlError } from "./api.js";
import { asCode, h, isMasked } from "./dom.js";
import { GRAPH_FIELDS } from "./graph.js";
import { t, label } from "./i18n.js";

const PATHS = `query Paths($a: String!, $b: String!, $hops: Int!) {
  paths(fromCode: $a, toCode: $b, maxHops: $hops, first: 5) {
    length nodes { ${GRAPH_FIELDS.node} }
    edges { ${GRAPH_FIELDS.edge} } } }`;

const FIND_ONE = `query FindOne($text: String!) { searchSubjects(text: $text, first: 1) { code name } }`;

/** A code as typed (a USCC, an ID number, an `ftm:` id), or the best search hit for a
 * name (Chinese or pinyin). */
export async function resolveSubject(text) {
  const v = text.trim();
  if (!v) throw new GqlError("INVALID_INPUT", t("paths.need_both"));
  const code = asCode(v);
  if (code) return code;
  const { data } = await gql(FIND_ONE, { text: v });
  const hit = data.searchSubjects[0];
  if (!hit) throw new GqlError("NOT_FOUND", t("paths.no_subject", { text: v }));
  if (isMasked(hit.code)) throw new GqlError("FORBIDDEN", t("search.masked"));
  return hit.code;
}

export async function findPaths(a, b, hops) {
  const { data } = await gql(PATHS, { a, b, hops });
  return data.paths;
}

/** One path as a line: 甲 —法定代表人→ 乙 ←股东— 丙 (arrows in the roles' direction). */
function describe(p) {
  const parts = [];
  // Nodes are told apart by their ids: two masked ID numbers can read alike.
  const key = (n) => n.id || n.code;
  const from = (e) => e.fromId || e.fromCode;
  const to = (e) => e.toId || e.toCode;
  p.nodes.forEach((n, i) => {
    if (i > 0) {
      const prev = key(p.nodes[i - 1]);
      const hop = p.edges.filter((e) => (from(e) === prev && to(e) === key(n))
        || (from(e) === key(n) && to(e) === prev));
      const roles = hop.map((e) => {
        const forward = from(e) === prev;
        const dates = e.since || e.until ? ` ${e.since || "…"}–${e.until || t("graph.now")}` : "";
        return `${forward ? "" : "←"}${label("role", e.type)}${dates}${forward ? "→" : ""}`;
      });
      parts.push(h("span.hop", {}, ` ${roles.join(" / ")} `));
    }
    parts.push(h("strong", {}, n.name || n.code));
  });
  return parts;
}

export function renderPaths(list, paths, onPick) {
  if (!paths.length) {
    list.append(h("li.hint", {}, t("paths.none")));
    return;
  }
  paths.forEach((p, i) => {
    list.append(h("li.path", { dataset: { index: i } },
      h("button.link", { type: "button", onclick: () => onPick(p, i) },
        t("paths.item", { n: i + 1, hops: p.length })),
      h("div.chain", {}, describe(p))));
  });
}
