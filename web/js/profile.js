// A subject's profile: basic information, red and black lists, records with their
// disclosure level and marks, and roles over time. Everything shown is what the service
// let this caller see; the page adds nothing of its own.

import { gql } from "./api.js";
import { h, isMasked } from "./dom.js";
import { t, label } from "./i18n.js";

const PROFILE = `query Profile($code: String!) { subject(code: $code) {
  code name kind
  roles { type role position since until current shareRatio entityCode entityName }
  records { uid id category kind severity list title documentNo authority decidedOn
    actEndedOn validUntil disclosedUntil disclosure status statusReasons marked
    objectionPending repairs { status } }
  lists { list recordUid title enteredOn exitOn onList standing reason exitReason }
  ... on Entity { orgType status established terminated address registeredCapital
    people { type role position since until current holderCode holderName holderKind }
    shareholders { type since until current shareRatio holderCode holderName holderKind }
    branches { type since until current holderCode holderName holderKind } }
} }`;

export async function loadProfile(code) {
  const { data } = await gql(PROFILE, { code });
  return data.subject;
}

const dash = (v) => (v === null || v === undefined || v === "" ? "—" : v);
const period = (since, until) => `${since || "…"} – ${until || t("graph.now")}`;
const pct = (r) => (r === null || r === undefined ? "" : `${Math.round(r * 1000) / 10}%`);

function linkTo(code, name, open) {
  if (!code || isMasked(code)) return h("span", { title: t("search.masked") }, name || code);
  return h("button.link", { type: "button", onclick: () => open(code) }, name || code);
}

function table(cls, head, rows) {
  return h(`table.${cls}`, {},
    h("thead", {}, h("tr", {}, head.map((k) => h("th", { scope: "col" }, t(k))))),
    h("tbody", {}, rows));
}

function section(key, count, body) {
  return h("section.block", { dataset: { part: key } },
    h("h3", {}, `${t(`profile.${key}`)} (${count})`),
    count ? body : h("p.hint", {}, t("profile.none")));
}

function basics(s) {
  const rows = [
    ["profile.code", s.code],
    ["profile.kind", label("kind", s.kind)],
  ];
  if (s.kind === "entity") {
    rows.push(
      ["profile.org_type", label("org_type", s.orgType)],
      ["profile.status", label("entity_status", s.status)],
      ["profile.established", dash(s.established)],
      ["profile.terminated", dash(s.terminated)],
      ["profile.address", dash(s.address)],
      ["profile.capital", s.registeredCapital === null || s.registeredCapital === undefined
        ? "—" : `${s.registeredCapital.toLocaleString()} ${t("profile.yuan")}`],
    );
  }
  return h("dl.basics", {}, rows.map(([k, v]) => [h("dt", {}, t(k)), h("dd", {}, dash(v))]));
}

function marks(r) {
  const out = [];
  if (r.marked) out.push(h("span.badge.mark", { title: t("record.marked_hint") }, t("record.marked")));
  if (r.objectionPending && !r.marked) out.push(h("span.badge", {}, t("record.objection_pending")));
  for (const rep of r.repairs || []) {
    out.push(h("span.badge", {}, `${t("record.repair")}: ${label("repair_status", rep.status)}`));
  }
  return out;
}

function recordRows(records) {
  const sorted = [...records].sort((a, b) => (b.decidedOn || "").localeCompare(a.decidedOn || ""));
  return sorted.map((r) => h(`tr.rec.cat-${r.category}`, { dataset: { uid: r.uid, status: r.status } },
    h("td", {}, r.decidedOn),
    h("td", {}, h("div", {}, dash(r.title)),
      h("div.sub", {}, [label("record_kind", r.kind), r.documentNo, r.authority].filter(Boolean).join(" · "))),
    h("td", {}, label("category", r.category),
      r.severity ? h("div.sub", {}, label("severity", r.severity)) : null,
      r.list ? h("div", {}, h(`span.badge.list-${r.list}`, {}, label("list", r.list))) : null),
    h("td", {}, label("disclosure", r.disclosure)),
    h("td", { title: (r.statusReasons || []).join("\n") },
      h(`span.status-${r.status}`, {}, label("status", r.status)),
      r.disclosedUntil ? h("div.sub", {}, `${t("record.until")} ${r.disclosedUntil}`) : null),
    h("td", {}, marks(r)),
  ));
}

