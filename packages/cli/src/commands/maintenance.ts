/** init, gc, fsck, doctor: the store's lifecycle and health. */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { Option } from "commander";
import { readLockHolder, isDeadOnThisHost } from "@snap/fs";
import { fsckReportDefinition } from "@snap/schema";
import { initStore, readStoreConfig } from "@snap/snapshots";
import { outcome } from "../context.js";
import { formatBytes, plural } from "../format.js";
import { parseCount, parseNumber, type CommandSpec } from "../program.js";
import { doctorReportDefinition, gcReportDefinition, initResultDefinition } from "../schema.js";
import { withStore } from "./open-store.js";
import { openStoreJournal } from "./store-journal.js";

type Doc<D extends { example: unknown }> = D["example"];

const init: CommandSpec = {
  usage: "init",
  summary: "create a .snap store here (or at --store DIR / $SNAP_STORE)",
  options(cmd) {
    cmd.addOption(new Option("--pipeline <name>", "the branch HEAD points at").default("main"));
  },
  examples: [
    ["snap init", "create ./.snap"],
    ["snap --store /srv/snap init --json", "create a store elsewhere, machine-readable"],
  ],
  async run(ctx, _args, opts) {
    const location = ctx.storeForInit();
    const config = await initStore({ dir: location.dir, defaultPipeline: String(opts.pipeline) });
    const doc: Doc<typeof initResultDefinition> = { type: "init_result", schema_version: 1, store: location.dir, store_id: config.store_id, created_at: config.created_at };
    return outcome(initResultDefinition, doc, (out) => {
      out.data(`initialized an empty snap store in ${location.dir}`);
      out.note("next: `snap commit DIR` snapshots a directory");
    });
  },
};

const gc: CommandSpec = {
  usage: "gc",
  abortable: true,
  summary: "remove unreachable objects past the grace period and run refs past the retention policy",
  description:
    "Mark from every ref, release, live checkpoint and in-flight build lease; sweep only objects older\n" +
    "than the grace period (default 1 hour). --keep-runs / --keep-days prune run refs first.",
  options(cmd) {
    cmd.option("-n, --dry-run", "report what would be removed, remove nothing");
    cmd.addOption(new Option("--keep-runs <n>", "keep the newest N run refs per pipeline").argParser(parseCount));
    cmd.addOption(new Option("--keep-days <d>", "keep run refs younger than D days").argParser(parseNumber));
    cmd.addOption(new Option("--grace <seconds>", "only remove objects older than this").argParser(parseCount));
  },
  examples: [
    ["snap gc --dry-run", "what would be reclaimed"],
    ["snap gc --keep-runs 10 --keep-days 30", "prune old run refs, then sweep"],
  ],
  async run(ctx, _args, opts) {
    return withStore(ctx, async (store) => {
      const options: NonNullable<Parameters<typeof store.gc>[0]> = { dryRun: opts.dryRun === true };
      if (typeof opts.keepRuns === "number") options.keepRuns = opts.keepRuns;
      if (typeof opts.keepDays === "number") options.keepDays = opts.keepDays;
      if (typeof opts.grace === "number") options.graceMs = opts.grace * 1000;
      options.signal = ctx.signal;
      const progress = ctx.out.progress("gc").startActivity();
      if (progress.onProgress !== undefined) options.onProgress = progress.onProgress;
      const report = await store.gc(options);
      return outcome(gcReportDefinition, report, (out) => {
        const verb = report.dry_run ? "would remove" : "removed";
        out.data(
          `${verb} ${plural(report.objects_removed.length, "object")} (${formatBytes(report.bytes_removed)}), ${plural(report.run_refs_removed.length, "run ref")}, ` +
            `${plural(report.release_dirs_removed.length, "old materialization")}; ${report.objects_reachable} of ${report.objects_total} objects reachable, ${report.objects_kept_young} kept as younger than the grace period`,
        );
        for (const ref of report.run_refs_removed) out.data(`  ${ref}`);
      });
    });
  },
};

const fsck: CommandSpec = {
  usage: "fsck",
  abortable: true,
  summary: "verify every object's hash, every reachable link and every ref (exit 4 on corruption)",
  examples: [
    ["snap fsck", "check the whole store"],
    ["snap fsck --json", "the fsck_report, machine-readable"],
  ],
  async run(ctx, _args, _opts) {
    return withStore(ctx, async (store) => {
      const options: NonNullable<Parameters<typeof store.fsck>[0]> = { signal: ctx.signal };
      const progress = ctx.out.progress("fsck", undefined, "objects").startActivity();
      if (progress.onProgress !== undefined) options.onProgress = progress.onProgress;
      const result = await store.fsck(options);
      return outcome(
        fsckReportDefinition,
        result.report,
        (out) => {
          const c = out.colors;
          for (const p of result.problems) out.data(p);
          out.data(
            result.ok
              ? c.green(`ok: ${plural(result.report.objects_checked, "object")} checked, ${result.reachable} reachable`)
              : c.red(`corruption found: ${result.report.corrupt.length} corrupt, ${result.report.missing.length} missing, ${result.report.dangling_refs.length} dangling refs`),
          );
        },
        result.ok ? 0 : 4,
      );
    });
  },
};

