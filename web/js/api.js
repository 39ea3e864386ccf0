// The one way the page talks to the service: POST /graphql on this origin.
// The key and the purpose are kept in sessionStorage: they last as long as the tab and
// are never written to disk by the page (the key reads data the public may not).

const KEY = "cg.key";
const PURPOSE = "cg.purpose";

export class GqlError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

export function credentials() {
  return {
    key: sessionStorage.getItem(KEY) || "",
    purpose: sessionStorage.getItem(PURPOSE) || "",
  };
}

export function saveCredentials(key, purpose) {
  const k = (key || "").trim();
  const p = (purpose || "").trim();
  if (k) sessionStorage.setItem(KEY, k); else sessionStorage.removeItem(KEY);
  if (p) sessionStorage.setItem(PURPOSE, p); else sessionStorage.removeItem(PURPOSE);
}

/** Header values are byte strings: UTF-8 bytes go one per character, and the service
 * decodes them as UTF-8 (api/graphql_router.py read_purpose). */
function utf8Header(text) {
  const bytes = new TextEncoder().encode(text.replace(/[\r\n]+/g, " "));
  let out = "";
  for (const b of bytes) out += String.fromCharCode(b);
  return out;
}

let pending = 0;
const listeners = new Set();
export const onBusy = (fn) => listeners.add(fn);
const busy = (delta) => { pending += delta; for (const fn of listeners) fn(pending > 0); };

/** Runs one operation. Returns {data, errors}; throws GqlError when nothing came back
 * or, unless `partial` is set, when anything failed. */
export async function gql(query, variables = {}, { partial = false } = {}) {
  const { key, purpose } = credentials();
  const headers = { "Content-Type": "application/json", Accept: "application/json" };
  if (key) headers.Authorization = `Bearer ${key}`;
  if (purpose) headers["X-Purpose"] = utf8Header(purpose);
  busy(1);
  let body;
  try {
    const resp = await fetch("/graphql", {
      method: "POST", headers, body: JSON.stringify({ query, variables }),
      credentials: "omit", cache: "no-store",
    });
    try {
      body = await resp.json();
    } catch {
      throw new GqlError("HTTP", `HTTP ${resp.status}`);
    }
  } catch (e) {
    if (e instanceof GqlError) throw e;
    throw new GqlError("NETWORK", String(e && e.message ? e.message : e));
  } finally {
    busy(-1);
  }
  const errors = body.errors || [];
  if (errors.length && (!partial || !body.data)) {
    const first = errors[0];
    const code = (first.extensions && first.extensions.code) || "INTERNAL";
    throw new GqlError(code, first.message || code);
  }
  return { data: body.data || {}, errors };
}
