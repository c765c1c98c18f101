/**
 * The public Journal: the writer core plus readers (read, follow, state), checkpoints and
 * archiving, and the doctor's views (doctor, verify, dump, stats).
 */
import { createHash, randomBytes } from "node:crypto";
import { watch, type FSWatcher } from "node:fs";
import { join } from "node:path";
import { publishFile, publishTmpFile, type PublishResult, type StoreLock } from "@snap/fs";
import { SnapError, type LongOperationOptions } from "@snap/schema";
import type { DecodedRecord } from "./decode.js";
import {
  applyRecord,
  encodeCheckpoint,
  entityKey,
  loadNewestCheckpoint,
  parseCheckpoint,
  type EntityMap,
  type EntityState,
} from "./checkpoint.js";
import { countersOf, dumpFrames, fullScan, percentile, qualifyDisk, type DumpLine } from "./doctor.js";
import { checkpointName, ZERO_CHAIN } from "./format.js";
import { ensureDurableDir, listCheckpoints, listSegments, readWhole } from "./files.js";
import { JournalCore, type OpenJournalOptions } from "./journal.js";
import { scanCore, scanRecords } from "./reader.js";
import { RECORD_SCHEMAS, type DoctorReport, type StatsReport, type VerifyReport } from "./schema.js";
import { readTail } from "./tail.js";
import { Progress } from "./progress.js";

/** A record as read back: an event, or (with includeMeta) a journal_note / seq_repair. */
export type JournalRecord = DecodedRecord & { seq: number };

export interface JournalGap {
  gap: true;
  /** The oldest seq still in segments/ (the cursor continues from here). */
  oldestSeq: number;
  /** The cursor that fell into archived history. */
  fromSeq: number;
}

export interface ReadOptions {
  fromSeq?: number;
  toSeq?: number;
  /** Also yield journal_note and seq_repair records (default false: events only). */
  includeMeta?: boolean;
  /** Also read archive/segments (history below the oldest live segment). read() only. */
  includeArchive?: boolean;
  /**
   * read(): when fromSeq is below the oldest live segment (its records were archived) and
   * includeArchive is not set. "error" (default): throw journal_gap before yielding anything;
   * "yield": yield `{ gap: true, oldestSeq, fromSeq }` first, then continue at oldestSeq (as
   * follow() does by default); a callback: call it, then continue at oldestSeq.
   */
  onGap?: "yield" | "error" | ((gap: JournalGap) => void);
}

export interface FollowOptions extends ReadOptions {
  signal?: AbortSignal;
  /** "yield" (default): yield `{gap:true, oldestSeq}` and continue there; "error": throw journal_gap; or a callback. */
  onGap?: "yield" | "error" | ((gap: JournalGap) => void);
  /** Polling interval backing fs.watch (default 250 ms). */
  pollMs?: number;
}

export interface JournalState {
  headSeq: number;
  /** Seq of the checkpoint the state was built from (0: from genesis). */
  checkpointSeq: number;
  /** Live entities (deletes removed), keyed by entityKey(item_type, item_id). */
  entities: Map<string, EntityState>;
  get(itemType: string, itemId: string): EntityState | undefined;
}

export interface CheckpointResult {
  name: string;
  head_seq: number;
  count: number;
  created: boolean;
}

export interface ArchiveReport {
  floor_seq: number | null;
  archived_segments: string[];
  archived_checkpoints: string[];
  kept_checkpoints: string[];
  unverified_checkpoints: { name: string; problems: string[] }[];
  reason?: string;
}

const pickAny = (rec: DecodedRecord): JournalRecord => rec as JournalRecord;
const pickEvent = (rec: DecodedRecord): JournalRecord | undefined => (rec.type === "journal_event" ? (rec as JournalRecord) : undefined);

