/**
 * Whole-journal checks: `fullScan` reads every segment (headers, seals, chain, seqs, lg,
 * adjudications) and classifies every anomaly; doctor/dump/stats are views over it, and
 * `qualifyDisk` measures fdatasync latency the way etcd recommends before trusting a disk.
 */
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { nodeFs, type FsSeam } from "@snap/fs";
import { dataEnd, frameWindows, scanSegment, splitFrames, type Anomaly, type DecodedRecord, type SegmentScan } from "./decode.js";
import { nextChain } from "./format.js";
import { ensureDir, listSegments, readSegmentBytes, type JournalPaths, type SegmentEntry } from "./files.js";
import type { DoctorReport } from "./schema.js";

export interface FullScan {
  segments: { entry: SegmentEntry; scan: SegmentScan; archived: boolean; foreign: boolean }[];
  anomalies: Anomaly[];
  headSeq: number;
  records: number;
}

export interface FullScanOptions {
  fs: FsSeam;
  paths: JournalPaths;
  storeId: string | undefined;
  includeArchive?: boolean;
  onRecord?: (rec: DecodedRecord, segment: string, start: number, end: number) => void;
  /** Called before each segment is read (`done` segments of `total` scanned); may throw to stop. */
  onSegment?: (done: number, total: number) => void;
}

export async function fullScan(o: FullScanOptions): Promise<FullScan> {
  const live = await listSegments(o.fs, o.paths.segments);
  const archived = o.includeArchive ? await listSegments(o.fs, o.paths.archiveSegments) : [];
  const liveNames = new Set(live.map((s) => s.name));
  const all = [
    ...archived.filter((s) => !liveNames.has(s.name)).map((entry) => ({ entry, archived: true })),
    ...live.map((entry) => ({ entry, archived: false })),
  ].sort((a, b) => a.entry.firstSeq - b.entry.firstSeq);
  const out: FullScan = { segments: [], anomalies: [], headSeq: 0, records: 0 };
  let storeId = o.storeId;
  let maxLg = 0;
  let prev: SegmentScan | undefined;
  for (let i = 0; i < all.length; i++) {
    const { entry, archived: isArchived } = all[i]!;
    const isLast = i === all.length - 1;
    o.onSegment?.(i, all.length);
    const buf = await readSegmentBytes(o.fs, o.paths, entry);
    // A foreign segment is classified without feeding its records to the caller.
    const peek = splitFrames(buf.subarray(0, Math.min(buf.length, 8192)), 0, false)[0];
    const headerStore = peek?.kind === "ok" && peek.record.type === "journal_header" ? String(peek.record.store_id) : undefined;
    storeId ??= headerStore;
    const foreign = headerStore !== undefined && storeId !== undefined && headerStore !== storeId;
    const scan = scanSegment(entry.name, buf, { maxLgBefore: foreign ? 0 : maxLg, onRecord: foreign || o.onRecord === undefined ? undefined : (r, s, e) => o.onRecord!(r, entry.name, s, e) });
    out.segments.push({ entry, scan, archived: isArchived, foreign });
    if (foreign) {
      out.anomalies.push({ kind: "foreign_segment", segment: entry.name, detail: `header store_id ${headerStore} is not this journal's ${storeId}` });
      continue;
    }
    out.anomalies.push(...scan.anomalies);
    maxLg = scan.maxLg;
    out.records += scan.count;
    if (scan.header !== undefined && scan.header.first_seq !== entry.firstSeq) {
      out.anomalies.push({ kind: "header_mismatch", segment: entry.name, detail: `file name says first seq ${entry.firstSeq}, header ${String(scan.header.first_seq)}` });
    }
    if (prev !== undefined) {
      const prevLast = prev.lastSeq ?? (typeof prev.header?.first_seq === "number" ? prev.header.first_seq - 1 : 0);
      if (prev.seal === undefined) {
        out.anomalies.push({ kind: "seal_mismatch", segment: prev.segment, detail: `segment ${prev.segment} is not sealed but ${entry.name} follows it` });
      }
      if (entry.firstSeq !== prevLast + 1) {
        out.anomalies.push({ kind: "segment_missing", segment: entry.name, detail: `records ${prevLast + 1}..${entry.firstSeq - 1} are missing before ${entry.name}` });
      } else if (scan.header !== undefined && (scan.header.prev_last_seq !== prevLast || scan.header.prev_chain !== prev.chain)) {
        out.anomalies.push({
          kind: "chain_break",
          segment: entry.name,
          detail: `header prev_last_seq ${String(scan.header.prev_last_seq)} prev_chain ${String(scan.header.prev_chain)}; previous segment ends at ${prevLast} chain ${prev.chain}`,
        });
      }
    } else if (entry.firstSeq !== 1 && !isArchived && archived.length === 0 && o.includeArchive) {
      // History below the first live segment is gone and not in archive/.
      out.anomalies.push({ kind: "segment_missing", segment: entry.name, detail: `no segment holds records 1..${entry.firstSeq - 1} (not even archive/)` });
    }
    if (scan.fragment !== undefined) {
      if (isLast) {
        out.anomalies.push({
          kind: "tail_fragment",
          segment: entry.name,
          byte_start: scan.fragment.start,
          byte_end: scan.fragment.end,
          fragment_class: scan.fragment.class,
          detail: `${scan.fragment.end - scan.fragment.start} bytes (${scan.fragment.class}) after the last record; adjudicated by the next append`,
        });
      } else if (scan.seal === undefined) {
        out.anomalies.push({ kind: "corrupt", segment: entry.name, byte_start: scan.fragment.start, byte_end: scan.fragment.end, detail: `unterminated bytes at the end of a segment that is not the newest` });
      }
    }
    out.headSeq = Math.max(out.headSeq, scan.lastSeq ?? 0);
    prev = scan;
  }
  return out;
}

