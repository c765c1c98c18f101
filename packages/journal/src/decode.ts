/**
 * The journal's decoder and classifier: the only code that interprets journal bytes
 * (FORMAT.md). `splitFrames` cuts a buffer into lines and classifies each (ok / invalid /
 * tail fragment); `classifyFragment` tells torn, zero-filled and garbage tails apart;
 * `scanSegment` checks one whole segment (header, seqs, lg, chain, seal, adjudications).
 */
import { isAscii } from "node:buffer";
import { createHash } from "node:crypto";
import { crc32Range } from "./crc32.js";
import { CRC_SUFFIX_BYTES, crcHex, nextChain, type FragmentClass } from "./format.js";

const NL = 0x0a;
const QUOTE = 0x22;
const BRACE_CLOSE = 0x7d;
const BRACE_OPEN = 0x7b;
const CRC_PREFIX = Buffer.from('"crc":"');

export type RecordType =
  | "journal_event"
  | "journal_note"
  | "seq_repair"
  | "journal_header"
  | "journal_seal"
  | "journal_checkpoint_entity"
  | "journal_checkpoint_footer";

const KNOWN_TYPES = new Set<string>([
  "journal_event",
  "journal_note",
  "seq_repair",
  "journal_header",
  "journal_seal",
  "journal_checkpoint_entity",
  "journal_checkpoint_footer",
]);

/** A seq-bearing record as decoded (events, notes, seq repairs). */
export interface DecodedRecord {
  type: string;
  schema_version: number;
  seq?: number;
  lg?: number;
  writer?: string;
  crc: string;
  [k: string]: unknown;
}

export type Frame =
  /** `start` is the offset of the line's first byte (`{`), `end` one past its terminating "\n". */
  | { kind: "ok"; start: number; end: number; record: DecodedRecord }
  /** A terminated line that is not a valid record. */
  | { kind: "invalid"; start: number; end: number; reason: string }
  /** Bytes after the last terminated line (only when the buffer reaches end of file). */
  | { kind: "fragment"; start: number; end: number };

/**
 * Checks one line `buf[start, end)` (without its terminator). Returns the record, or a reason
 * why it is not one.
 */
export function decodeLine(buf: Uint8Array, start: number, end: number, text?: string): DecodedRecord | string {
  const len = end - start;
  if (len < CRC_SUFFIX_BYTES + 2) return "short line";
  if (buf[start] !== BRACE_OPEN) return "not a JSON object";
  if (buf[end - 1] !== BRACE_CLOSE || buf[end - 2] !== QUOTE) return "no crc suffix";
  const s = end - CRC_SUFFIX_BYTES;
  for (let k = 0; k < CRC_PREFIX.length; k++) if (buf[s + k] !== CRC_PREFIX[k]) return "no crc suffix";
  const computed = crc32Range(buf, start, s);
  if (!hexMatches(buf, s + 7, computed)) {
    const hex = Buffer.from(buf.buffer, buf.byteOffset + s + 7, 8).toString("latin1");
    return `crc mismatch (stored ${hex}, computed ${crcHex(computed)})`;
  }
  // `text`: the whole buffer as a one-byte string when it is all ASCII (byte offsets are
  // string offsets): the line is read in place, with no UTF-8 decoding and no copy.
  const chars = text ?? Buffer.from(buf.buffer, buf.byteOffset + start, len).toString("utf8");
  const from = text !== undefined ? start : 0;
  const to = text !== undefined ? end : chars.length;
  const fast = decodeEventLine(chars, from, to);
  if (fast !== undefined) return fast;
  const line = chars.slice(from, to);
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return "crc ok but JSON does not parse";
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return "not a JSON object";
  const rec = parsed as DecodedRecord;
  const type = rec.type;
  if (type !== "journal_event" && (typeof type !== "string" || !KNOWN_TYPES.has(type))) return `unknown record type ${JSON.stringify(type)}`;
  if (rec.schema_version !== 1) return `unsupported schema_version ${String(rec.schema_version)}`;
  return rec;
}

