/**
 * `snap journal …`: the store's journal (`.snap/journal`) by default, or any standalone
 * journal directory with `--dir DIR` (tools that embed only @snap/journal inspect theirs).
 * Everything goes through @snap/journal's public API.
 */
import { statSync } from "node:fs";
import { join, resolve } from "node:path";
import { Option, type Command } from "commander";
import { openJournal, type DumpLine, type Durability, type Journal, type JournalGap, type JournalRecord, type RecoveryMode } from "@snap/journal";
import { SnapError, type LongOperationOptions } from "@snap/schema";
import { outcome, type CommandContext, type HandlerResult } from "../context.js";
import { formatBytes, formatTable, plural, relativeTime } from "../format.js";
import { parseCount, type CommandGroup, type CommandSpec } from "../program.js";
import {
  journalAppendResultDefinition,
  journalArchiveResultDefinition,
  journalCheckpointResultDefinition,
  journalDoctorReportDefinition,
  journalDumpDefinition,
  journalFollowEventDefinition,
  journalRecordsDefinition,
  journalStateDefinition,
  journalStatsReportDefinition,
  journalVerifyReportDefinition,
} from "../schema.js";
import { readAllStdin } from "../stdin.js";
import { openStoreJournal } from "./store-journal.js";

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Opens the journal: `--dir DIR` (a standalone journal, its own lock), else the store's
 * journal (see store-journal.ts). Only `append` may create a standalone journal; every other
 * subcommand refuses a directory that holds no journal rather than creating an empty one.
 */
async function withJournal<T>(ctx: CommandContext, opts: Record<string, unknown>, create: boolean, fn: (journal: Journal, dir: string) => Promise<T>): Promise<T> {
  const recovery = (opts.recovery as RecoveryMode | undefined) ?? "tolerate-tail";
  let journal: Journal;
  let dir: string;
  if (typeof opts.dir === "string" && opts.dir !== "") {
    dir = resolve(ctx.cwd, opts.dir);
    if (!create && !isDirectory(join(dir, "segments"))) {
      throw new SnapError("invalid_argument", `no journal at ${dir}`, {
        hint: "pass --dir with a journal directory (one holding segments/), or run inside a snap store",
        data: { dir },
      });
    }
    journal = await openJournal({ dir, recovery });
  } else {
    const store = ctx.store().dir;
    dir = join(store, "journal");
    journal = await openStoreJournal(store, recovery);
  }
  for (const action of journal.report.actions) ctx.out.note(`journal: ${action}`);
  try {
    return await fn(journal, dir);
  } finally {
    await journal.close();
  }
}

function payloadText(payload: unknown, width = 60): string {
  if (payload === undefined) return "";
  const text = JSON.stringify(payload);
  return text.length > width ? `${text.slice(0, width - 1)}…` : text;
}

function recordRows(records: readonly JournalRecord[]): string[][] {
  return records.map((r) => [
    String(r.seq),
    typeof r.ts === "string" ? relativeTime(r.ts) : "",
    String(r.action ?? r.type),
    String(r.item_type ?? ""),
    String(r.item_id ?? ""),
    r.entity_rev === undefined ? "" : String(r.entity_rev),
    payloadText(r.payload),
  ]);
}

const RECORD_HEADER = ["SEQ", "WHEN", "ACTION", "TYPE", "ID", "REV", "PAYLOAD"];

function seqOption(value: string): number {
  const n = parseCount(value);
  return n;
}

const groupOptions = (cmd: Command): void => {
  cmd.addOption(new Option("--dir <dir>", "a standalone journal directory instead of the store's journal"));
  cmd.addOption(
    new Option("--recovery <mode>", "how to open a damaged journal (see @snap/journal)").choices(["tolerate-tail", "absolute", "point-in-time", "salvage"]).default("tolerate-tail"),
  );
};