export function emptyCounters(): DoctorReport["counters"] {
  return {
    segments: 0,
    archived_segments: 0,
    records: 0,
    torn: 0,
    adjudicated: 0,
    adjudicated_by_class: { torn: 0, zero_filled: 0, garbage: 0, unknown: 0 },
    corrupt: 0,
    duplicates: 0,
    stale_writers: 0,
    seq_gaps: 0,
    missing_segments: 0,
    foreign_segments: 0,
    seal_mismatches: 0,
    chain_breaks: 0,
    slow_fsyncs: 0,
  };
}

export function countersOf(scan: FullScan): DoctorReport["counters"] {
  const c = emptyCounters();
  for (const s of scan.segments) {
    if (s.archived) c.archived_segments++;
    else c.segments++;
    if (s.foreign) continue;
    for (const a of s.scan.adjudicated) {
      c.adjudicated++;
      c.adjudicated_by_class[a.class]++;
    }
  }
  c.records = scan.records;
  for (const a of scan.anomalies) {
    switch (a.kind) {
      case "tail_fragment":
        c.torn++;
        break;
      case "corrupt":
      case "after_seal":
      case "header_missing":
      case "header_mismatch":
        c.corrupt++;
        break;
      case "duplicate_seq":
        c.duplicates++;
        break;
      case "stale_writer":
        c.stale_writers++;
        break;
      case "seq_gap":
        c.seq_gaps++;
        break;
      case "segment_missing":
        c.missing_segments++;
        break;
      case "foreign_segment":
        c.foreign_segments++;
        break;
      case "seal_mismatch":
        c.seal_mismatches++;
        break;
      case "chain_break":
        c.chain_breaks++;
        break;
    }
  }
  return c;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export interface DiskQualification {
  samples: number;
  record_bytes: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
  appends_per_sec: number;
  verdict: "good" | "slow" | "unsafe-fast";
  detail: string;
}

/**
 * Disk qualification (etcd's fio rule of thumb): sequential appends of `recordBytes` each
 * followed by fdatasync, in a temporary file in `dir`. p99 over 10 ms is "slow"; a p50 under
 * 20 µs usually means the device acknowledges fsync from a volatile cache ("unsafe-fast").
 */
export async function qualifyDisk(options: { dir: string; samples?: number; recordBytes?: number; fs?: FsSeam }): Promise<DiskQualification> {
  const fs = options.fs ?? nodeFs;
  const samples = options.samples ?? 200;
  const recordBytes = options.recordBytes ?? 2048;
  await ensureDir(fs, options.dir);
  const path = join(options.dir, `.tmp-qualify-${process.pid}-${randomBytes(4).toString("hex")}`);
  const file = await fs.open(path, "wx");
  const lat: number[] = [];
  const rec = Buffer.alloc(recordBytes, 0x61);
  rec[recordBytes - 1] = 0x0a;
  const t0 = performance.now();
  try {
    for (let i = 0; i < samples; i++) {
      const s = performance.now();
      await file.write(rec);
      await file.datasync();
      lat.push(performance.now() - s);
    }
  } finally {
    await file.close();
    await fs.unlink(path).catch(() => undefined);
  }
  const total = performance.now() - t0;
  lat.sort((a, b) => a - b);
  const p50 = percentile(lat, 50);
  const p99 = percentile(lat, 99);
  const verdict = p99 > 10 ? "slow" : p50 < 0.02 ? "unsafe-fast" : "good";
  const detail =
    verdict === "slow"
      ? `p99 fdatasync ${p99.toFixed(2)} ms is over etcd's 10 ms guideline: expect slow durable appends`
      : verdict === "unsafe-fast"
        ? `p50 fdatasync ${(p50 * 1000).toFixed(1)} µs is faster than any device with a durable write path: the disk (or tmpfs) may not persist on fsync`
        : `p99 fdatasync ${p99.toFixed(2)} ms: about ${Math.round(1000 / Math.max(p50, 0.001))} durable appends/s per writer`;
  return {
    samples,
    record_bytes: recordBytes,
    p50_ms: round(p50),
    p99_ms: round(p99),
    max_ms: round(lat[lat.length - 1] ?? 0),
    appends_per_sec: Math.round((samples / total) * 1000),
    verdict,
    detail,
  };
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

export interface DumpLine {
  segment: string;
  archived: boolean;
  offset: number;
  end: number;
  status: "ok" | "invalid" | "fragment";
  type?: string;
  seq?: number;
  writer?: string;
  lg?: number;
  crc?: string;
  /** Chain value after this record (seq-bearing records only). */
  chain?: string;
  detail?: string;
}

/** Every frame of every segment with its crc/chain status (etcd-dump-logs, ldb dump_wal). */
export async function* dumpFrames(fs: FsSeam, paths: JournalPaths, includeArchive: boolean): AsyncGenerator<DumpLine> {
  const live = await listSegments(fs, paths.segments);
  const archived = includeArchive ? await listSegments(fs, paths.archiveSegments) : [];
  const all = [...archived.map((e) => ({ e, a: true })), ...live.map((e) => ({ e, a: false }))].sort((x, y) => x.e.firstSeq - y.e.firstSeq);
  for (const { e, a } of all) {
    const file = await readSegmentBytes(fs, paths, e);
    const buf = file.subarray(0, dataEnd(file)); // not the preallocated NUL tail
    let chain: string | undefined;
    for (const frames of frameWindows(buf)) for (const fr of frames) {
      if (fr.kind === "ok") {
        const r = fr.record;
        if (r.type === "journal_header") chain = String(r.prev_chain);
        else if (typeof r.seq === "number" && chain !== undefined) chain = nextChain(chain, r.crc);
        const line: DumpLine = { segment: e.name, archived: a, offset: fr.start, end: fr.end, status: "ok", type: r.type, crc: r.crc };
        if (typeof r.seq === "number") {
          line.seq = r.seq;
          if (chain !== undefined) line.chain = chain;
        }
        if (typeof r.writer === "string") line.writer = r.writer;
        if (typeof r.lg === "number") line.lg = r.lg;
        yield line;
      } else {
        yield { segment: e.name, archived: a, offset: fr.start, end: fr.end, status: fr.kind, detail: fr.kind === "invalid" ? fr.reason : "unterminated bytes at the end of the file" };
      }
    }
  }
}
