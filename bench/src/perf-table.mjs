#!/usr/bin/env node
/**
 * Print results/latest.json (or the file given) as the Markdown table used in the READMEs'
 * performance sections: node src/perf-table.mjs [results.json]
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { formatNumber } from "./measure.mjs";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const file = process.argv[2] ?? path.join(HERE, "..", "results", "latest.json");
const doc = JSON.parse(readFileSync(file, "utf8"));

const cell = (s) => String(s).replaceAll("|", "\\|");
const lines = [
  `Median of ${doc.repeat ?? "?"} runs, ${doc.created_at}, Node ${doc.machine?.node}, ${doc.machine?.cpus} CPUs (${doc.machine?.platform}). Ratios are snap / anchor for rates and anchor / snap for times (ms): higher is better.`,
  "",
  "| row | snap | anchor (same run) | ratio | target | |",
  "|---|---:|---|---:|---:|---|",
];
for (const r of doc.rows) {
  if (r.anchor === null) continue;
  const ratio = `${r.ratio >= 10 ? r.ratio.toFixed(1) : r.ratio.toFixed(2)}x`;
  const target = r.target === null ? "" : `${r.target.op} ${r.target.ratio}x`;
  const pass = r.pass === null ? "" : r.pass ? "pass" : "**fail**";
  lines.push(
    `| ${cell(`${r.suite}: ${r.name}`)} | ${formatNumber(r.value)} ${r.unit} | ${cell(r.anchor)}: ${formatNumber(r.anchor_value)} | ${ratio} | ${target} | ${pass} |`,
  );
}
for (const r of doc.rows) {
  if (r.anchor === null && r.suite !== "anchors") lines.push(`| ${cell(`${r.suite}: ${r.name}`)} | ${formatNumber(r.value)} ${r.unit} | (informational) | | | |`);
}
for (const s of doc.skipped ?? []) lines.push(`| ${cell(s.suite)}: ${s.row ? `${cell(s.row)}: ` : ""}not measured (${cell(s.reason)}) | | | | | |`);
process.stdout.write(`${lines.join("\n")}\n`);
