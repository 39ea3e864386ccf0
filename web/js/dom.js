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

/** A FollowTheMoney id (`ftm:co-ftm-1`): a code as typed (FtM ids are case-sensitive). */
export const isFtmId = (text) => /^ftm:\S+$/.test(text.trim());

/** The code a typed text is, if it is one (USCC or ID number upper-cased, an FtM id as
 * typed); null for a name to search for. */
export function asCode(text) {
  const v = text.trim();
  if (isFtmId(v)) return v;
  if (looksLikeCode(v)) return v.toUpperCase();
  return null;
}

/** Whether an 18-character code is a resident ID number (GB 11643 check character), as
 * opposed to a USCC: only a full ID number can stand for a masked search result. */
export function isIdNumber(text) {
  const v = text.trim().toUpperCase();
  if (!/^\d{17}[\dX]$/.test(v)) return false;
  const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  let sum = 0;
  for (let i = 0; i < 17; i += 1) sum += Number(v[i]) * weights[i];
  return "10X98765432"[sum % 11] === v[17];
}

/** Whether a masked code (320***********257X) reads as the full number `full`. */
export function maskedAs(masked, full) {
  const f = full.trim().toUpperCase();
  return isMasked(masked) && masked.length === f.length && masked.slice(0, 3) === f.slice(0, 3)
    && masked.slice(-4).toUpperCase() === f.slice(-4);
}