/** `,"crc":"xxxxxxxx"}`: every line's last 18 characters (checked by decodeLine before). */
const CRC_TAIL = 18;

/** A string member's value as the fast path takes it: no escape, no control character. */
const PLAIN_STRING = '"[^"\\\\\\x00-\\x1f]*"';
/** A non-negative integer as JSON writes it: no sign, no leading zero, at most 15 digits (exact as a double). */
const SAFE_INT = "(?:0|[1-9][0-9]{0,14})";
/**
 * The envelope of a journal_event line exactly as format.ts's eventHead lays it out, from `{`
 * up to the payload, payload_ref or crc member. One sticky regular expression (compiled to
 * native code by V8) checks the literals and the string and number members in one pass:
 * about half the cost of matching them piece by piece in JavaScript (~220 vs ~420 ns a line).
 * It only tests; the members are read after it matched (numberAt, stringAt), which costs less
 * than exec's match array and capture strings (~25 ns and ~250 bytes a line).
 */
const EVENT_ENVELOPE = new RegExp(
  `\\{"type":"journal_event","schema_version":1,"seq":${SAFE_INT},"ts":${PLAIN_STRING},"writer":${PLAIN_STRING},"lg":${SAFE_INT},` +
    `"action":${PLAIN_STRING},"item_type":${PLAIN_STRING},"item_id":${PLAIN_STRING},"entity_rev":${SAFE_INT}`,
  "y",
);
const SEQ_AT = '{"type":"journal_event","schema_version":1,"seq":'.length;

/** Where the last numberAt or stringAt stopped: one past the member's value. */
let at = 0;

/** The number whose digits start at `p`, in an envelope EVENT_ENVELOPE accepted (at most 15 digits: exact). */
function numberAt(s: string, p: number): number {
  let n = 0;
  for (let c = s.charCodeAt(p); c >= 48 && c <= 57; c = s.charCodeAt(++p)) n = n * 10 + (c - 48);
  at = p;
  return n;
}

/** The string whose characters start at `p`, in an envelope EVENT_ENVELOPE accepted (no escape: it ends at the next quote). */
function stringAt(s: string, p: number): string {
  const q = s.indexOf('"', p);
  at = q + 1;
  return s.slice(p, q);
}

/**
 * The JSON value `s[from, to)`, or `undefined` (`undefined` never parses from JSON) when
 * that is not exactly one JSON value.
 */
function parseValue(s: string, from: number, to: number): unknown {
  try {
    return JSON.parse(s.slice(from, to));
  } catch {
    return undefined;
  }
}

/**
 * The journal_event line `s[from, to)` (all of `s` by default) exactly as this package's writer
 * lays it out (format.ts, eventHead: fixed members in a fixed order, then the payload or
 * payload_ref, then the crc), decoded without running JSON.parse over the envelope: the
 * envelope's eleven members cost more to parse generically than everything else a read does
 * per record. The payload is still JSON.parsed. Undefined for anything else (another record
 * type or member order, an escape or control character in a string, a number JSON.parse might
 * read differently, a payload that is not exactly one JSON value): decodeLine then JSON.parses
 * the line, so the record is always the one JSON.parse gives, members in the same order.
 * Taking a range lets a reader pass its window's text as is: a line sliced out of it first
 * makes every later access go through the slice (~100 ns a line).
 */