export class Journal extends JournalCore {
  /**
   * Records with seq in [fromSeq, toSeq], oldest first. A fromSeq below the oldest live
   * segment (archived history) is never skipped silently: see ReadOptions.onGap.
   */
  read(options: ReadOptions & { onGap: "yield" }): AsyncGenerator<JournalRecord | JournalGap>;
  read(options?: ReadOptions & { onGap?: "error" | ((gap: JournalGap) => void) }): AsyncGenerator<JournalRecord>;
  read(options: ReadOptions = {}): AsyncGenerator<JournalRecord | JournalGap> {
    const onGap = options.onGap ?? "error";
    if (onGap !== "yield" && onGap !== "error" && typeof onGap !== "function") throw new SnapError("invalid_argument", `unknown onGap ${String(onGap)}`);
    // No wrapping generator: the scanner yields the records themselves (one async hop per record).
    const pick = options.includeMeta ? pickAny : pickEvent;
    return scanCore(this.readerContext(), { fromSeq: options.fromSeq ?? 1, toSeq: options.toSeq, includeArchive: options.includeArchive ?? false, onGap }, pick);
  }

  /** Like read(), then waits for new records (fs.watch + polling) until `signal` aborts. */
  async *follow(options: FollowOptions = {}): AsyncGenerator<JournalRecord | JournalGap> {
    let cursor = options.fromSeq ?? 1;
    let hint: { segment: string; offset: number } | undefined;
    const signal = options.signal;
    const waker = new Waker(this.paths.segments, options.pollMs ?? 250);
    try {
      while (!signal?.aborted) {
        const segs = await listSegments(this.fs, this.paths.segments);
        const oldest = segs[0]?.firstSeq;
        if (oldest !== undefined && cursor < oldest) {
          const gap: JournalGap = { gap: true, oldestSeq: oldest, fromSeq: cursor };
          if (options.onGap === "error") {
            throw new SnapError("journal_gap", `records ${cursor}..${oldest - 1} were archived`, { data: { from_seq: cursor, oldest_seq: oldest }, hint: "rebuild from state() or read archive/" });
          }
          if (typeof options.onGap === "function") options.onGap(gap);
          else yield gap;
          cursor = oldest;
          hint = undefined;
        }
        for await (const item of scanRecords(this.readerContext(), {
          fromSeq: cursor,
          toSeq: options.toSeq,
          hint,
          onPosition: (segment, offset) => (hint = { segment, offset }),
        })) {
          hint = { segment: item.segment, offset: item.end };
          cursor = item.rec.seq! + 1;
          if (options.includeMeta || item.rec.type === "journal_event") yield item.rec as JournalRecord;
          if (signal?.aborted) return;
        }
        if (options.toSeq !== undefined && cursor > options.toSeq) return;
        await waker.wait(signal);
      }
    } finally {
      waker.close();
    }
  }

  /** The entity map: newest verified checkpoint plus the records after it. */
  async state(): Promise<JournalState> {
    await this.resolveStoreId();
    const map: EntityMap = new Map();
    const ckpt = await loadNewestCheckpoint(this.fs, this.paths, this.storeId);
    let headSeq = 0;
    if (ckpt !== undefined) {
      for (const [k, v] of ckpt.parsed.entities) map.set(k, v);
      headSeq = ckpt.parsed.headSeq;
    }
    const checkpointSeq = headSeq;
    for await (const item of scanRecords(this.readerContext(), { fromSeq: headSeq + 1, includeArchive: true })) {
      applyRecord(map, item.rec);
      headSeq = item.rec.seq!;
    }
    for (const [k, v] of map) if (v.deleted) map.delete(k);
    return { headSeq, checkpointSeq, entities: map, get: (t, id) => map.get(entityKey(t, id)) };
  }

  /** Runs `fn` under the store lock (no records appended). */
  protected async underLock<T>(fn: (lock: StoreLock) => Promise<T>): Promise<T> {
    const release = await this.hold.acquire();
    try {
      return await this.withHeldLock(fn);
    } finally {
      release();
    }
  }

