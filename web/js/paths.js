// The path finder: how two subjects are connected through roles and shareholdings.

import { gql, GqlError } from "./api.js";
import { h, isMasked, looksLikeCode } from "./dom.js";
import { t, label } from "./i18n.js";

const PATHS = `query Paths($a: String!, $b: String!, $hops: Int!) {
  paths(fromCode: $a, toCode: $b, maxHops: $hops, first: 5) {
    length nodes { code name kind }
    edges { type fromCode toCode since until shareRatio } } }`;

const FIND_ONE = `query FindOne($text: String!) { searchSubjects(text: $text, first: 1) { code name } }`;

/** A code as typed, or the best search hit for a name (Chinese or pinyin). */
export async function resolveSubject(text) {
  const v = text.trim();
  if (!v) throw new GqlError("INVALID_INPUT", t("paths.need_both"));
  if (looksLikeCode(v)) return v.toUpperCase();
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
  p.nodes.forEach((n, i) => {
    if (i > 0) {
      const prev = p.nodes[i - 1].code;
      const hop = p.edges.filter((e) => (e.fromCode === prev && e.toCode === n.code)
        || (e.fromCode === n.code && e.toCode === prev));
      const roles = hop.map((e) => {
        const forward = e.fromCode === prev;
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