export function decodeEventLine(s: string, from = 0, to = s.length): DecodedRecord | undefined {
  EVENT_ENVELOPE.lastIndex = from;
  if (!EVENT_ENVELOPE.test(s)) return undefined;
  const end = EVENT_ENVELOPE.lastIndex;
  const crcAt = to - CRC_TAIL;
  if (end > crcAt || s.charCodeAt(crcAt) !== 0x2c) return undefined; // the comma before "crc"
  // The envelope matched: each value starts right after its key, in this order.
  const seq = numberAt(s, from + SEQ_AT);
  const ts = stringAt(s, at + ',"ts":"'.length);
  const writer = stringAt(s, at + ',"writer":"'.length);
  const lg = numberAt(s, at + ',"lg":'.length);
  const action = stringAt(s, at + ',"action":"'.length);
  const itemType = stringAt(s, at + ',"item_type":"'.length);
  const itemId = stringAt(s, at + ',"item_id":"'.length);
  const entityRev = numberAt(s, at + ',"entity_rev":'.length);
  const crc = s.slice(to - 10, to - 2);
  // Members in the writer's order (eventRecord's): the envelope, the payload if any, the crc.
  // One literal per layout rather than one record with the payload member added by key: a
  // literal is built in its final shape at once (~40 ns a record less).
  if (end === crcAt) return { type: "journal_event", schema_version: 1, seq, ts, writer, lg, action, item_type: itemType, item_id: itemId, entity_rev: entityRev, crc };
  if (s.slice(end, end + 11) === ',"payload":') {
    const payload = parseValue(s, end + 11, crcAt);
    if (payload === undefined) return undefined;
    return { type: "journal_event", schema_version: 1, seq, ts, writer, lg, action, item_type: itemType, item_id: itemId, entity_rev: entityRev, payload, crc };
  }
  if (s.slice(end, end + 15) === ',"payload_ref":') {
    const ref = parseValue(s, end + 15, crcAt);
    if (ref === undefined) return undefined;
    return { type: "journal_event", schema_version: 1, seq, ts, writer, lg, action, item_type: itemType, item_id: itemId, entity_rev: entityRev, payload_ref: ref, crc };
  }
  return undefined;
}

/** Whether the 8 bytes at `off` are `value` as lowercase hex (crcHex's spelling). */
function hexMatches(buf: Uint8Array, off: number, value: number): boolean {
  for (let k = 0; k < 8; k++) {
    const nib = (value >>> (28 - 4 * k)) & 15;
    if (buf[off + k] !== (nib < 10 ? 48 + nib : 87 + nib)) return false;
  }
  return true;
}

/** Buffers at least this long are checked for ASCII once and decoded as one string. */
const ASCII_TEXT_MIN = 4096;

/**
 * Splits `buf` (which starts at a line boundary: the start of a file or just after a "\n")
 * into frames. `base` is the file offset of `buf[0]`. When `atEof` is false, an unterminated
 * last line is not reported (it may still be being written).
 */
export function splitFrames(buf: Uint8Array, base = 0, atEof = true): Frame[] {
  const frames: Frame[] = [];
  let i = 0;
  const len = buf.length;
  const b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const text = len >= ASCII_TEXT_MIN && isAscii(b) ? b.toString("latin1") : undefined;
  while (i < len) {
    if (buf[i] === NL) {
      i++;
      continue;
    }
    // The one-byte text (when there is one) is searched without a call into the Buffer binding.
    const j = text !== undefined ? text.indexOf("\n", i) : buf.indexOf(NL, i);
    if (j === -1) {
      if (atEof) frames.push({ kind: "fragment", start: base + i, end: base + len });
      break;
    }
    const r = decodeLine(buf, i, j, text);
    if (typeof r === "string") frames.push({ kind: "invalid", start: base + i, end: base + j, reason: r });
    else frames.push({ kind: "ok", start: base + i, end: base + j + 1, record: r });
    i = j + 1;
  }
  return frames;
}

/**
 * Bytes are decoded in windows of about this many bytes (whole lines): each window's lines
 * are checked and parsed in one synchronous loop and its frames handed on at once. Small
 * enough that a window's records and text die young. That matters beyond memory: a caller
 * that kept a whole segment's frames alive (15k records of a 16 MiB segment, at seal) taught
 * V8's allocation-site pretenuring that these objects live long, and from then on every
 * reader in the process allocated its records in the old generation (replay ~30% slower:
 * promotion and mark-compacts). Large enough that the per-window async hop, ASCII check and
 * string conversion cost nothing per record.
 */
export const DECODE_WINDOW = 64 * 1024;