  /**
   * Writes checkpoints/ckpt-<head>.ndjson: built outside the lock from a seq-consistent
   * read, verified by a full re-parse, published (link, never overwriting) under the lock,
   * meta.json written last.
   */
  async checkpoint(options: LongOperationOptions = {}): Promise<CheckpointResult> {
    this.assertOpen();
    const progress = new Progress("checkpoint", options);
    progress.check();
    await this.resolveStoreId();
    const prev = await loadNewestCheckpoint(this.fs, this.paths, this.storeId);
    const map: EntityMap = new Map();
    let head = 0;
    let headChain = ZERO_CHAIN;
    if (prev !== undefined) {
      for (const [k, v] of prev.parsed.entities) map.set(k, v);
      head = prev.parsed.headSeq;
      headChain = String(prev.parsed.footer?.head_chain ?? ZERO_CHAIN);
    }
    const prevHead = head;
    const scanTotal = this.lastSeq > prevHead ? this.lastSeq - prevHead : undefined;
    let scanned = 0;
    for await (const item of scanRecords(this.readerContext(), { fromSeq: head + 1, fromSegmentStart: true, includeArchive: true })) {
      applyRecord(map, item.rec);
      head = item.rec.seq!;
      if (item.chain !== undefined) headChain = item.chain;
      if ((++scanned & 255) === 0) {
        progress.check();
        progress.report("scan", scanned, scanTotal !== undefined ? Math.max(scanTotal, scanned) : undefined, "records");
      }
    }
    progress.end("scan", scanned, scanned, "records");
    progress.check();
    if (prev !== undefined && head === prevHead) {
      return { name: prev.entry.name, head_seq: head, count: prev.parsed.entities.size, created: false };
    }
    if (this.storeId === undefined) throw new SnapError("invalid_argument", "an empty journal has nothing to checkpoint");
    const bytes = encodeCheckpoint(map, { store_id: this.storeId, head_seq: head, head_chain: headChain, created_at: new Date().toISOString() });
    const name = checkpointName(head);
    await ensureDurableDir(this.fs, this.paths.tmp);
    await ensureDurableDir(this.fs, this.paths.checkpoints);
    const tmp = join(this.paths.tmp, `.tmp-ckpt-${process.pid}-${randomBytes(4).toString("hex")}`);
    let result: PublishResult;
    try {
      const f = await this.fs.open(tmp, "wx");
      try {
        progress.report("write", 0, bytes.length, "bytes");
        await f.write(bytes, 0);
        await f.sync();
        progress.end("write", bytes.length, bytes.length, "bytes");
      } finally {
        await f.close();
      }
      progress.check();
      // Publish-time verification: fsync OK is not proof the bytes are complete.
      const check = parseCheckpoint(await readWhole(this.fs, tmp));
      progress.end("verify", check.entities.size, map.size, "entities");
      if (!check.ok || check.headSeq !== head) {
        throw new SnapError("journal_corrupt", `checkpoint ${name} did not re-parse: ${check.problems.join("; ")}`, { data: { problems: check.problems } });
      }
      progress.check();
      result = await this.underLock(async (lock) => {
        progress.check(); // the last moment an abort is honoured: nothing is published yet
        lock.assertHeld();
        const r = await publishTmpFile(tmp, join(this.paths.checkpoints, name), { fs: this.fs, mode: "no-clobber", durability: "always" }); // commit point
        await this.writeMeta(lock); // meta last
        return r;
      });
      progress.end("publish", 1, 1, "files");
    } finally {
      await this.fs.unlink(tmp).catch(() => undefined); // the temporary name, published or not
    }
    return { name, head_seq: head, count: map.size, created: result === "created" };
  }