const append: CommandSpec = {
  usage: "append <item_type> <item_id> [payload]",
  summary: "append one record (payload: JSON text, or - for JSON on stdin)",
  description:
    "Append one record to the journal and wait until it is durable (fdatasync).\n" +
    "PAYLOAD is JSON text, or - to read JSON from stdin; a delete carries no payload.\n" +
    "Prints the seq the record was given.",
  options(cmd) {
    cmd.addOption(new Option("--action <action>", "the record's action").default("put"));
    cmd.option("--delete", "shorthand for --action delete (no payload)");
    cmd.addOption(new Option("--durability <mode>", "sync (fdatasync before returning), group or none").choices(["sync", "group", "none"]).default("sync"));
  },
  examples: [
    ["snap journal append note n1 '{\"text\":\"hello\"}'", "append a put of note/n1, prints its seq"],
    ["echo '{\"v\":2}' | snap journal append note n1 - --json", "payload from stdin, JSON result"],
    ["snap journal append note n1 --delete", "delete note/n1"],
    ["snap journal append event e1 '{}' --dir ./my-journal", "a standalone journal (created if absent)"],
  ],
  async run(ctx, [itemType, itemId, payloadArg], opts) {
    const action = opts.delete === true ? "delete" : String(opts.action);
    let payload: unknown;
    if (payloadArg !== undefined) {
      if (action === "delete") throw new SnapError("invalid_argument", "a delete record carries no payload", { data: { argument: "payload" } });
      const text = payloadArg === "-" ? await readAllStdin(ctx.stdin) : payloadArg;
      try {
        payload = JSON.parse(text);
      } catch (err) {
        throw new SnapError("invalid_argument", `payload is not JSON: ${(err as Error).message}`, {
          hint: "quote the JSON for your shell, e.g. '{\"k\":1}', or pass - and pipe it on stdin",
          data: { argument: "payload" },
        });
      }
    }
    return withJournal(ctx, opts, true, async (journal, dir) => {
      const input = payload === undefined ? { action, item_type: itemType!, item_id: itemId! } : { action, item_type: itemType!, item_id: itemId!, payload };
      const { seq } = await journal.append(input as Parameters<Journal["append"]>[0], { durability: opts.durability as Durability });
      const doc = {
        type: "journal_append_result" as const,
        schema_version: 1,
        journal: dir,
        seq,
        durable_seq: journal.durableSeq,
        item_type: itemType!,
        item_id: itemId!,
        action,
      };
      return outcome(journalAppendResultDefinition, doc, (out) => {
        out.data(String(seq));
        out.note(`appended ${action} ${itemType}/${itemId} at seq ${seq} (durable through ${journal.durableSeq})`);
      });
    });
  },
};

const read: CommandSpec = {
  usage: "read",
  abortable: true,
  summary: "print records from a seq on",
  options(cmd) {
    cmd.addOption(new Option("--from <seq>", "first seq").argParser(seqOption).default(1));
    cmd.addOption(new Option("--to <seq>", "last seq").argParser(seqOption));
    cmd.addOption(new Option("--limit <n>", "at most N records").argParser(parseCount));
    cmd.option("--meta", "include journal_note and seq_repair records");
  },
  examples: [
    ["snap journal read", "every record"],
    ["snap journal read --from 100 --limit 10", "ten records from seq 100"],
    ["snap journal read --json | jq '.records[].item_id'", "machine-readable"],
  ],
  async run(ctx, _args, opts) {
    return withJournal(ctx, opts, false, async (journal, dir) => {
      const fromSeq = opts.from as number;
      const limit = opts.limit as number | undefined;
      const records: JournalRecord[] = [];
      const progress = ctx.out.progress("reading", undefined, "records");
      const readOptions: { fromSeq: number; toSeq?: number; includeMeta: boolean } = { fromSeq, includeMeta: opts.meta === true };
      if (opts.to !== undefined) readOptions.toSeq = opts.to as number;
      for await (const rec of journal.read(readOptions)) {
        if (ctx.signal.aborted) throw new SnapError("interrupted", "read interrupted");
        if (limit !== undefined && records.length >= limit) break;
        records.push(rec);
        }
      const last = records[records.length - 1];
      const doc = {
        type: "journal_records" as const,
        schema_version: 1,
        journal: dir,
        from_seq: fromSeq,
        next_seq: last === undefined ? fromSeq : last.seq + 1,
        records: records as unknown as (typeof journalRecordsDefinition.example)["records"],
      };
      return outcome(journalRecordsDefinition, doc, (out) => {
        if (records.length === 0) {
          out.note(`no records from seq ${fromSeq}`);
          return;
        }
        out.data(formatTable(recordRows(records), { header: RECORD_HEADER, colors: out.colors, align: ["right"] }));
      });
    });
  },
};