/** End (exclusive) of the window of whole lines starting at `from` in `chunk` (see DECODE_WINDOW). */
export function windowEnd(chunk: Uint8Array, from: number): number {
  const len = chunk.length;
  if (len - from <= DECODE_WINDOW) return len;
  const nl = chunk.lastIndexOf(NL, from + DECODE_WINDOW - 1);
  if (nl >= from) return nl + 1;
  // One line longer than the window: the window is that line.
  const next = chunk.indexOf(NL, from + DECODE_WINDOW);
  return next === -1 ? len : next + 1;
}

/**
 * splitFrames over `buf` one window of whole lines at a time (see DECODE_WINDOW): what every
 * caller that walks a whole segment or file uses, so that it holds one window's frames, not
 * the file's. Same frames, same order, same offsets as `splitFrames(buf, base, atEof)`.
 */
export function* frameWindows(buf: Uint8Array, base = 0, atEof = true): Generator<Frame[]> {
  for (let w = 0; w < buf.length; ) {
    const end = windowEnd(buf, w);
    yield splitFrames(buf.subarray(w, end), base + w, atEof && end === buf.length);
    w = end;
  }
}

/** NUL bytes, compared a block at a time (memcmp) by dataEnd. */
const NUL_BLOCK = Buffer.alloc(4096);

/**
 * End (exclusive) of the data in `buf[from..]`: the offset just after its last non-NUL byte
 * (`from` when there is none). What follows is preallocated space (see FORMAT.md
 * "Preallocation"): a record is JSON text plus newlines, which never holds a NUL byte.
 */
export function dataEnd(buf: Uint8Array, from = 0): number {
  let end = buf.length;
  if (end <= from || buf[end - 1] !== 0) return end;
  const b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const block = NUL_BLOCK.length;
  while (end - from >= block && b.compare(NUL_BLOCK, 0, block, end - block, end) === 0) end -= block;
  while (end > from && b[end - 1] === 0) end--;
  return end;
}

/**
 * Classifies a tail fragment: the bytes after the last ok record's terminating "\n" up to the
 * end of the file. `torn`: the unterminated prefix of a framed record ("\n{..." with no
 * further "\n", or a lone "\n"); `zero_filled`: only NUL bytes; otherwise `garbage`.
 */
