/**
 * Output: the aligned table on stdout and the `bench_results` document written to
 * bench/results/latest.json. The document is validated against @snap/schema's
 * `bench_results` schema when the built package exports it.
 */
import * as os from "node:os";
import { formatNumber } from "./measure.mjs";

export const RESULTS_TYPE = "bench_results";
export const RESULTS_SCHEMA_VERSION = 1;

/** The document written to results/latest.json. */
export function buildResults({ rows, skipped, repeat }) {
  const machine = { node: process.version, cpus: os.cpus().length, platform: process.platform };
  return {
    type: RESULTS_TYPE,
    schema_version: RESULTS_SCHEMA_VERSION,
    created_at: new Date().toISOString(),
    machine,
    // The same facts under the name @snap/schema's bench_results uses.
    environment: { ...machine, arch: process.arch },
    repeat,
    rows,
    // Suites that could not run (e.g. a package not built yet): named here, never given numbers.
    skipped,
  };
}

/**
 * Validate against @snap/schema's bench_results schema if the built package exports one
 * (`benchResultsSchema` or `SCHEMAS.bench_results`). Returns
 * `{ checked: false }` when there is none, `{ checked: true, issues }` otherwise.
 */
export async function validateResults(doc) {
  let schemaModule;
  try {
    schemaModule = await import("@snap/schema");
  } catch {
    return { checked: false };
  }
  const schema = schemaModule.benchResultsSchema ?? schemaModule.SCHEMAS?.bench_results;
  if (schema === undefined || typeof schema.safeParse !== "function") return { checked: false };
  const result = schema.safeParse(doc);
  if (result.success) return { checked: true, issues: [] };
  return {
    checked: true,
    issues: result.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`),
  };
}

const formatRatio = (r) => (r === null ? "" : `${r >= 10 ? r.toFixed(1) : r.toFixed(2)}x`);
const formatTarget = (t) => (t === null ? "" : `${t.op} ${t.ratio}x`);
const formatPass = (p) => (p === null ? "" : p ? "PASS" : "FAIL");

/** An aligned plain-text table (no colour: stdout may be a pipe or a file). */
export function formatTable(rows, skipped) {
  const header = ["suite", "row", "median", "unit", "ratio", "target", "pass", "anchor (median)"];
  const body = rows.map((r) => [
    r.suite,
    r.name,
    formatNumber(r.value),
    r.unit,
    formatRatio(r.ratio),
    formatTarget(r.target),
    formatPass(r.pass),
    r.anchor !== null ? `${r.anchor} (${formatNumber(r.anchor_value)} ${r.unit})` : r.suite === "anchors" ? "(anchor)" : "(informational)",
  ]);
  for (const s of skipped) body.push([s.suite, `${s.row ? `${s.row}: ` : ""}NOT MEASURED: ${s.reason}`, "", "", "", "", "", ""]);
  const numeric = new Set([2, 4]);
  const widths = header.map((h, c) => Math.max(h.length, ...body.map((row) => row[c].length)));
  const line = (cells) =>
    cells
      .map((cell, c) => (c === cells.length - 1 ? cell : numeric.has(c) ? cell.padStart(widths[c]) : cell.padEnd(widths[c])))
      .join("  ")
      .trimEnd();
  const notes = rows.filter((r) => r.note !== undefined).map((r) => `note (${r.suite}: ${r.name}): ${r.note}`);
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...body.map(line), ...(notes.length ? ["", ...notes] : [])].join("\n");
}
