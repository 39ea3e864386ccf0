// The joint-punishment check and its explanation: which measures apply, on which record
// they rest, and through whom (`via`: from the checked subject to the record's subject).

import { gql } from "./api.js";
import { h } from "./dom.js";
import { t, label, measureName } from "./i18n.js";

const FIELDS = "measure name kind basisRecordId via role validFrom validUntil legalBasis";
const CHECK = `query Check($code: String!, $asOf: Date) {
  checkSanctions(code: $code, asOf: $asOf) {
    checkId code subjectName subjectKind asOf policy restricted
    measures { ${FIELDS} } incentives { ${FIELDS} }
    conflicts { personCode entityCode role since basisRecordIds } } }`;

export async function runCheck(code, asOf) {
  const { data } = await gql(CHECK, { code, asOf: asOf || null });
  return data.checkSanctions;
}

/** Measures grouped by what grounds them: one explanation per (record, via, role). */
export function explanations(check) {
  const groups = new Map();
  for (const m of [...check.measures, ...check.incentives]) {
    const key = `${m.kind}|${m.basisRecordId}|${m.via.join(">")}|${m.role || ""}`;
    if (!groups.has(key)) {
      groups.set(key, { kind: m.kind, basis: m.basisRecordId, via: m.via, role: m.role,
        validFrom: m.validFrom, validUntil: m.validUntil, legalBasis: new Set(), measures: [] });
    }
    const g = groups.get(key);
    g.measures.push(m);
    if (m.legalBasis) g.legalBasis.add(m.legalBasis);
  }
  return [...groups.values()];
}

export function renderCheck(check, { nameOf, showVia }) {
  const groups = explanations(check);
  const verdict = check.restricted
    ? h("p.verdict.restricted", {}, t("check.restricted"))
    : h("p.verdict.free", {}, t("check.not_restricted"));
  const head = h("div.check-head", {},
    h("strong", {}, check.subjectName || check.code), " ", h("span.sub", {}, check.code),
    verdict,
    h("div.sub", {}, t("check.meta", { asOf: check.asOf, policy: check.policy })),
    groups.length
      ? h("button", { type: "button", onclick: () => showVia(groups.map((g) => g.via)) }, t("check.show_all"))
      : null);
  const items = groups.map((g, i) => h(`li.explanation.${g.kind}`, { dataset: { index: i } },
    h("div", {}, h("strong", {}, g.kind === "incentive" ? t("check.incentive") : t("check.measure")),
      " ", g.measures.map((m) => measureName(m.measure, m.name)).join("、")),
    h("div.sub", {}, t("check.basis", { id: g.basis })),
    h("div.sub", {}, t("check.valid", { from: g.validFrom, until: g.validUntil || t("graph.now") })),
    g.role ? h("div.sub", {}, t("check.role", { role: label("check_role", g.role) })) : null,
    h("div.via", {}, t("check.via"), " ", g.via.map((c) => nameOf(c)).join(" → ")),
    g.legalBasis.size ? h("div.sub.legal", {}, [...g.legalBasis].join("；")) : null,
    h("button.link", { type: "button", onclick: () => showVia([g.via]) }, t("check.show_on_graph"))));
  const conflicts = check.conflicts.map((c) => h("li.conflict", {},
    t("check.conflict", { person: nameOf(c.personCode), entity: nameOf(c.entityCode),
      role: label("check_role", c.role), since: c.since || "…" }),
    h("div.sub", {}, c.basisRecordIds.join(", "))));
  return h("div.check", { dataset: { restricted: String(check.restricted) } },
    head,
    groups.length ? h("ol.explanations", {}, items) : h("p.hint", {}, t("check.nothing")),
    conflicts.length ? [h("h4", {}, t("check.conflicts")), h("ul", {}, conflicts)] : null);
}
