/**
 * Reading records in seq order across segments: seek by segment name (binary search) and the
 * sparse index of sealed segments, then decode. Cursors are seqs; `hint` is a position
 * (segment + offset) a follower remembers to avoid re-reading, never trusted past a listing.
 */
import { SnapError } from "@snap/schema";
import { isCode, type FsSeam, type SeamFile } from "@snap/fs";
import { join } from "node:path";
import { dataEnd, lastOkRecord, splitFrames, windowEnd, type DecodedRecord, type Frame } from "./decode.js";
import { indexName, nextChain } from "./format.js";
import { listSegments, readRange, type JournalPaths, type SegmentEntry } from "./files.js";

/** Readers decode segments in chunks of this size (bounded memory, cheap seeks). */
const READ_CHUNK = 1024 * 1024;

export type RecoveryMode = "tolerate-tail" | "absolute" | "point-in-time" | "salvage";

export interface ReadItem {
  rec: DecodedRecord;
  segment: string;
  start: number;
  end: number;
  /** Chain value after this record, when the scan started at its segment's beginning. */
  chain: string | undefined;
}

export interface ReaderContext {
  fs: FsSeam;
  paths: JournalPaths;
  storeId: () => string | undefined;
  recovery: RecoveryMode;
  /** Called for every corrupt range skipped in salvage mode. */
  onSkip?: (what: { segment: string; start: number; end: number; reason: string }) => void;
}

export interface ScanRequest {
  fromSeq: number;
  toSeq?: number;
  hint?: { segment: string; offset: number };
  /** Also read archive/segments (verify, doctor). */
  includeArchive?: boolean;
  /** Start at the beginning of the segment holding fromSeq (to compute chain values). */
  fromSegmentStart?: boolean;
  /** Called when a segment has been read to its end (follow keeps its position). */
  onPosition?: (segment: string, offset: number) => void;
}

export async function segmentsFor(ctx: ReaderContext, includeArchive: boolean): Promise<SegmentEntry[]> {
  const live = await listSegments(ctx.fs, ctx.paths.segments);
  if (!includeArchive) return live;
  const archived = await listSegments(ctx.fs, ctx.paths.archiveSegments);
  const liveNames = new Set(live.map((s) => s.name));
  return [...archived.filter((s) => !liveNames.has(s.name)), ...live].sort((a, b) => a.firstSeq - b.firstSeq);
}