export function classifyFragment(bytes: Uint8Array): FragmentClass {
  let allZero = true;
  for (let k = 0; k < bytes.length; k++) {
    if (bytes[k] !== 0) {
      allZero = false;
      break;
    }
  }
  if (allZero) return "zero_filled";
  if (bytes[0] === NL) {
    if (bytes.length === 1) return "torn";
    if (bytes[1] === BRACE_OPEN && bytes.indexOf(NL, 1) === -1) return "torn";
  }
  return "garbage";
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Finds the end (offset after its "\n") of the last ok record in `buf`; -1 if none. */
export function lastOkRecord(buf: Uint8Array, base = 0): { start: number; end: number; record: DecodedRecord } | undefined {
  // Walk lines backwards: the candidate line is (prevNL, nl).
  let nl = buf.lastIndexOf(NL);
  while (nl > 0) {
    const prev = buf.lastIndexOf(NL, nl - 1);
    if (prev === -1) {
      // The first line of the buffer: only valid if the buffer starts at a line boundary,
      // which the caller guarantees when base === 0 or buf starts after a "\n".
      const r = decodeLine(buf, 0, nl);
      if (typeof r !== "string") return { start: base, end: base + nl + 1, record: r };
      return undefined;
    }
    if (nl - prev > 1) {
      const r = decodeLine(buf, prev + 1, nl);
      if (typeof r !== "string") return { start: base + prev + 1, end: base + nl + 1, record: r };
    }
    nl = prev;
  }
  return undefined;
}

// ---- whole-segment check --------------------------------------------------------------------

export type AnomalyKind =
  | "corrupt"
  | "header_missing"
  | "header_mismatch"
  | "seq_gap"
  | "duplicate_seq"
  | "stale_writer"
  | "seal_mismatch"
  | "after_seal"
  | "foreign_segment"
  | "segment_missing"
  | "chain_break"
  | "tail_fragment";

export interface Anomaly {
  kind: AnomalyKind;
  segment: string;
  byte_start?: number;
  byte_end?: number;
  seq?: number;
  detail: string;
  fragment_class?: FragmentClass;
}

export interface Adjudication {
  segment: string;
  byte_start: number;
  byte_end: number;
  class: FragmentClass | "unknown";
  seq: number;
}

export interface SegmentScan {
  segment: string;
  /** Bytes of data: the file's length without its preallocated NUL tail. */
  bytes: number;
  /** Length of the preallocated NUL run at the end of the file (see dataEnd). */
  preallocated: number;
  header: DecodedRecord | undefined;
  seal: DecodedRecord | undefined;
  /** Seq-bearing ok records, in file order. */
  count: number;
  firstSeq: number | undefined;
  lastSeq: number | undefined;
  /** Chain after the last seq-bearing record (starts at the header's prev_chain). */
  chain: string;
  maxLg: number;
  anomalies: Anomaly[];
  adjudicated: Adjudication[];
  /** The unadjudicated tail fragment, if any. */
  fragment: { start: number; end: number; class: FragmentClass; sha256: string } | undefined;
  /** End offset of the last ok record (where a fragment starts). */
  okEnd: number;
  index: [number, number][];
}

export interface ScanOptions {
  /** Called for every seq-bearing ok record in file order. */
  onRecord?: (rec: DecodedRecord, start: number, end: number) => void;
  /** lg high-water mark carried over from earlier segments (stale-writer detection). */
  maxLgBefore?: number;
  /** Seq the first record should have (otherwise the header's first_seq). */
  expectSeq?: number;
  indexEveryBytes?: number;
}

/** Checks a whole segment file's bytes. Never throws on bad bytes: everything is an anomaly. */
export function scanSegment(segment: string, file: Uint8Array, opts: ScanOptions = {}): SegmentScan {
  // The preallocated NUL run at the end is free space, not data (nor a fragment).
  const buf = file.subarray(0, dataEnd(file));
  const scan: SegmentScan = {
    segment,
    bytes: buf.length,
    preallocated: file.length - buf.length,
    header: undefined,
    seal: undefined,
    count: 0,
    firstSeq: undefined,
    lastSeq: undefined,
    chain: "00000000",
    maxLg: opts.maxLgBefore ?? 0,
    anomalies: [],
    adjudicated: [],
    fragment: undefined,
    okEnd: 0,
    index: [],
  };
  const every = opts.indexEveryBytes ?? 4096;
  let lastIndexed = -Infinity;
  let pending: { start: number; end: number; reason: string }[] = [];
  let expect = opts.expectSeq;
  const seenSeqs = new Map<number, string>();
  /** Frames seen so far (the header must be the first). */
  let f = -1;
  for (const frames of frameWindows(buf)) for (const fr of frames) {
    f++;
    if (fr.kind === "invalid") {
      pending.push(fr);
      continue;
    }
    if (fr.kind === "fragment") {
      // Handled below (after the loop): bytes after the last ok record.
      continue;
    }
    const rec = fr.record;
    if (scan.seal !== undefined) {
      scan.anomalies.push({ kind: "after_seal", segment, byte_start: fr.start, byte_end: fr.end, detail: `a ${rec.type} record follows the seal` });
    }
    // Adjudication of pending invalid lines by this note.
    if (rec.type === "journal_note" && rec.kind === "torn_tail_adjudicated" && typeof rec.byte_start === "number" && typeof rec.byte_end === "number") {
      const bs = rec.byte_start;
      const be = rec.byte_end;
      const covered = pending.filter((p) => p.start >= bs && p.end <= be + 1);
      pending = pending.filter((p) => !(p.start >= bs && p.end <= be + 1));
      scan.adjudicated.push({ segment, byte_start: bs, byte_end: be, class: (rec.class as FragmentClass | undefined) ?? "unknown", seq: rec.seq ?? 0 });
      void covered;
    }
    for (const p of pending) {
      scan.anomalies.push({ kind: "corrupt", segment, byte_start: p.start, byte_end: p.end, detail: p.reason });
    }
    pending = [];
    scan.okEnd = fr.end;
    if (typeof rec.lg === "number") {
      if (rec.lg < scan.maxLg) {
        scan.anomalies.push({ kind: "stale_writer", segment, byte_start: fr.start, byte_end: fr.end, seq: rec.seq, detail: `lg ${rec.lg} after lg ${scan.maxLg} (writer ${String(rec.writer)})` });
      } else scan.maxLg = rec.lg;
    }
    if (rec.type === "journal_header") {
      if (f !== 0 || scan.header !== undefined) {
        scan.anomalies.push({ kind: "header_mismatch", segment, byte_start: fr.start, detail: "a header record that is not the first record" });
      } else {
        scan.header = rec;
        scan.chain = typeof rec.prev_chain === "string" ? rec.prev_chain : "00000000";
        if (rec.segment !== segment) {
          scan.anomalies.push({ kind: "header_mismatch", segment, detail: `header names segment ${String(rec.segment)}` });
        }
        if (expect === undefined && typeof rec.first_seq === "number") expect = rec.first_seq;
      }
      continue;
    }
    if (rec.type === "journal_seal") {
      scan.seal = rec;
      if (rec.last_seq !== (scan.lastSeq ?? (typeof scan.header?.first_seq === "number" ? scan.header.first_seq - 1 : undefined)) || rec.count !== scan.count || rec.bytes !== fr.start - 1 || rec.chain !== scan.chain) {
        scan.anomalies.push({
          kind: "seal_mismatch",
          segment,
          byte_start: fr.start,
          detail: `seal says last_seq ${String(rec.last_seq)} count ${String(rec.count)} bytes ${String(rec.bytes)} chain ${String(rec.chain)}; found ${String(scan.lastSeq)} / ${scan.count} / ${fr.start - 1} / ${scan.chain}`,
        });
      }
      continue;
    }
    if (typeof rec.seq !== "number") {
      scan.anomalies.push({ kind: "corrupt", segment, byte_start: fr.start, byte_end: fr.end, detail: `${rec.type} record without seq in a segment` });
      continue;
    }
    if (f === 0 && scan.header === undefined) {
      scan.anomalies.push({ kind: "header_missing", segment, detail: "the segment does not start with a journal_header" });
    }
    const seq = rec.seq;
    const prevWriter = seenSeqs.get(seq);
    if (prevWriter !== undefined || (scan.lastSeq !== undefined && seq <= scan.lastSeq)) {
      scan.anomalies.push({ kind: "duplicate_seq", segment, byte_start: fr.start, byte_end: fr.end, seq, detail: `seq ${seq} again (writer ${String(rec.writer)}, first by ${prevWriter ?? "?"}); file order wins` });
    } else if (expect !== undefined && seq !== expect) {
      scan.anomalies.push({ kind: "seq_gap", segment, byte_start: fr.start, seq, detail: `expected seq ${expect}, found ${seq}` });
    }
    seenSeqs.set(seq, String(rec.writer));
    if (scan.firstSeq === undefined) scan.firstSeq = seq;
    scan.lastSeq = scan.lastSeq === undefined ? seq : Math.max(scan.lastSeq, seq);
    expect = scan.lastSeq + 1;
    scan.count++;
    scan.chain = nextChain(scan.chain, rec.crc);
    if (fr.start - lastIndexed >= every) {
      scan.index.push([seq, fr.start]);
      lastIndexed = fr.start;
    }
    opts.onRecord?.(rec, fr.start, fr.end);
  }
  // Whatever follows the last ok record is the tail fragment.
  if (scan.okEnd < buf.length) {
    const bytes = buf.subarray(scan.okEnd);
    const isOnlyNewlines = bytes.every((b) => b === NL);
    if (!isOnlyNewlines || bytes.length > 1) {
      const cls = classifyFragment(bytes);
      scan.fragment = { start: scan.okEnd, end: buf.length, class: cls, sha256: sha256Hex(bytes) };
      if (scan.seal !== undefined) {
        scan.anomalies.push({ kind: "after_seal", segment, byte_start: scan.okEnd, byte_end: buf.length, detail: `${bytes.length} bytes (${cls}) after the seal` });
      }
    }
  }
  return scan;
}
