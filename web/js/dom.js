// Small DOM helpers. Text from the service (names, titles, reasons) only ever goes in
// through textContent, never innerHTML, so a record title cannot inject markup.

/** h("tag.class", {attr: value, onclick: fn}, ...children) → element. */
export function h(spec, attrs = {}, ...children) {
  const [tag, ...classes] = spec.split(".");
  const el = document.createElement(tag || "div");
  if (classes.length) el.className = classes.join(" ");
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export const $ = (id) => document.getElementById(id);

/** A resident ID number the service masked for this caller (320***********0358). */
export const isMasked = (code) => typeof code === "string" && code.includes("*");

/** 18 characters of digits and USCC letters: a code, not a name to search for. */
export const looksLikeCode = (text) => /^[0-9A-HJ-NP-RT-UW-Y]{18}$/i.test(text.trim());