const follow: CommandSpec = {
  usage: "follow",
  abortable: true,
  summary: "print records as they are appended (until Ctrl-C)",
  description:
    "Print records from a seq on, then wait for new ones, across segment rolls, until Ctrl-C\n" +
    "(exit 0). With --json, one JSON document per line (NDJSON). A gap line says when history\n" +
    "below the cursor was archived.",
  options(cmd) {
    cmd.addOption(new Option("--from <seq>", "first seq (default: the next record appended)").argParser(seqOption));
    cmd.addOption(new Option("--limit <n>", "stop after N records").argParser(parseCount));
    cmd.addOption(new Option("--poll <ms>", "polling interval backing fs.watch").argParser(parseCount).default(250));
  },
  examples: [
    ["snap journal follow", "new records as they arrive"],
    ["snap journal follow --from 1 --json", "everything, then new records, as NDJSON"],
  ],
  async run(ctx, _args, opts) {
    return withJournal(ctx, opts, false, async (journal) => {
      const limit = opts.limit as number | undefined;
      let fromSeq = opts.from as number | undefined;
      if (fromSeq === undefined) fromSeq = (await journal.state()).headSeq + 1;
      let seen = 0;
      if (limit === 0) return { streamed: true, exitCode: 0 } satisfies HandlerResult;
      for await (const item of journal.follow({ fromSeq, signal: ctx.signal, pollMs: opts.poll as number })) {
        if ("gap" in item) {
          const gap = item as JournalGap;
          if (ctx.out.json) ctx.out.streamDocument({ type: journalFollowEventDefinition.name, schema_version: 1, gap: { from_seq: gap.fromSeq, oldest_seq: gap.oldestSeq } });
          else ctx.out.warn(`records ${gap.fromSeq}..${gap.oldestSeq - 1} were archived; continuing at ${gap.oldestSeq}`);
          continue;
        }
        const rec = item as JournalRecord;
        if (ctx.out.json) ctx.out.streamDocument({ type: journalFollowEventDefinition.name, schema_version: 1, record: rec });
        else ctx.out.data(formatTable(recordRows([rec])).trimEnd());
        seen++;
        if (limit !== undefined && seen >= limit) break;
      }
      return { streamed: true, exitCode: 0 } satisfies HandlerResult;
    });
  },
};

const state: CommandSpec = {
  usage: "state",
  summary: "print the live entities (newest checkpoint plus the records after it)",
  options(cmd) {
    cmd.addOption(new Option("--type <item_type>", "only entities of this item type"));
  },
  examples: [
    ["snap journal state", "every live entity"],
    ["snap journal state --type ref --json", "one item type, machine-readable"],
  ],
  async run(ctx, _args, opts) {
    return withJournal(ctx, opts, false, async (journal, dir) => {
      const st = await journal.state();
      const only = opts.type as string | undefined;
      const entities = [...st.entities.values()]
        .filter((e) => only === undefined || e.item_type === only)
        .sort((a, b) => (a.item_type === b.item_type ? (a.item_id < b.item_id ? -1 : 1) : a.item_type < b.item_type ? -1 : 1))
        .map((e) => {
          const out: { item_type: string; item_id: string; entity_rev: number; seq: number; payload?: unknown; payload_ref?: { sha256: string; bytes: number } } = {
            item_type: e.item_type,
            item_id: e.item_id,
            entity_rev: e.entity_rev,
            seq: e.seq,
          };
          if (e.payload !== undefined) out.payload = e.payload;
          if (e.payload_ref !== undefined) out.payload_ref = e.payload_ref;
          return out;
        });
      const doc = {
        type: "journal_state" as const,
        schema_version: 1,
        journal: dir,
        head_seq: st.headSeq,
        checkpoint_seq: st.checkpointSeq,
        entities: entities as (typeof journalStateDefinition.example)["entities"],
      };
      return outcome(journalStateDefinition, doc, (out) => {
        if (entities.length === 0) out.note(`no live entities (head seq ${st.headSeq})`);
        else out.data(formatTable(entities.map((e) => [e.item_type, e.item_id, String(e.entity_rev), String(e.seq), e.payload_ref ? `blob ${e.payload_ref.sha256.slice(0, 12)} (${formatBytes(e.payload_ref.bytes)})` : payloadText(e.payload)]), { header: ["TYPE", "ID", "REV", "SEQ", "PAYLOAD"], colors: out.colors }));
        out.note(`head seq ${st.headSeq}${st.checkpointSeq > 0 ? `, from checkpoint at seq ${st.checkpointSeq}` : ""}`);
      });
    });
  },
};