  /**
   * Moves sealed segments wholly below the second-newest verified checkpoint to
   * archive/segments/, and checkpoints older than the two newest to archive/checkpoints/.
   * Never deletes anything.
   */
  async archive(options: LongOperationOptions = {}): Promise<ArchiveReport> {
    this.assertOpen();
    const progress = new Progress("archive", options);
    progress.check();
    await this.resolveStoreId();
    const report: ArchiveReport = { floor_seq: null, archived_segments: [], archived_checkpoints: [], kept_checkpoints: [], unverified_checkpoints: [] };
    const verified: { name: string; path: string; headSeq: number }[] = [];
    const candidates = await listCheckpoints(this.fs, this.paths.checkpoints);
    let checkedCkpts = 0;
    for (const c of candidates) {
      progress.check();
      progress.report("verify", checkedCkpts++, candidates.length, "checkpoints");
      const parsed = parseCheckpoint(await readWhole(this.fs, c.path));
      if (parsed.ok && parsed.headSeq === c.headSeq && (this.storeId === undefined || parsed.footer?.store_id === this.storeId)) verified.push(c);
      else report.unverified_checkpoints.push({ name: c.name, problems: parsed.ok ? ["head or store id mismatch"] : parsed.problems });
    }
    progress.end("verify", candidates.length, candidates.length, "checkpoints");
    if (verified.length < 2) {
      report.reason = `archiving needs two verified checkpoints (found ${verified.length}); nothing moved`;
      report.kept_checkpoints = verified.map((c) => c.name);
      return report;
    }
    const floor = verified[1]!.headSeq;
    report.floor_seq = floor;
    report.kept_checkpoints = verified.slice(0, 2).map((c) => c.name);
    progress.check();
    await this.underLock(async (lock) => {
      progress.check();
      await ensureDurableDir(this.fs, this.paths.archiveSegments);
      await ensureDurableDir(this.fs, this.paths.archiveCheckpoints);
      const segs = await listSegments(this.fs, this.paths.segments);
      // Which segments move (sealed, wholly at or below the floor), decided before any move.
      const moving: typeof segs = [];
      for (const s of segs.slice(0, -1)) {
        const size = (await this.fs.stat(s.path)).size;
        const tail = await readTail(this.fs, s.path, size);
        if (!tail.sealed || tail.lastSeq > floor) break;
        moving.push(s);
      }
      const total = moving.length + Math.max(0, verified.length - 2);
      progress.check(); // the last moment an abort is honoured: the first rename is the commit point
      let moved = 0;
      for (const s of moving) {
        lock.assertHeld();
        await this.fs.rename(s.path, join(this.paths.archiveSegments, s.name)); // move, never delete
        const idx = s.name.replace(/\.ndjson$/, ".idx.json");
        await this.fs.rename(join(this.paths.segments, idx), join(this.paths.archiveSegments, idx)).catch(() => undefined);
        report.archived_segments.push(s.name);
        progress.report("move", ++moved, total, "files");
      }
      for (const c of verified.slice(2)) {
        await this.fs.rename(c.path, join(this.paths.archiveCheckpoints, c.name));
        report.archived_checkpoints.push(c.name);
        progress.report("move", ++moved, total, "files");
      }
      progress.end("move", moved, total, "files");
      await this.fs.syncDir(this.paths.archiveSegments);
      await this.fs.syncDir(this.paths.archiveCheckpoints);
      await this.fs.syncDir(this.paths.segments);
      await this.fs.syncDir(this.paths.checkpoints);
    });
    return report;
  }

  /** Counters over every segment (archive included); `bench` adds a disk qualification. */
  async doctor(options: { bench?: boolean; benchSamples?: number } = {}): Promise<DoctorReport> {
    await this.resolveStoreId();
    const scan = await fullScan({ fs: this.fs, paths: this.paths, storeId: this.storeId, includeArchive: true });
    const counters = countersOf(scan);
    counters.slow_fsyncs = this.slowFsyncs;
    const lat = [...this.fsyncLatencies].sort((a, b) => a - b);
    const report: DoctorReport = {
      type: "journal_doctor_report",
      schema_version: 1,
      ok: scan.anomalies.every((a) => a.kind === "tail_fragment"),
      head_seq: scan.headSeq,
      counters,
      anomalies: scan.anomalies.map((a) => ({ ...a })),
      fsync: { count: lat.length, p50_ms: percentile(lat, 50), p99_ms: percentile(lat, 99), max_ms: lat[lat.length - 1] ?? 0 },
    };
    if (options.bench) report.bench = await qualifyDisk({ dir: this.paths.tmp, fs: this.fs, samples: options.benchSamples ?? 200 });
    return report;
  }

