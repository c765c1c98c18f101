#!/usr/bin/env node
/**
 * snap bench runner.
 *
 *   node --expose-gc src/run.mjs [suite...] [--quick] [--repeat N]
 *
 * Runs the named suites (default: every file in src/suites/), prints an aligned table of
 * medians and ratios to stdout (progress goes to stderr) and writes results/latest.json.
 * Ratios compare against anchors measured in this same run; nothing here gates on time, and
 * a FAIL against a target does not change the exit code (only a crash or bad usage does).
 *
 * A suite is a module in src/suites/ exporting `name` and `async run(ctx)` returning rows built
 * with `ctx.compare(...)`; see context.mjs and README.md.
 */
import { rmSync } from "node:fs";
import * as fsp from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { createContext, NOT_MEASURED, SuiteUnavailable } from "./context.mjs";
import { buildResults, formatTable, validateResults } from "./report.mjs";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SUITES_DIR = path.join(HERE, "suites");
const RESULTS_FILE = path.join(HERE, "..", "results", "latest.json");
const DEFAULT_REPEAT = 5;
const QUICK_REPEAT = 3;

const USAGE = `usage: node --expose-gc src/run.mjs [suite...] [--quick] [--full] [--repeat N]
  suite       one or more suite names (default: all)
  --quick     ${QUICK_REPEAT} repetitions per measurement instead of ${DEFAULT_REPEAT}, smaller sizes where a suite says so
  --full      the issues' full sizes where the default run shrinks them (journal open time: 1 GiB)
  --repeat N  N repetitions per measurement (the median is reported)`;

const log = (message) => process.stderr.write(`${message}\n`);

class UsageError extends Error {}

function parseArgs(argv) {
  const opts = { suites: [], repeat: DEFAULT_REPEAT, help: false, quick: false, full: false };
  let repeatGiven = false;
  let quick = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--") continue; // `pnpm bench -- --quick` passes the separator through
    else if (arg === "--help" || arg === "-h") opts.help = true;
    else if (arg === "--quick") quick = true;
    else if (arg === "--full") opts.full = true;
    else if (arg === "--repeat" || arg.startsWith("--repeat=")) {
      const raw = arg.includes("=") ? arg.slice(arg.indexOf("=") + 1) : argv[++i];
      const n = Number(raw);
      if (!Number.isInteger(n) || n < 1) throw new UsageError(`--repeat needs a positive integer, got ${JSON.stringify(raw)}`);
      opts.repeat = n;
      repeatGiven = true;
    } else if (arg.startsWith("-")) throw new UsageError(`unknown option ${arg}`);
    else opts.suites.push(arg);
  }
  if (quick && !repeatGiven) opts.repeat = QUICK_REPEAT;
  opts.quick = quick;
  if (opts.quick && opts.full) throw new UsageError("--quick and --full exclude each other");
  return opts;
}

async function loadSuites() {
  const files = (await fsp.readdir(SUITES_DIR)).filter((f) => f.endsWith(".mjs")).sort();
  const suites = [];
  for (const file of files) {
    const mod = await import(pathToFileURL(path.join(SUITES_DIR, file)).href);
    if (typeof mod.name !== "string" || typeof mod.run !== "function") {
      throw new Error(`src/suites/${file} must export \`name\` and \`async run(ctx)\``);
    }
    suites.push({ name: mod.name, run: mod.run });
  }
  return suites;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const all = await loadSuites();
  const unknown = opts.suites.filter((s) => !all.some((suite) => suite.name === s));
  if (unknown.length > 0) {
    throw new UsageError(`unknown suite ${unknown.join(", ")} (known: ${all.map((s) => s.name).join(", ")})`);
  }
  const selected = opts.suites.length === 0 ? all : all.filter((s) => opts.suites.includes(s.name));
  if (typeof globalThis.gc !== "function") log("note: run with node --expose-gc for a GC before each sample");

  const tmpRoot = await fsp.mkdtemp(path.join(os.tmpdir(), "snap-bench-"));
  const cleanup = () => fsp.rm(tmpRoot, { recursive: true, force: true });
  const onSignal = (signal) => {
    log(`\n${signal}: removing ${tmpRoot}`);
    // Synchronous, then exit at once: an async rm would race the sample still writing files.
    rmSync(tmpRoot, { recursive: true, force: true, maxRetries: 3 });
    process.exit(130);
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);

  const suiteRows = [];
  const skipped = [];
  const { ctx, anchorRows } = createContext({ repeat: opts.repeat, tmpRoot, log, quick: opts.quick, full: opts.full });
  log(`snap bench: ${selected.map((s) => s.name).join(", ")}; median of ${opts.repeat}; scratch ${tmpRoot}`);
  try {
    for (const suite of selected) {
      log(`suite ${suite.name}`);
      try {
        const rows = await suite.run(ctx);
        for (const row of rows) {
          // A row the suite could not measure is listed with its reason, never with a number.
          if (row[NOT_MEASURED]) skipped.push({ suite: suite.name, row: row.name, reason: row.reason });
          else suiteRows.push({ suite: suite.name, ...row });
        }
      } catch (err) {
        if (!(err instanceof SuiteUnavailable)) throw err;
        log(`suite ${suite.name} NOT MEASURED: ${err.message}`);
        skipped.push({ suite: suite.name, reason: err.message });
      }
    }
  } finally {
    await cleanup();
  }

  const rows = [...anchorRows(), ...suiteRows];
  const doc = buildResults({ rows, skipped, repeat: opts.repeat });
  await fsp.mkdir(path.dirname(RESULTS_FILE), { recursive: true });
  await fsp.writeFile(RESULTS_FILE, `${JSON.stringify(doc, null, 2)}\n`);
  process.stdout.write(`${formatTable(rows, skipped)}\n`);
  log(`wrote ${path.relative(process.cwd(), RESULTS_FILE) || RESULTS_FILE}`);

  const validation = await validateResults(doc);
  if (!validation.checked) log("note: @snap/schema exports no bench_results schema (yet); results not validated");
  else if (validation.issues.length === 0) log("results validated against @snap/schema bench_results");
  else if (validation.issues.length > 0) {
    log(`results do not match @snap/schema bench_results:\n  ${validation.issues.join("\n  ")}`);
    process.exitCode = 1;
  }
}

main().catch((err) => {
  if (err instanceof UsageError) {
    log(`error: ${err.message}\n${USAGE}`);
    process.exitCode = 2;
  } else {
    log(err?.stack ?? String(err));
    process.exitCode = 1;
  }
});
