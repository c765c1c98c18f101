/**
 * Recovery modes other than the default `tolerate-tail` (which only reads the tail). Each
 * reads the whole journal once at open and reports what it found and did:
 * - `absolute`: refuses any anomaly (CI, tests);
 * - `point-in-time`: cuts the log at the first mid-log anomaly; the cut bytes and every later
 *   segment move to quarantine/ (never deleted) and a journal_note records the cut;
 * - `salvage`: keeps everything, records the corrupt ranges in a journal_note, and readers
 *   skip them.
 */
import { join } from "node:path";
import { acquireLock, pathExists, publishFile } from "@snap/fs";
import { SnapError, type ErrorCode } from "@snap/schema";
import type { Anomaly } from "./decode.js";
import { fullScan } from "./doctor.js";
import { indexName } from "./format.js";
import { ensureDurableDir, readRange } from "./files.js";
import type { JournalCore } from "./journal.js";
import type { RecoveryReport } from "./schema.js";

const CODE_BY_KIND: Partial<Record<Anomaly["kind"], ErrorCode>> = {
  foreign_segment: "journal_foreign_segment",
  segment_missing: "journal_segment_missing",
  stale_writer: "journal_stale_writer",
};

const CUT_KINDS = new Set<Anomaly["kind"]>([
  "corrupt",
  "after_seal",
  "header_missing",
  "header_mismatch",
  "seq_gap",
  "seal_mismatch",
  "segment_missing",
  "foreign_segment",
  "chain_break",
]);

export async function runRecovery(core: JournalCore, report: RecoveryReport): Promise<void> {
  const scan = await fullScan({ fs: core.fs, paths: core.paths, storeId: core.storeId });
  report.anomalies = scan.anomalies.map((a) => ({ ...a }));
  const mode = core.recovery;
  if (mode === "absolute") {
    const bad = scan.anomalies.filter((a) => a.kind !== "tail_fragment");
    if (bad.length > 0) {
      const first = bad[0]!;
      throw new SnapError(CODE_BY_KIND[first.kind] ?? "journal_corrupt", `recovery 'absolute' refuses the journal: ${bad.length} anomalies, first: ${first.kind} in ${first.segment}: ${first.detail}`, {
        data: { anomalies: bad.slice(0, 50) },
        hint: "run doctor() for the full list; open with 'point-in-time' or 'salvage' to recover",
      });
    }
    report.actions.push("absolute: every segment checked, no anomaly");
    return;
  }
  if (mode === "salvage") {
    const bad = scan.anomalies.filter((a) => a.kind !== "tail_fragment");
    if (bad.length > 0) {
      report.actions.push(`salvage: ${bad.length} anomalies kept in place; readers skip corrupt ranges; a journal_note lists them`);
      core.queueNote({
        kind: "salvage",
        detail: `${bad.length} anomalies found at open`,
        corrupt_ranges: bad.slice(0, 200).map((a) => ({ kind: a.kind, segment: a.segment, byte_start: a.byte_start ?? null, byte_end: a.byte_end ?? null })),
      });
    } else report.actions.push("salvage: every segment checked, nothing to skip");
    return;
  }
  // point-in-time
  const firstCut = scan.anomalies.find((a) => CUT_KINDS.has(a.kind));
  if (firstCut === undefined) {
    report.actions.push("point-in-time: every segment checked, nothing to cut");
    return;
  }
  const idx = scan.segments.findIndex((s) => s.entry.name === firstCut.segment);
  const segLevel = firstCut.byte_start === undefined || firstCut.kind === "segment_missing" || firstCut.kind === "foreign_segment" || firstCut.kind === "chain_break";
  const lock = await acquireLock(core.lockPath, { fs: core.fs, timeoutMs: 30_000 });
  try {
    const stamp = new Date().toISOString().replace(/[:.]/g, "-");
    const qdir = join(core.paths.quarantine, stamp);
    await ensureDurableDir(core.fs, qdir);
    const quarantined: string[] = [];
    let cutSegment = firstCut.segment;
    let cutAt = 0;
    let firstMoved = segLevel ? idx : idx + 1;
    if (!segLevel) {
      const s = scan.segments[idx]!;
      // Cut at the end of the last ok record before the anomaly.
      cutAt = Math.max(0, firstCut.byte_start! - 1);
      const { scan: sc } = s;
      void sc;
      const rest = await readRange(core.fs, s.entry.path, cutAt);
      const qname = `${s.entry.name}.from-${cutAt}`;
      await publishFile(join(qdir, qname), rest, { fs: core.fs, mode: "no-clobber", durability: "always" });
      quarantined.push(qname);
      const f = await core.fs.open(s.entry.path, "r+");
      try {
        await f.truncate(cutAt); // commit point of the cut (the bytes are safe in quarantine/)
        await f.sync();
      } finally {
        await f.close();
      }
      const idxPath = join(core.paths.segments, indexName(s.entry.name));
      if (await pathExists(idxPath, core.fs)) await core.fs.rename(idxPath, join(qdir, indexName(s.entry.name)));
    } else {
      cutSegment = firstCut.segment;
    }
    for (let i = Math.max(0, firstMoved); i < scan.segments.length; i++) {
      const s = scan.segments[i]!;
      if (s.archived) continue;
      await core.fs.rename(s.entry.path, join(qdir, s.entry.name));
      quarantined.push(s.entry.name);
      const idxPath = join(core.paths.segments, indexName(s.entry.name));
      if (await pathExists(idxPath, core.fs)) await core.fs.rename(idxPath, join(qdir, indexName(s.entry.name)));
    }
    firstMoved = 0;
    await core.fs.syncDir(core.paths.segments);
    await core.fs.syncDir(qdir);
    const detail = `cut at ${cutSegment} byte ${cutAt} (${firstCut.kind}: ${firstCut.detail}); moved to quarantine/${stamp}: ${quarantined.join(", ")}`;
    report.actions.push(`point-in-time: ${detail}`);
    core.queueNote({ kind: "point_in_time_cut", segment: cutSegment, byte_start: cutAt, quarantine: `quarantine/${stamp}`, quarantined, detail });
  } finally {
    await lock.release();
  }
}