/** Byte offset in a sealed segment at or before the record with `seq` (sparse index), or 0. */
export async function indexOffset(ctx: ReaderContext, seg: SegmentEntry, seq: number): Promise<number> {
  let entries: [number, number][];
  try {
    const dir = seg.path.slice(0, seg.path.length - seg.name.length);
    const raw = JSON.parse((await readRange(ctx.fs, join(dir, indexName(seg.name)), 0)).toString("utf8")) as {
      type?: unknown;
      entries?: unknown;
    };
    if (raw.type !== "journal_index" || !Array.isArray(raw.entries)) return 0;
    entries = raw.entries as [number, number][];
  } catch {
    return 0; // no index (active segment) or unreadable: scan from the start
  }
  let lo = 0;
  let hi = entries.length - 1;
  let best = 0;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const e = entries[mid]!;
    if (e[0] <= seq) {
      best = e[1];
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return best;
}

function corrupt(ctx: ReaderContext, segment: string, start: number, end: number, reason: string): "skip" | "stop" {
  if (ctx.recovery === "salvage") {
    ctx.onSkip?.({ segment, start, end, reason });
    return "skip";
  }
  if (ctx.recovery === "point-in-time") return "stop";
  throw new SnapError("journal_corrupt", `journal segment ${segment} bytes ${start}-${end}: ${reason}`, {
    data: { segment, byte_start: start, byte_end: end, reason },
    hint: "run doctor() to classify the damage; open with recovery 'salvage' to skip it or 'point-in-time' to cut the log there",
  });
}

/** Seq-bearing records (events, notes, seq repairs) with seq in [fromSeq, toSeq], in file order. */
export function scanRecords(ctx: ReaderContext, req: ScanRequest): AsyncGenerator<ReadItem> {
  return scanCore(ctx, req, (rec, segment, start, end, chain) => ({ rec, segment, start, end, chain })) as AsyncGenerator<ReadItem>;
}

/** A cursor below the oldest live segment: the records before `oldestSeq` were archived (or lost). */
export interface ScanGap {
  gap: true;
  /** The oldest seq still in segments/ (the read continues from here). */
  oldestSeq: number;
  /** The cursor that fell into archived history. */
  fromSeq: number;
}

/** What a reader does when its cursor is below the oldest live segment (without includeArchive). */
export type GapPolicy = "yield" | "error" | ((gap: ScanGap) => void);

export function gapError(gap: ScanGap): SnapError {
  return new SnapError("journal_gap", `records ${gap.fromSeq}..${gap.oldestSeq - 1} are not in segments/ (archived)`, {
    data: { from_seq: gap.fromSeq, oldest_seq: gap.oldestSeq },
    hint: "read with includeArchive to read archive/ too, with onGap 'yield' to continue at the oldest live record, or rebuild from state()",
  });
}

/** Turns a seq-bearing record into what a reader yields (undefined: skip it). */
export type Pick<T> = (rec: DecodedRecord, segment: string, start: number, end: number, chain: string | undefined) => T | undefined;

/**
 * The scanner behind every reader, one record per `next()`: the records of scanBatches handed
 * out by a RecordIterator (one resolved promise per record, one async hop per batch).
 * `onGap` (without includeArchive): what to do when fromSeq is below the oldest live segment
 * (undefined: start at the oldest live segment, for internal callers that check themselves).
 */
export function scanCore<T>(ctx: ReaderContext, req: ScanRequest & { onGap?: GapPolicy }, pick: Pick<T>): AsyncGenerator<T | ScanGap> {
  return new RecordIterator<T | ScanGap>(scanBatches(ctx, req, pick));
}

/**
 * The scanner behind every reader: `pick` turns each seq-bearing record into what is yielded
 * (undefined: skip it). It yields the picked records of each decoded window as one array (in
 * file order, never empty); a gap marker is yielded as an array of its own. When a window holds
 * an error (corrupt bytes, foreign or missing segment), the records before it are yielded
 * first, then it is thrown: a reader sees exactly what a record-at-a-time scan shows it.
 */
export async function* scanBatches<T>(ctx: ReaderContext, req: ScanRequest & { onGap?: GapPolicy }, pick: Pick<T>): AsyncGenerator<(T | ScanGap)[]> {
  const segs = await segmentsFor(ctx, req.includeArchive ?? false);
  if (segs.length === 0) return;
  let fromSeq = req.fromSeq;
  if (req.onGap !== undefined && !req.includeArchive && req.hint === undefined && fromSeq < segs[0]!.firstSeq) {
    const gap: ScanGap = { gap: true, oldestSeq: segs[0]!.firstSeq, fromSeq };
    if (req.onGap === "error") throw gapError(gap);
    if (req.onGap === "yield") yield [gap];
    else req.onGap(gap);
    fromSeq = gap.oldestSeq;
  }
  const toSeq = req.toSeq ?? Number.POSITIVE_INFINITY;
  let i = -1;
  let offset = 0;
  if (req.hint !== undefined) {
    i = segs.findIndex((s) => s.name === req.hint!.segment);
    if (i >= 0) offset = req.hint.offset;
  }
  if (i < 0) {
    // Largest segment whose first seq <= fromSeq.
    let lo = 0;
    let hi = segs.length - 1;
    i = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (segs[mid]!.firstSeq <= fromSeq) {
        i = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    offset = req.fromSegmentStart || i === segs.length - 1 ? 0 : await indexOffset(ctx, segs[i]!, fromSeq);
  }
  const picker = new FramePicker(ctx, req.fromSegmentStart ?? false, fromSeq, toSeq, pick);
  const buffers = new ChunkBuffers();
  for (; i < segs.length; i++) {
    const seg = segs[i]!;
    const isLast = i === segs.length - 1;
    // One handle per segment (a rename into archive/ meanwhile does not disturb it), and the
    // next chunk is read while this one is decoded.
    let file: SeamFile;
    try {
      file = await ctx.fs.open(seg.path, "r");
    } catch (err) {
      if (!isCode(err, "ENOENT")) throw err;
      // Archived (moved) between the listing and the read: it is in archive/segments/.
      try {
        file = await ctx.fs.open(join(ctx.paths.archiveSegments, seg.name), "r");
      } catch (err2) {
        if (!isCode(err2, "ENOENT")) throw err2;
        throw new SnapError("journal_gap", `segment ${seg.name} disappeared while being read`, { data: { segment: seg.name }, hint: "read again" });
      }
    }
    let ahead: { from: number; to: number; p: Promise<Buffer> } | undefined;
    try {
      const size = (await file.stat()).size;
      picker.startSegment(seg.name, isLast, offset);
      let pos = offset;
      let want = READ_CHUNK;
      while (pos < size) {
        const stop = Math.min(size, pos + want);
        if (ahead !== undefined && (ahead.from !== pos || ahead.to !== stop)) await ahead.p.catch(() => undefined); // its buffer is reused
        const buf = ahead !== undefined && ahead.from === pos && ahead.to === stop ? await ahead.p : await readChunk(file, pos, stop, buffers);
        ahead = undefined;
        const atEof = stop >= size || buf.length < stop - pos;
        // At the end of the file, a NUL run is preallocated space (FORMAT.md "Preallocation").
        let usable = atEof ? dataEnd(buf) : buf.length;
        if (!atEof) {
          const nl = buf.lastIndexOf(0x0a);
          if (nl === -1) {
            want *= 2; // one line longer than the chunk
            continue;
          }
          usable = nl + 1;
        }
        want = READ_CHUNK;
        const chunk = buf.subarray(0, usable);
        const base = pos;
        pos += usable;
        // An unbounded read fetches the next chunk while decoding this one; a bounded one only
        // when this chunk's last record is below toSeq (a seek reads no more than it needs).
        if (!atEof) {
          let fetch = toSeq === Number.POSITIVE_INFINITY;
          if (!fetch) {
            const last = lastOkRecord(chunk);
            fetch = last === undefined || typeof last.record.seq !== "number" || last.record.seq < toSeq;
          }
          if (fetch) {
            const from = pos;
            const to = Math.min(size, from + READ_CHUNK);
            const p = readChunk(file, from, to, buffers);
            p.catch(() => undefined); // awaited when used (or before close)
            ahead = { from, to, p };
          }
        }
        for (let w = 0; w < usable; ) {
          const wEnd = windowEnd(chunk, w);
          const frames = splitFrames(chunk.subarray(w, wEnd), base + w, atEof && wEnd === usable);
          w = wEnd;
          const out: (T | ScanGap)[] = [];
          let finished: boolean;
          try {
            finished = picker.take(frames, out);
          } catch (err) {
            // The records before the error first, as a record-at-a-time scan shows them.
            if (out.length > 0) yield out;
            throw err;
          }
          if (out.length > 0) yield out;
          if (finished) return;
        }
        if (atEof) break;
      }
      req.onPosition?.(seg.name, picker.lastEnd);
    } finally {
      if (ahead !== undefined) await ahead.p.catch(() => undefined); // never close under a read
      await file.close();
    }
    offset = 0;
  }
}

/**
 * The per-record half of scanBatches: what a scan carries from one window to the next, and
 * the loop that turns a window's frames into picked records. A plain class rather than code
 * inside the scanBatches generator: V8 drops optimized code when objects it embedded die (a
 * finished read's), and the whole generator with this loop inside was then recompiled two or
 * three times a read at ~40 ms of background compilation each (--trace-opt): CPU that a
 * 2-vCPU machine's read-ahead and decoding waited for. This small loop recompiles cheaply
 * (compilation over 10 reads of 100k records ~920 -> ~580 ms, CPU per record ~10% less).
 */
class FramePicker<T> {
  /** Invalid lines of the segment not yet followed by a record (a note may adjudicate them). */
  private pending: { start: number; end: number; reason: string }[] = [];
  /** Chain after the last record, when the scan started at its segment's beginning. */
  private chain: string | undefined;
  private segment = "";
  private isLast = false;
  /** End of the segment's last ok record (where a follower resumes). */
  lastEnd = 0;
  /** Seq of the last seq-bearing record read (the next segment's header must continue it). */
  private prevLast: number | undefined;

  constructor(
    private readonly ctx: ReaderContext,
    private readonly fromSegmentStart: boolean,
    private readonly fromSeq: number,
    private readonly toSeq: number,
    private readonly pick: Pick<T>,
  ) {}

  startSegment(segment: string, isLast: boolean, offset: number): void {
    this.segment = segment;
    this.isLast = isLast;
    this.pending = [];
    this.chain = undefined;
    this.lastEnd = offset;
  }

  /**
   * Pushes the picked records of one window's frames onto `out`, in file order. True when the
   * scan ends in this window (toSeq passed, point-in-time cut). Throws what the scan throws
   * (corrupt bytes, foreign or missing segment); `out` then holds the records before it.
   */
  take(frames: readonly Frame[], out: (T | ScanGap)[]): boolean {
    const { ctx, segment } = this;
    for (const fr of frames) {
      if (fr.kind === "invalid") {
        this.pending.push(fr);
        continue;
      }
      if (fr.kind === "fragment") {
        // Only in the last window of a chunk at end of file: nothing follows it. The newest
        // segment's tail fragment is a write in progress or crash residue: stop here.
        return !this.isLast && corrupt(ctx, segment, fr.start, fr.end, "bytes after the last record of a segment that is not the newest") === "stop";
      }
      const rec = fr.record;
      if (this.pending.length > 0) {
        const adj = rec.type === "journal_note" && rec.kind === "torn_tail_adjudicated";
        for (const p of this.pending) {
          if (adj && p.start >= (rec.byte_start as number) && p.end <= (rec.byte_end as number) + 1) continue;
          if (corrupt(ctx, segment, p.start, p.end, p.reason) === "stop") return true;
        }
        this.pending = [];
      }
      this.lastEnd = fr.end;
      if (rec.type === "journal_header") {
        const storeId = ctx.storeId();
        if (storeId !== undefined && rec.store_id !== storeId && ctx.recovery !== "salvage") {
          throw new SnapError("journal_foreign_segment", `segment ${segment} belongs to store ${String(rec.store_id)}, not ${storeId}`, {
            data: { segment, found: rec.store_id, expected: storeId },
            hint: "move the segment out of segments/; it was copied from another store",
          });
        }
        const prevLast = this.prevLast;
        if (prevLast !== undefined && rec.first_seq !== prevLast + 1 && ctx.recovery !== "salvage") {
          throw new SnapError("journal_segment_missing", `records ${prevLast + 1}..${Number(rec.first_seq) - 1} are missing before segment ${segment}`, {
            data: { segment, expected_first_seq: prevLast + 1, found_first_seq: rec.first_seq },
            hint: "restore the missing segment from a backup, or open with recovery 'point-in-time' or 'salvage'",
          });
        }
        // Chain values are computed only for callers that start at segment starts (checkpoint).
        this.chain = this.fromSegmentStart ? String(rec.prev_chain) : undefined;
        continue;
      }
      if (typeof rec.seq !== "number") continue; // seal
      if (this.chain !== undefined) this.chain = nextChain(this.chain, rec.crc);
      this.prevLast = rec.seq;
      if (rec.seq < this.fromSeq) continue;
      if (rec.seq > this.toSeq) return true;
      const picked = this.pick(rec, segment, fr.start, fr.end, this.chain);
      if (picked !== undefined) out.push(picked);
    }
    return false;
  }
}

/**
 * An async iterator over a batched scan (scanBatches): one item per `next()`, as an async
 * generator yields them, but an item already decoded is handed out with one resolved promise
 * instead of a generator's rounds of microtasks. Calls are answered in order (a call made
 * while a batch is being fetched waits for it). `return()` (a `break` out of `for await`)
 * and `throw()` reach the scan, which closes its file.
 */
export class RecordIterator<T> implements AsyncGenerator<T, undefined, undefined> {
  private batch: readonly T[] = [];
  private at = 0;
  /** A fetch in progress: later calls wait for it. */
  private fetching: Promise<IteratorResult<T, undefined>> | undefined;

  constructor(private readonly source: AsyncGenerator<T[], unknown, undefined>) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<T, undefined>> {
    if (this.fetching !== undefined) {
      const again = () => this.next();
      return this.fetching.then(again, again);
    }
    if (this.at < this.batch.length) return Promise.resolve({ value: this.batch[this.at++]!, done: false });
    const fetching = this.source.next().then(
      (r): IteratorResult<T, undefined> => {
        this.fetching = undefined;
        if (r.done === true) {
          this.batch = [];
          this.at = 0;
          return { value: undefined, done: true };
        }
        this.batch = r.value;
        this.at = 1;
        return { value: r.value[0]!, done: false };
      },
      (err: unknown) => {
        this.fetching = undefined;
        throw err;
      },
    );
    this.fetching = fetching;
    return fetching;
  }

  async return(): Promise<IteratorResult<T, undefined>> {
    if (this.fetching !== undefined) await this.fetching.catch(() => undefined);
    this.batch = [];
    this.at = 0;
    await this.source.return(undefined);
    return { value: undefined, done: true };
  }

  async throw(err: unknown): Promise<IteratorResult<T, undefined>> {
    if (this.fetching !== undefined) await this.fetching.catch(() => undefined);
    this.batch = [];
    this.at = 0;
    await this.source.throw(err);
    return { value: undefined, done: true };
  }
}
// Whatever the runtime gives every async iterator (Symbol.asyncDispose on newer Node) it gets too.
Object.setPrototypeOf(RecordIterator.prototype, Object.getPrototypeOf(Object.getPrototypeOf(Object.getPrototypeOf((async function* () {})()))) as object);

/**
 * The two buffers a scan reads its chunks into, in turn: the chunk being decoded and the one
 * being read ahead (by the time a third chunk is read, the first is decoded: records hold
 * strings, never views of the bytes). A fresh 1 MiB buffer per chunk is external memory that
 * V8 answers with full mark-compacts (one or two per 100 MiB read) and page faults on every
 * read.
 */
class ChunkBuffers {
  private readonly bufs: (Buffer | undefined)[] = [undefined, undefined];
  private turn = 0;

  /** A buffer of at least `len` bytes; the one handed out two calls ago is no longer in use. */
  take(len: number): Buffer {
    const k = this.turn;
    this.turn ^= 1;
    const have = this.bufs[k];
    if (have !== undefined && have.length >= len) return have;
    const buf = Buffer.allocUnsafe(len);
    this.bufs[k] = buf;
    return buf;
  }
}

async function readChunk(file: SeamFile, from: number, to: number, buffers: ChunkBuffers): Promise<Buffer> {
  const len = Math.max(0, to - from);
  const buf = buffers.take(len);
  let off = 0;
  while (off < len) {
    const n = await file.read(buf, off, len - off, from + off);
    if (n === 0) break;
    off += n;
  }
  return off === buf.length ? buf : buf.subarray(0, off);
}