/** The journal's long-operation options: this command's signal, and the bar's onProgress on a TTY. */
function longOperation(ctx: CommandContext, label: string): LongOperationOptions {
  const options: LongOperationOptions = { signal: ctx.signal };
  const progress = ctx.out.progress(label).startActivity();
  if (progress.onProgress !== undefined) options.onProgress = progress.onProgress;
  return options;
}

const checkpoint: CommandSpec = {
  usage: "checkpoint",
  abortable: true,
  summary: "write a checkpoint of the live state (verified before it is published)",
  examples: [["snap journal checkpoint", "write checkpoints/ckpt-<seq>.ndjson"]],
  async run(ctx, _args, opts) {
    return withJournal(ctx, opts, false, async (journal, dir) => {
      const result = await journal.checkpoint(longOperation(ctx, "checkpoint"));
      const doc = { type: "journal_checkpoint_result" as const, schema_version: 1, journal: dir, name: result.name, head_seq: result.head_seq, entities: result.count, created: result.created };
      return outcome(journalCheckpointResultDefinition, doc, (out) => {
        out.data(`${result.created ? "wrote" : "up to date:"} ${result.name} (head seq ${result.head_seq}, ${plural(result.count, "entity", "entities")})`);
      });
    });
  },
};

const archive: CommandSpec = {
  usage: "archive",
  abortable: true,
  summary: "move segments superseded by two verified checkpoints to archive/ (never deletes)",
  examples: [["snap journal archive", "archive what the two newest checkpoints supersede"]],
  async run(ctx, _args, opts) {
    return withJournal(ctx, opts, false, async (journal, dir) => {
      const report = await journal.archive(longOperation(ctx, "archive"));
      const doc = { type: "journal_archive_result" as const, schema_version: 1, journal: dir, ...report };
      return outcome(journalArchiveResultDefinition, doc as typeof journalArchiveResultDefinition.example, (out) => {
        if (report.reason !== undefined) out.note(report.reason);
        out.data(`archived ${plural(report.archived_segments.length, "segment")} and ${plural(report.archived_checkpoints.length, "checkpoint")}${report.floor_seq === null ? "" : ` below seq ${report.floor_seq}`}`);
        for (const name of report.archived_segments) out.data(`  segment ${name}`);
        for (const name of report.archived_checkpoints) out.data(`  checkpoint ${name}`);
        for (const u of report.unverified_checkpoints) out.warn(`checkpoint ${u.name} did not verify: ${u.problems.join("; ")}`);
      });
    });
  },
};

const doctor: CommandSpec = {
  usage: "doctor",
  summary: "health counters: torn, adjudicated, corrupt, duplicates, stale writers, slow fsyncs (exit 4 on corruption)",
  options(cmd) {
    cmd.option("--bench", "also qualify the disk (fsync latency; flags a disk that acknowledges too fast)");
  },
  examples: [
    ["snap journal doctor", "counters and anomalies"],
    ["snap journal doctor --bench --json", "with a disk qualification, machine-readable"],
  ],
  async run(ctx, _args, opts) {
    return withJournal(ctx, opts, false, async (journal) => {
      const report = await journal.doctor({ bench: opts.bench === true });
      return outcome(
        journalDoctorReportDefinition,
        report,
        (out) => {
          const c = report.counters;
          const rows: string[][] = Object.entries(c).map(([k, v]) => [k, typeof v === "number" ? String(v) : Object.entries(v).map(([kk, vv]) => `${kk} ${vv}`).join(", ")]);
          out.data(formatTable(rows, { header: ["COUNTER", "VALUE"], colors: out.colors }));
          for (const a of report.anomalies) out.data(`anomaly: ${JSON.stringify(a)}`);
          if (report.bench !== undefined) out.data(`disk: ${report.bench.verdict} (p50 ${report.bench.p50_ms} ms, p99 ${report.bench.p99_ms} ms): ${report.bench.detail}`);
          out.note(report.ok ? out.errColors.green(`ok: head seq ${report.head_seq}`) : out.errColors.red(`corruption found (head seq ${report.head_seq})`));
        },
        report.ok ? 0 : 4,
      );
    });
  },
};

