// Export buttons: the service builds the files (exportGraph), the page offers each as
// a download from a blob: URL, so nothing leaves the browser but the one GraphQL request.

import { gql } from "./api.js";

const FORMATS = new Set(["GRAPHML", "GEXF", "CSV", "JSON"]);
const FILE = "filename mediaType content";

function formatOf(value) {
  if (!FORMATS.has(value)) throw new Error(`unknown export format ${value}`);
  return value; // an enum literal from the fixed set above, never user text
}

export async function exportNeighborhood(code, format) {
  const q = `query ExportHood($code: String!) {
    exportGraph(source: {neighborhoodOf: $code}, format: ${formatOf(format)}) { ${FILE} } }`;
  const { data } = await gql(q, { code });
  return files(data.exportGraph);
}

export async function exportPaths(from, to, format) {
  const q = `query ExportPaths($from: String!, $to: String!) {
    exportGraph(source: {pathFrom: $from, pathTo: $to}, format: ${formatOf(format)}) { ${FILE} } }`;
  const { data } = await gql(q, { from, to });
  return files(data.exportGraph);
}

/** One export may be several files (CSV: nodes and edges). */
const files = (x) => (Array.isArray(x) ? x : [x]).filter(Boolean);

export function download(file) {
  const blob = new Blob([file.content], { type: file.mediaType || "application/octet-stream" });
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = file.filename || "export";
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
