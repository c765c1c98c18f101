/**
 * Finding the tail of the active segment without reading the whole segment: its data end (the
 * preallocated NUL run skipped, at most ~1 MiB, read backwards), then the last ok
 * record and whatever follows it (the tail fragment). Reads at most the last 258 KiB in the
 * normal case (one record of at most 256 KiB plus framing), growing the window only when the
 * window holds no ok record at all (a large garbage tail).
 */
import type { FsSeam } from "@snap/fs";
import { classifyFragment, dataEnd, sha256Hex, splitFrames, type DecodedRecord } from "./decode.js";
import { MAX_RECORD_BYTES, type FragmentClass } from "./format.js";
import { readRange } from "./files.js";

const NL = 0x0a;

export interface TailFragment {
  start: number;
  end: number;
  class: FragmentClass;
  sha256: string;
}

export interface TailInfo {
  /** The file's size, preallocated NUL tail included. */
  size: number;
  /** End of the data: the offset after the last non-NUL byte (where the next write goes). */
  dataEnd: number;
  /** End of the last ok record (just after its "\n"). */
  okEnd: number;
  /** The last ok record, any type (header, seal, event, note...). */
  last: DecodedRecord | undefined;
  /** Highest seq among ok records in the window (or the seal's/header's value). */
  lastSeq: number;
  maxLg: number;
  sealed: boolean;
  fragment: TailFragment | undefined;
  /** Ok records in file order that were read (for catch-up callers). */
  records: DecodedRecord[];
  /** Terminated invalid lines followed by ok records (corruption seen while reading). */
  invalidMidWindow: { start: number; end: number; reason: string }[];
}

/**
 * Interprets `window` (file bytes `[base, base+window.length)`, `base` at a line boundary, the
 * window reaching the end of the data): a NUL run at its end is preallocated space.
 */
export function interpretWindow(window: Buffer, base: number, size: number, prior?: { lastSeq: number; maxLg: number; okEnd: number }): TailInfo {
  const buf = window.subarray(0, dataEnd(window));
  const frames = splitFrames(buf, base, true);
  const info: TailInfo = {
    size,
    dataEnd: base + buf.length,
    okEnd: prior?.okEnd ?? base,
    last: undefined,
    lastSeq: prior?.lastSeq ?? 0,
    maxLg: prior?.maxLg ?? 0,
    sealed: false,
    fragment: undefined,
    records: [],
    invalidMidWindow: [],
  };
  let pending: { start: number; end: number; reason: string }[] = [];
  for (const fr of frames) {
    if (fr.kind === "invalid") {
      pending.push(fr);
      continue;
    }
    if (fr.kind === "fragment") continue;
    const rec = fr.record;
    const adjudicates =
      rec.type === "journal_note" && rec.kind === "torn_tail_adjudicated" && typeof rec.byte_start === "number" && typeof rec.byte_end === "number";
    for (const p of pending) {
      if (!(adjudicates && p.start >= (rec.byte_start as number) && p.end <= (rec.byte_end as number) + 1)) info.invalidMidWindow.push(p);
    }
    pending = [];
    info.okEnd = fr.end;
    info.last = rec;
    info.records.push(rec);
    if (typeof rec.lg === "number" && rec.lg > info.maxLg) info.maxLg = rec.lg;
    if (typeof rec.seq === "number") {
      if (rec.seq > info.lastSeq) info.lastSeq = rec.seq;
      info.sealed = false;
    } else if (rec.type === "journal_seal") {
      info.sealed = true;
      if (typeof rec.last_seq === "number") info.lastSeq = Math.max(info.lastSeq, rec.last_seq);
    } else if (rec.type === "journal_header") {
      if (typeof rec.first_seq === "number") info.lastSeq = Math.max(info.lastSeq, rec.first_seq - 1);
    }
  }
  if (info.okEnd < info.dataEnd) {
    const bytes = buf.subarray(info.okEnd - base);
    info.fragment = { start: info.okEnd, end: info.dataEnd, class: classifyFragment(bytes), sha256: sha256Hex(bytes) };
  }
  return info;
}

/** The end of the data of a segment file of `size` bytes: its preallocated NUL tail skipped, a block at a time from the end. */
export async function findDataEnd(fs: FsSeam, path: string, size: number): Promise<number> {
  let hi = size;
  while (hi > 0) {
    const lo = Math.max(0, hi - NUL_SKIP_BLOCK);
    const end = dataEnd(await readRange(fs, path, lo, hi));
    if (end > 0) return lo + end;
    hi = lo;
  }
  return 0;
}

/** findDataEnd reads this much per step (the preallocated run is at most ~1 MiB). */
const NUL_SKIP_BLOCK = 256 * 1024;

/** Reads the tail of a segment file of `size` bytes (its preallocated NUL tail skipped). */
export async function readTail(fs: FsSeam, path: string, size: number): Promise<TailInfo> {
  const end = await findDataEnd(fs, path, size);
  let win = Math.min(end, MAX_RECORD_BYTES + 4096);
  for (;;) {
    const base = end - win;
    const buf = await readRange(fs, path, base, end);
    // Start at a line boundary: the file start, or just after the first "\n" in the window.
    let cut = 0;
    if (base > 0) {
      const nl = buf.indexOf(NL);
      cut = nl === -1 ? buf.length : nl + 1;
    }
    const info = interpretWindow(buf.subarray(cut), base + cut, size);
    if (info.last !== undefined || base === 0) return info;
    win = Math.min(end, win * 4);
  }
}