const verify: CommandSpec = {
  usage: "verify",
  abortable: true,
  summary: "rebuild the state from genesis in a temporary directory and diff it against checkpoints and the live state (exit 4 on differences)",
  examples: [["snap journal verify", "full rebuild and comparison"]],
  async run(ctx, _args, opts) {
    return withJournal(ctx, opts, false, async (journal) => {
      const report = await journal.verify(longOperation(ctx, "verify"));
      return outcome(
        journalVerifyReportDefinition,
        report,
        (out) => {
          out.data(`${report.records} records, ${plural(report.entities, "entity", "entities")}, ${plural(report.checkpoints_checked, "checkpoint")} checked, head seq ${report.head_seq}${report.from_genesis ? "" : " (not from genesis: older history archived)"}`);
          for (const d of report.differences) out.data(`difference in ${d.where}: ${d.item_type}/${d.item_id}: ${d.detail}`);
          for (const a of report.anomalies) out.data(`anomaly: ${JSON.stringify(a)}`);
          out.note(report.ok ? out.errColors.green("ok") : out.errColors.red("verification failed"));
        },
        report.ok ? 0 : 4,
      );
    });
  },
};

const dump: CommandSpec = {
  usage: "dump",
  abortable: true,
  summary: "print every frame of every segment with its crc and chain status",
  options(cmd) {
    cmd.option("--archive", "include archived segments");
  },
  examples: [
    ["snap journal dump", "one line per frame"],
    ["snap journal dump --archive --json", "including archive/, machine-readable"],
  ],
  async run(ctx, _args, opts) {
    return withJournal(ctx, opts, false, async (journal, dir) => {
      const frames: DumpLine[] = [];
      for await (const line of journal.dump({ includeArchive: opts.archive === true })) {
        if (ctx.signal.aborted) throw new SnapError("interrupted", "dump interrupted");
        frames.push(line);
      }
      const doc = { type: "journal_dump" as const, schema_version: 1, journal: dir, frames };
      return outcome(journalDumpDefinition, doc as typeof journalDumpDefinition.example, (out) => {
        const rows = frames.map((f) => [
          `${f.archived ? "archive/" : ""}${f.segment}`,
          `${f.offset}-${f.end}`,
          f.status === "ok" ? out.colors.green(f.status) : out.colors.red(f.status),
          f.type ?? "",
          f.seq === undefined ? "" : String(f.seq),
          f.crc ?? "",
          f.chain ?? "",
          f.detail ?? "",
        ]);
        out.data(formatTable(rows, { header: ["SEGMENT", "BYTES", "STATUS", "TYPE", "SEQ", "CRC", "CHAIN", "DETAIL"], colors: out.colors }));
      });
    });
  },
};

const stats: CommandSpec = {
  usage: "stats",
  summary: "live, superseded and tombstone bytes per segment, and what archive would reclaim",
  examples: [["snap journal stats", "per-segment sizes"]],
  async run(ctx, _args, opts) {
    return withJournal(ctx, opts, false, async (journal) => {
      const report = await journal.stats();
      return outcome(journalStatsReportDefinition, report, (out) => {
        const rows = report.segments.map((s) => [s.segment, `${s.first_seq}-${s.last_seq}`, s.sealed ? "sealed" : "active", formatBytes(s.bytes), formatBytes(s.live_bytes), formatBytes(s.superseded_bytes), s.archivable ? "yes" : "no"]);
        out.data(formatTable(rows, { header: ["SEGMENT", "SEQS", "STATE", "BYTES", "LIVE", "SUPERSEDED", "ARCHIVABLE"], colors: out.colors }));
        out.data(`head seq ${report.head_seq}; total ${formatBytes(report.total_bytes)}, live ${formatBytes(report.live_bytes)}, reclaimable ${formatBytes(report.reclaimable_bytes)}, archived ${formatBytes(report.archived_bytes)}, ${plural(report.checkpoints.length, "checkpoint")}`);
      });
    });
  },
};

export const journalGroup: CommandGroup = {
  name: "journal",
  summary: "the store's journal, or a standalone one with --dir",
  description: "Inspect and write the store's journal (.snap/journal), or any standalone @snap/journal directory with --dir DIR.",
  options: groupOptions,
  commands: [append, read, follow, state, checkpoint, archive, doctor, verify, dump, stats],
};