  /**
   * Rebuilds the state from genesis (archive included) into a temporary directory, checks
   * every checkpoint against the rebuild at its head seq, diffs the rebuild against state(),
   * and validates every record against its schema.
   */
  async verify(options: LongOperationOptions = {}): Promise<VerifyReport> {
    const progress = new Progress("verify", options);
    progress.check();
    await this.resolveStoreId();
    const differences: VerifyReport["differences"] = [];
    const checkpoints = (await listCheckpoints(this.fs, this.paths.checkpoints)).map((c) => ({ ...c, archived: false }));
    checkpoints.push(...(await listCheckpoints(this.fs, this.paths.archiveCheckpoints)).map((c) => ({ ...c, archived: true })));
    const byHead = new Map<number, { name: string; path: string }[]>();
    for (const c of checkpoints) byHead.set(c.headSeq, [...(byHead.get(c.headSeq) ?? []), c]);
    const map: EntityMap = new Map();
    let checked = 0;
    let records = 0;
    const pendingChecks: { head: number; snapshot: EntityMap }[] = [];
    const schemaProblems: VerifyReport["anomalies"] = [];
    const scan = await fullScan({
      fs: this.fs,
      paths: this.paths,
      storeId: this.storeId,
      includeArchive: true,
      onSegment: (done, total) => {
        progress.check(); // verify publishes nothing: an abort is honoured anywhere
        progress.report("scan", done, total, "segments");
      },
      onRecord: (rec, segment, start, end) => {
        records++;
        const schema = RECORD_SCHEMAS[rec.type];
        if (schema !== undefined && !schema.safeParse(rec).success) {
          schemaProblems.push({ kind: "corrupt", segment, byte_start: start, byte_end: end, seq: rec.seq, detail: `${rec.type} fails its schema` });
        }
        applyRecord(map, rec);
        if (typeof rec.seq === "number" && byHead.has(rec.seq)) pendingChecks.push({ head: rec.seq, snapshot: new Map(map) });
      },
    });
    progress.end("scan", scan.segments.length, scan.segments.length, "segments");
    const firstSeq = scan.segments.find((s) => !s.foreign)?.entry.firstSeq ?? 1;
    const fromGenesis = firstSeq === 1;
    const ckptTotal = pendingChecks.reduce((n, p) => n + (byHead.get(p.head)?.length ?? 0), 0);
    for (const { head, snapshot } of pendingChecks) {
      for (const c of byHead.get(head) ?? []) {
        progress.check();
        progress.report("checkpoints", checked, ckptTotal, "checkpoints");
        const parsed = parseCheckpoint(await readWhole(this.fs, c.path));
        checked++;
        if (!parsed.ok) {
          differences.push({ where: c.name, item_type: "", item_id: "", detail: `checkpoint does not re-parse: ${parsed.problems.join("; ")}` });
          continue;
        }
        diffMaps(snapshot, parsed.entities, c.name, differences, fromGenesis);
      }
    }
    progress.end("checkpoints", checked, ckptTotal, "checkpoints");
    progress.check();
    // Write the rebuild into a temporary directory in checkpoint format and read it back.
    const tmpDir = join(this.paths.tmp, `verify-${process.pid}-${randomBytes(4).toString("hex")}`);
    await ensureDurableDir(this.fs, tmpDir);
    const rebuiltPath = join(tmpDir, "rebuilt.ndjson");
    try {
      await publishFile(rebuiltPath, encodeCheckpoint(map, { store_id: this.storeId ?? "unknown", head_seq: scan.headSeq, head_chain: ZERO_CHAIN, created_at: new Date().toISOString() }), {
        fs: this.fs,
        durability: "never",
      });
      const rebuilt = parseCheckpoint(await readWhole(this.fs, rebuiltPath));
      progress.end("rebuild", rebuilt.entities.size, map.size, "entities");
      progress.check();
      try {
        const live = await this.state();
        const liveAll: EntityMap = new Map(live.entities);
        const rebuiltLive: EntityMap = new Map([...rebuilt.entities].filter(([, v]) => !v.deleted));
        if (fromGenesis) diffMaps(rebuiltLive, liveAll, "state()", differences, true);
      } catch (err) {
        differences.push({ where: "state()", item_type: "", item_id: "", detail: `state() failed: ${err instanceof Error ? err.message : String(err)}` });
      }
    } finally {
      await this.fs.unlink(rebuiltPath).catch(() => undefined);
      await this.fs.rmdir(tmpDir).catch(() => undefined);
    }
    progress.end("state", 1, 1, "checks");
    const anomalies = [...scan.anomalies.filter((a) => a.kind !== "tail_fragment"), ...schemaProblems];
    return {
      type: "journal_verify_report",
      schema_version: 1,
      ok: anomalies.length === 0 && differences.length === 0,
      head_seq: scan.headSeq,
      records,
      entities: [...map.values()].filter((v) => !v.deleted).length,
      checkpoints_checked: checked,
      from_genesis: fromGenesis,
      differences,
      anomalies: anomalies.map((a) => ({ ...a })),
    };
  }