type Check = Doc<typeof doctorReportDefinition>["checks"][number];

const doctor: CommandSpec = {
  usage: "doctor",
  summary: "store health: config, lock holder, journal counters, pending releases, staging debris (exit 4 on corruption)",
  examples: [
    ["snap doctor", "one line per check"],
    ["snap doctor --json", "machine-readable"],
  ],
  async run(ctx, _args, _opts) {
    const dir = ctx.store().dir;
    const checks: Check[] = [];
    const config = await readStoreConfig(dir);
    checks.push({ name: "config", status: "ok", detail: `format_version ${config.format_version}, store ${config.store_id}` });
    await withStore(ctx, async (store) => {
      const holder = await readLockHolder(store.context.lockPath);
      if (holder === null) checks.push({ name: "lock", status: "ok", detail: "not held" });
      else {
        const dead = isDeadOnThisHost(holder);
        checks.push({
          name: "lock",
          status: dead ? "warning" : "ok",
          detail: dead ? `held by dead process ${holder.pid} on this host (the next writer takes it over)` : `held by pid ${holder.pid} on ${holder.host} for ${Math.round(holder.age_ms / 1000)} s`,
          data: { pid: holder.pid, host: holder.host, age_ms: holder.age_ms },
        });
      }
      const head = await store.context.refs.readSymbolic("HEAD");
      const refs = await store.context.refs.list("refs/");
      checks.push({ name: "refs", status: "ok", detail: `${plural(refs.length, "ref")}; HEAD -> ${head ?? "(detached)"}` });
      const pending = (await store.releases()).filter((r) => r.pending).map((r) => r.name);
      checks.push(
        pending.length === 0
          ? { name: "releases", status: "ok", detail: "no interrupted releases" }
          : { name: "releases", status: "warning", detail: `interrupted releases of ${pending.join(", ")}: the next release or revert of each recovers it`, data: { pending } },
      );
    });
    const journal = await openStoreJournal(dir);
    try {
      const report = await journal.doctor();
      const k = report.counters;
      checks.push({
        name: "journal",
        status: report.ok ? "ok" : "error",
        detail: report.ok
          ? `head seq ${report.head_seq}, ${plural(k.segments, "segment")}, ${k.adjudicated} adjudicated torn tails`
          : `${k.corrupt} corrupt records, ${k.missing_segments} missing segments, ${k.chain_breaks} chain breaks: run \`snap journal doctor\``,
        data: { head_seq: report.head_seq, corrupt: k.corrupt, torn: k.torn, adjudicated: k.adjudicated },
      });
    } finally {
      await journal.close();
    }
    let debris: string[] = [];
    try {
      debris = readdirSync(join(dir, "tmp"));
    } catch {
      debris = [];
    }
    checks.push(
      debris.length === 0
        ? { name: "staging", status: "ok", detail: "tmp/ is empty" }
        : { name: "staging", status: "warning", detail: `${plural(debris.length, "entry", "entries")} in tmp/ (left by interrupted writes; gc leaves live ones alone)` },
    );
    let leases: string[] = [];
    try {
      leases = readdirSync(join(dir, "leases")).filter((n) => n.endsWith(".json"));
    } catch {
      leases = [];
    }
    checks.push(
      leases.length === 0
        ? { name: "leases", status: "ok", detail: "no build in flight" }
        : { name: "leases", status: "ok", detail: `${plural(leases.length, "build lease")} (in-flight or interrupted builds; gc keeps their objects and removes stale leases)` },
    );
    const ok = checks.every((c) => c.status !== "error");
    const doc: Doc<typeof doctorReportDefinition> = { type: "doctor_report", schema_version: 1, store: dir, ok, checks };
    return outcome(
      doctorReportDefinition,
      doc,
      (out) => {
        const c = out.colors;
        for (const check of checks) {
          const mark = check.status === "ok" ? c.green("ok  ") : check.status === "warning" ? c.yellow("warn") : c.red("FAIL");
          out.data(`${mark}  ${check.name.padEnd(9)} ${check.detail}`);
        }
        out.note("for a full check of every object and ref: `snap fsck`");
      },
      ok ? 0 : 4,
    );
  },
};

export const maintenanceCommands: CommandSpec[] = [gc, fsck, doctor];
export const initCommand = init;