function listRows(lists) {
  return lists.map((e) => h(`tr.list-${e.list}`, { dataset: { record: e.recordUid } },
    h("td", {}, h(`span.badge.list-${e.list}`, {}, label("list", e.list))),
    h("td", {}, dash(e.title)),
    h("td", {}, `${e.enteredOn} – ${e.exitOn || t("lists.no_end")}`),
    h("td", {}, e.onList ? t("lists.on") : t("lists.off")),
    h("td.sub", {}, [e.reason, e.exitReason].filter(Boolean).join(" / ")),
  ));
}

function roleRows(roles, open, who) {
  return roles.map((r) => {
    const other = who === "holder"
      ? linkTo(r.holderCode, r.holderName, open)
      : linkTo(r.entityCode, r.entityName, open);
    return h(`tr${r.current ? ".current" : ".past"}`, {},
      h("td", {}, other),
      h("td", {}, label("role", r.type), r.position ? h("div.sub", {}, r.position) : null),
      h("td", {}, period(r.since, r.until)),
      h("td", {}, pct(r.shareRatio)),
      h("td", {}, r.current ? t("roles.current") : t("roles.past")),
    );
  });
}

/** Builds the profile view; `actions` are the buttons' callbacks. */
export function renderProfile(s, actions) {
  const open = actions.open;
  const negative = s.records.filter((r) => r.category === "negative" && r.status === "in_force").length;
  const onBlack = s.lists.some((e) => e.list === "black" && e.onList);
  const head = h("div.profile-head", {},
    h("h3.name", {}, s.name || s.code),
    h("div.sub", {}, `${label("kind", s.kind)} · ${s.code}`),
    h("div.badges", {},
      onBlack ? h("span.badge.list-black", {}, t("profile.on_black")) : null,
      negative ? h("span.badge.negative", {}, t("profile.negative_count", { n: negative })) : null),
    h("div.actions", {},
      h("button", { type: "button", onclick: () => actions.graph(s.code) }, t("profile.show_graph")),
      h("button", { type: "button", onclick: () => actions.check(s.code) }, t("profile.check")),
      h("button", { type: "button", onclick: () => actions.pathFrom(s.code) }, t("profile.path_from")),
      h("button", { type: "button", onclick: () => actions.pathTo(s.code) }, t("profile.path_to"))),
  );
  const parts = [head, h("section.block", {}, h("h3", {}, t("profile.basic")), basics(s))];
  parts.push(section("lists", s.lists.length,
    table("lists", ["lists.kind", "lists.title", "lists.period", "lists.state", "lists.reason"], listRows(s.lists))));
  parts.push(section("records", s.records.length,
    table("records", ["record.decided", "record.title", "record.category", "record.disclosure",
      "record.status", "record.marks"], recordRows(s.records))));
  const roleHead = ["roles.other", "roles.role", "roles.period", "roles.share", "roles.state"];
  if (s.kind === "entity") {
    parts.push(section("people", s.people.length, table("roles", roleHead, roleRows(s.people, open, "holder"))));
    parts.push(section("shareholders", s.shareholders.length,
      table("roles", roleHead, roleRows(s.shareholders, open, "holder"))));
    if (s.branches.length) {
      parts.push(section("branches", s.branches.length, table("roles", roleHead, roleRows(s.branches, open, "holder"))));
    }
  }
  parts.push(section("roles_held", s.roles.length, table("roles", roleHead, roleRows(s.roles, open, "entity"))));
  return h("div", { dataset: { code: s.code } }, parts);
}