  /** Every frame with its crc and chain status. */
  dump(options: { includeArchive?: boolean } = {}): AsyncGenerator<DumpLine> {
    return dumpFrames(this.fs, this.paths, options.includeArchive ?? false);
  }

  /** Live vs superseded vs tombstone bytes per segment, and what archive() would reclaim now. */
  async stats(): Promise<StatsReport> {
    await this.resolveStoreId();
    const perSeg = new Map<string, { events: { key: string; seq: number; bytes: number; del: boolean }[]; other: number }>();
    const latest = new Map<string, number>();
    const scan = await fullScan({
      fs: this.fs,
      paths: this.paths,
      storeId: this.storeId,
      includeArchive: false,
      onRecord: (rec, segment, start, end) => {
        const s = perSeg.get(segment) ?? { events: [], other: 0 };
        perSeg.set(segment, s);
        if (rec.type === "journal_event") {
          const key = entityKey(String(rec.item_type), String(rec.item_id));
          s.events.push({ key, seq: rec.seq!, bytes: end - start + 1, del: rec.action === "delete" });
          latest.set(key, rec.seq!);
        }
      },
    });
    const verified: number[] = [];
    const ckpts: StatsReport["checkpoints"] = [];
    for (const c of await listCheckpoints(this.fs, this.paths.checkpoints)) {
      const buf = await readWhole(this.fs, c.path);
      ckpts.push({ name: c.name, head_seq: c.headSeq, bytes: buf.length });
      if (parseCheckpoint(buf).ok) verified.push(c.headSeq);
    }
    const floor = verified.length >= 2 ? verified[1]! : -1;
    const out: StatsReport = {
      type: "journal_stats_report",
      schema_version: 1,
      head_seq: scan.headSeq,
      segments: [],
      total_bytes: 0,
      live_bytes: 0,
      superseded_bytes: 0,
      tombstone_bytes: 0,
      reclaimable_bytes: 0,
      checkpoints: ckpts,
      archived_bytes: 0,
    };
    let stillArchivable = true;
    scan.segments.forEach((s, i) => {
      const ev = perSeg.get(s.entry.name) ?? { events: [], other: 0 };
      let live = 0;
      let sup = 0;
      let tomb = 0;
      for (const e of ev.events) {
        if (latest.get(e.key) !== e.seq) sup += e.bytes;
        else if (e.del) tomb += e.bytes;
        else live += e.bytes;
      }
      const sealed = s.scan.seal !== undefined;
      const last = s.scan.lastSeq ?? s.entry.firstSeq - 1;
      const archivable = stillArchivable && sealed && i < scan.segments.length - 1 && last <= floor;
      if (!archivable) stillArchivable = false;
      out.segments.push({
        segment: s.entry.name,
        first_seq: s.entry.firstSeq,
        last_seq: last,
        sealed,
        bytes: s.scan.bytes,
        live_bytes: live,
        superseded_bytes: sup,
        tombstone_bytes: tomb,
        meta_bytes: s.scan.bytes - live - sup - tomb,
        archivable,
      });
      out.total_bytes += s.scan.bytes;
      out.live_bytes += live;
      out.superseded_bytes += sup;
      out.tombstone_bytes += tomb;
      if (archivable) out.reclaimable_bytes += s.scan.bytes;
    });
    for (const s of await listSegments(this.fs, this.paths.archiveSegments)) out.archived_bytes += (await this.fs.stat(s.path)).size;
    return out;
  }

  /** Stores a payload under blobs/ (content-addressed, fsynced) for a record's payload_ref. */
  async putBlob(data: Uint8Array): Promise<{ sha256: string; bytes: number }> {
    const sha256 = createHash("sha256").update(data).digest("hex");
    const dir = join(this.paths.blobs, sha256.slice(0, 2));
    await ensureDurableDir(this.fs, dir);
    await publishFile(join(dir, sha256), data, { fs: this.fs, mode: "no-clobber", durability: "always" });
    return { sha256, bytes: data.byteLength };
  }

  async readBlob(ref: { sha256: string; bytes: number }): Promise<Buffer> {
    const buf = await readWhole(this.fs, join(this.paths.blobs, ref.sha256.slice(0, 2), ref.sha256));
    if (createHash("sha256").update(buf).digest("hex") !== ref.sha256) {
      throw new SnapError("journal_corrupt", `blob ${ref.sha256} does not hash to its name`, { data: { sha256: ref.sha256 } });
    }
    return buf;
  }
}

function diffMaps(expected: EntityMap, found: EntityMap, where: string, out: VerifyReport["differences"], complete: boolean): void {
  for (const [k, e] of expected) {
    const f = found.get(k);
    if (f === undefined) {
      if (complete) out.push({ where, item_type: e.item_type, item_id: e.item_id, detail: "missing" });
    } else if (f.entity_rev !== e.entity_rev || f.deleted !== e.deleted || JSON.stringify(f.payload) !== JSON.stringify(e.payload)) {
      out.push({ where, item_type: e.item_type, item_id: e.item_id, detail: `entity_rev ${f.entity_rev} vs rebuilt ${e.entity_rev}` });
    }
  }
  for (const [k, f] of found) if (!expected.has(k) && complete) out.push({ where, item_type: f.item_type, item_id: f.item_id, detail: "not in the rebuild" });
}

/** Wakes a follower on fs.watch events, or after `pollMs` (fallback), or on abort. */
class Waker {
  private watcher: FSWatcher | undefined;
  private wakeup: (() => void) | undefined;
  private fired = false;

  constructor(dir: string, private readonly pollMs: number) {
    try {
      this.watcher = watch(dir, { persistent: false }, () => this.fire());
      this.watcher.on("error", () => {
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch {
      this.watcher = undefined; // polling only
    }
  }

  private fire(): void {
    this.fired = true;
    this.wakeup?.();
  }

  wait(signal: AbortSignal | undefined): Promise<void> {
    if (this.fired) {
      this.fired = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        this.wakeup = undefined;
        this.fired = false;
        resolve();
      };
      const timer = setTimeout(done, this.pollMs);
      this.wakeup = done;
      signal?.addEventListener("abort", done, { once: true });
    });
  }

  close(): void {
    this.watcher?.close();
  }
}

/** Opens (or creates) a journal. */
export async function openJournal(options: OpenJournalOptions): Promise<Journal> {
  if (typeof options?.dir !== "string" || options.dir === "") throw new SnapError("invalid_argument", "openJournal needs a dir");
  const j = new Journal(options);
  await j.open();
  return j;
}
