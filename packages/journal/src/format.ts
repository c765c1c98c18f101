/**
 * The journal's record encoder: the only code that produces journal bytes (FORMAT.md).
 *
 * Framing: "\n" + json + "\n", one buffer, one write. `json`'s last member is
 * `"crc":"xxxxxxxx"`, the CRC-32 of the JSON bytes before it (up to and including the comma).
 */
import { crc32Range, crc32String } from "./crc32.js";

export const FORMAT_VERSION = 1;
/** A framed record larger than this is refused before anything is written. */
export const MAX_RECORD_BYTES = 256 * 1024;
/** A framed record larger than this is written with a warning. */
export const WARN_RECORD_BYTES = 64 * 1024;
/** Length of the fixed suffix `"crc":"xxxxxxxx"}`. */
export const CRC_SUFFIX_BYTES = 17;
export const ZERO_CHAIN = "00000000";
export const DEFAULT_SEGMENT_BYTES = 16 * 1024 * 1024;
/** Sparse index: one entry at least every this many bytes of segment. */
export const INDEX_EVERY_BYTES = 4096;

const NL = 0x0a;
const COMMA = 0x2c;

/**
 * Written just before a torn_tail_adjudicated note (same write): it ends the fragment's line
 * as an invalid one, so a torn record that lacks only its final "\n" never becomes valid.
 */
export const ADJUDICATION_MARKER = Buffer.from("!");

export function crcHex(value: number): string {
  return (value >>> 0).toString(16).padStart(8, "0");
}

export function crcOf(bytes: Uint8Array, seed = 0): number {
  return crc32Range(bytes, 0, bytes.length, seed);
}

/** chain' = crc32(crc_hex, chain). */
export function nextChain(chain: string, recordCrc: string): string {
  return crcHex(crc32String(recordCrc, parseInt(chain, 16)));
}

/**
 * Encodes one record object (members in the order given; no `crc` member) as the JSON line
 * with its crc appended. Returns the line without framing.
 */
export function encodeLine(record: Record<string, unknown>): { line: string; crc: string } {
  const json = JSON.stringify(record);
  if (json.length < 2 || json[0] !== "{" || json[json.length - 1] !== "}") {
    throw new TypeError("a journal record must be a JSON object");
  }
  const body = json.length === 2 ? "{" : json.slice(0, -1) + ",";
  const crc = crcHex(crc32String(body));
  return { line: `${body}"crc":"${crc}"}`, crc };
}

/** Frames an already serialized JSON object (members in on-disk order, no `crc`). */
export function frameJson(json: string): { bytes: Buffer; crc: string } {
  const body = json.length === 2 ? "{" : json.slice(0, -1) + ",";
  const crc = crcHex(crc32String(body));
  const line = `${body}"crc":"${crc}"}`;
  const bytes = Buffer.allocUnsafe(Buffer.byteLength(line) + 2);
  bytes[0] = NL;
  const n = bytes.write(line, 1, "utf8");
  bytes[n + 1] = NL;
  return { bytes, crc };
}

/**
 * Frames a journal_event whose payload was serialized once already (`payloadJson`): the same
 * bytes as frameRecord(eventRecord({...f, payload})), since payload is the envelope's last member.
 */
export function frameEvent(f: Omit<EnvelopeFields, "payload">, payloadJson: string | undefined): { bytes: Buffer; crc: string } {
  let json = JSON.stringify(eventRecord({ ...f, payload: undefined }));
  if (payloadJson !== undefined && f.payload_ref === undefined) json = `${json.slice(0, -1)},"payload":${payloadJson}}`;
  return frameJson(json);
}

/**
 * The caller's part of a journal_event, encoded once when the record is checked (strings
 * escaped as JSON.stringify does): everything but seq, ts, writer, lg and entity_rev, which a
 * round fills in. The payload's JSON stays one string, written once into the record's buffer
 * (never concatenated, re-encoded or copied in between).
 */
export interface EncodedEventInput {
  /** `,"action":<json>,"item_type":<json>,"item_id":<json>,"entity_rev":` */
  keysJson: string;
  /** `,"payload":` or `,"payload_ref":` or "" (delete). */
  payloadKey: string;
  /** The payload's (or payload_ref's) JSON; "" on delete. */
  payloadJson: string;
}

/** Strings JSON.stringify leaves as they are, between quotes: printable ASCII without `"` and `\`. */
const JSON_PLAIN_RE = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/** JSON.stringify(s), without its cost for the common plain string. */
export function jsonString(s: string): string {
  return JSON_PLAIN_RE.test(s) ? `"${s}"` : JSON.stringify(s);
}

/** Encodes the caller's part of an event (see EncodedEventInput); `payloadJson` is JSON.stringify(payload). */
export function encodeEventInput(
  action: string,
  itemType: string,
  itemId: string,
  payloadJson: string | undefined,
  payloadRef: { sha256: string; bytes: number } | undefined,
): EncodedEventInput {
  const keysJson = `,"action":${jsonString(action)},"item_type":${jsonString(itemType)},"item_id":${jsonString(itemId)},"entity_rev":`;
  if (payloadRef !== undefined) {
    return { keysJson, payloadKey: ',"payload_ref":', payloadJson: `{"sha256":${jsonString(payloadRef.sha256)},"bytes":${payloadRef.bytes}}` };
  }
  if (payloadJson === undefined) return { keysJson, payloadKey: "", payloadJson: "" };
  return { keysJson, payloadKey: ',"payload":', payloadJson };
}

const EVENT_PREFIX = '{"type":"journal_event","schema_version":1,"seq":';
/** Digits of Number.MAX_SAFE_INTEGER: the widest seq, lg or entity_rev. */
const MAX_INT_DIGITS = String(Number.MAX_SAFE_INTEGER).length;
const CRC_OPEN = '"crc":"';

function eventHead(seq: number, tsJson: string, writerJson: string, lg: number, e: EncodedEventInput, entityRev: number): string {
  return `${EVENT_PREFIX}${seq},"ts":${tsJson},"writer":${writerJson},"lg":${lg}${e.keysJson}${entityRev}${e.payloadKey}`;
}

/**
 * Frames a journal_event from pre-encoded parts: byte for byte what
 * frameRecord(eventRecord(...)) produces (tested). The head (type .. entity_rev and the
 * payload's key) and the payload's JSON are each written once into the record's buffer, the
 * CRC computed over the buffer. `tsJson` and `writerJson` are JSON strings (with quotes).
 */
export function frameEventEncoded(seq: number, tsJson: string, writerJson: string, lg: number, e: EncodedEventInput, entityRev: number): Buffer {
  const head = eventHead(seq, tsJson, writerJson, lg, e, entityRev);
  const bytes = Buffer.allocUnsafe(Buffer.byteLength(head) + Buffer.byteLength(e.payloadJson) + 1 + CRC_SUFFIX_BYTES + 2);
  writeEvent(bytes, 0, head, e);
  return bytes;
}

/**
 * frameEventEncoded into `target` at `offset` (a writer's reused buffer: no allocation, and
 * memory that is already in cache); returns the framed length. `target` must have room for
 * eventSizeBound() bytes at `offset` (RangeError otherwise, nothing written).
 */
export function frameEventInto(target: Buffer, offset: number, seq: number, tsJson: string, writerJson: string, lg: number, e: EncodedEventInput, entityRev: number): number {
  const head = eventHead(seq, tsJson, writerJson, lg, e, entityRev);
  // UTF-8 takes at most 3 bytes per UTF-16 unit: with that much room write() cannot truncate;
  // with less, the exact length decides (eventSizeBound is exact for large records).
  const fixed = 1 + CRC_SUFFIX_BYTES + 2;
  if (offset + 3 * (head.length + e.payloadJson.length) + fixed > target.length && offset + Buffer.byteLength(head) + Buffer.byteLength(e.payloadJson) + fixed > target.length) {
    throw new RangeError("frameEventInto: no room for the record");
  }
  return writeEvent(target, offset, head, e);
}

/**
 * Writes "\n" + body + crc suffix + "\n" at `at` (room checked by the caller). The CRC is
 * chosen by length as everywhere (crc32.ts): for a 1 KiB record zlib's binding costs about
 * what the table loop does once both are compiled, and nothing before (the table loop runs
 * interpreted for its first few dozen calls, 30-70 µs each).
 */
function writeEvent(bytes: Buffer, at: number, head: string, e: EncodedEventInput): number {
  bytes[at] = NL;
  let n = 1 + bytes.write(head, at + 1, "utf8");
  if (e.payloadJson.length > 0) n += bytes.write(e.payloadJson, at + n, "utf8");
  bytes[at + n] = COMMA; // the body ends here: json up to and including the comma before "crc"
  writeCrcSuffix(bytes, at + n + 1, crc32Range(bytes, at + 1, at + n + 1));
  bytes[at + n + CRC_SUFFIX_BYTES + 1] = NL;
  return n + CRC_SUFFIX_BYTES + 2;
}

const CRC_SUFFIX_OPEN = Buffer.from(CRC_OPEN, "latin1");
/** ASCII codes of crcHex's digits (lowercase hex). */
const HEX_DIGITS = Buffer.from("0123456789abcdef", "latin1");

/** `"crc":"xxxxxxxx"}` at `at`: crcHex's spelling, stored byte by byte (no string built). */
function writeCrcSuffix(bytes: Buffer, at: number, crc: number): void {
  for (let k = 0; k < 7; k++) bytes[at + k] = CRC_SUFFIX_OPEN[k]!;
  for (let k = 0; k < 8; k++) bytes[at + 7 + k] = HEX_DIGITS[(crc >>> (28 - 4 * k)) & 15]!;
  bytes[at + 15] = 0x22; // "
  bytes[at + 16] = 0x7d; // }
}

/**
 * An upper bound of the framed length of an event with the widest seq/lg/entity_rev (the size
 * checks of prepare and the room of a round). Counted as 3 bytes per UTF-16 unit when that
 * stays at or below `exactAbove` (no string is scanned), exact above it, so the refusal
 * (MAX_RECORD_BYTES) and the warning (WARN_RECORD_BYTES) thresholds see exact sizes.
 */
export function eventSizeBound(tsJson: string, writerJson: string, e: EncodedEventInput, exactAbove = WARN_RECORD_BYTES): number {
  const fixed = 1 + CRC_SUFFIX_BYTES + 2;
  // The head at its widest: EVENT_PREFIX, then seq, ts, writer, lg, the keys, entity_rev, the payload's key.
  const numbers = 3 * MAX_INT_DIGITS;
  const units = EVENT_PREFIX.length + ',"ts":,"writer":,"lg":'.length + tsJson.length + writerJson.length + e.keysJson.length + e.payloadKey.length;
  const loose = 3 * (units + e.payloadJson.length) + numbers + fixed;
  if (loose <= exactAbove) return loose;
  const head = `${EVENT_PREFIX}${Number.MAX_SAFE_INTEGER},"ts":${tsJson},"writer":${writerJson},"lg":${Number.MAX_SAFE_INTEGER}${e.keysJson}${Number.MAX_SAFE_INTEGER}${e.payloadKey}`;
  return Buffer.byteLength(head) + Buffer.byteLength(e.payloadJson) + fixed;
}

/** Encodes and frames one record: "\n" + json + "\n". */
export function frameRecord(record: Record<string, unknown>): { bytes: Buffer; crc: string } {
  const { line, crc } = encodeLine(record);
  const bytes = Buffer.allocUnsafe(Buffer.byteLength(line) + 2);
  bytes[0] = NL;
  const n = bytes.write(line, 1, "utf8");
  bytes[n + 1] = NL;
  return { bytes, crc };
}

/** Segment file name for a segment whose first record has `firstSeq`. */
export function segmentName(firstSeq: number): string {
  return `${String(firstSeq).padStart(20, "0")}.ndjson`;
}

export function indexName(segment: string): string {
  return segment.replace(/\.ndjson$/, ".idx.json");
}

export function checkpointName(headSeq: number): string {
  return `ckpt-${String(headSeq).padStart(20, "0")}.ndjson`;
}

const SEGMENT_RE = /^(\d{20})\.ndjson$/;
const CHECKPOINT_RE = /^ckpt-(\d{20})\.ndjson$/;

/** The first seq a segment name encodes, or undefined if it is not a segment name. */
export function parseSegmentName(name: string): number | undefined {
  const m = SEGMENT_RE.exec(name);
  return m ? Number(m[1]) : undefined;
}

export function parseCheckpointName(name: string): number | undefined {
  const m = CHECKPOINT_RE.exec(name);
  return m ? Number(m[1]) : undefined;
}

// ---- record builders: the member order below is the on-disk order -------------------------

export interface EnvelopeFields {
  seq: number;
  ts: string;
  writer: string;
  lg: number;
  action: string;
  item_type: string;
  item_id: string;
  entity_rev: number;
  payload?: unknown;
  payload_ref?: { sha256: string; bytes: number };
}

export function eventRecord(f: EnvelopeFields): Record<string, unknown> {
  const r: Record<string, unknown> = {
    type: "journal_event",
    schema_version: 1,
    seq: f.seq,
    ts: f.ts,
    writer: f.writer,
    lg: f.lg,
    action: f.action,
    item_type: f.item_type,
    item_id: f.item_id,
    entity_rev: f.entity_rev,
  };
  if (f.payload_ref !== undefined) r.payload_ref = { sha256: f.payload_ref.sha256, bytes: f.payload_ref.bytes };
  else if (f.payload !== undefined) r.payload = f.payload;
  return r;
}

export interface HeaderFields {
  store_id: string;
  segment: string;
  first_seq: number;
  prev_last_seq: number;
  prev_chain: string;
  created_at: string;
  writer: string;
  lg: number;
}

export function headerRecord(f: HeaderFields): Record<string, unknown> {
  return { type: "journal_header", schema_version: 1, ...pick(f, ["store_id", "segment", "first_seq", "prev_last_seq", "prev_chain", "created_at", "writer", "lg"]) };
}

export interface SealFields {
  segment: string;
  first_seq: number;
  last_seq: number;
  count: number;
  bytes: number;
  chain: string;
  sealed_at: string;
  writer: string;
  lg: number;
}

export function sealRecord(f: SealFields): Record<string, unknown> {
  return { type: "journal_seal", schema_version: 1, ...pick(f, ["segment", "first_seq", "last_seq", "count", "bytes", "chain", "sealed_at", "writer", "lg"]) };
}

export type NoteKind = "torn_tail_adjudicated" | "acknowledged_lost" | "point_in_time_cut" | "salvage";
export type FragmentClass = "torn" | "zero_filled" | "garbage";

export interface NoteFields {
  seq: number;
  ts: string;
  writer: string;
  lg: number;
  kind: NoteKind;
  [extra: string]: unknown;
}

export function noteRecord(f: NoteFields): Record<string, unknown> {
  const { seq, ts, writer, lg, kind, ...rest } = f;
  return { type: "journal_note", schema_version: 1, seq, ts, writer, lg, kind, ...rest };
}

export interface SeqRepairFields {
  seq: number;
  ts: string;
  writer: string;
  lg: number;
  meta_next_seq: number;
  tail_seq: number;
}

export function seqRepairRecord(f: SeqRepairFields): Record<string, unknown> {
  return { type: "seq_repair", schema_version: 1, ...pick(f, ["seq", "ts", "writer", "lg", "meta_next_seq", "tail_seq"]) };
}

export interface CheckpointEntityFields {
  item_type: string;
  item_id: string;
  entity_rev: number;
  seq: number;
  deleted: boolean;
  payload?: unknown;
  payload_ref?: { sha256: string; bytes: number };
}

export function checkpointEntityRecord(f: CheckpointEntityFields): Record<string, unknown> {
  const r: Record<string, unknown> = {
    type: "journal_checkpoint_entity",
    schema_version: 1,
    item_type: f.item_type,
    item_id: f.item_id,
    entity_rev: f.entity_rev,
    seq: f.seq,
    deleted: f.deleted,
  };
  if (f.payload_ref !== undefined) r.payload_ref = f.payload_ref;
  else if (!f.deleted && f.payload !== undefined) r.payload = f.payload;
  return r;
}

export interface CheckpointFooterFields {
  store_id: string;
  head_seq: number;
  head_chain: string;
  count: number;
  sha256: string;
  created_at: string;
}

export function checkpointFooterRecord(f: CheckpointFooterFields): Record<string, unknown> {
  return { type: "journal_checkpoint_footer", schema_version: 1, ...pick(f, ["store_id", "head_seq", "head_chain", "count", "sha256", "created_at"]) };
}

export interface MetaFields {
  store_id: string;
  next_seq: number;
  durable_seq: number;
  active_segment: string;
  tail_offset: number;
  max_lg: number;
  updated_at: string;
}

export function encodeMeta(f: MetaFields): Buffer {
  const r = { type: "journal_meta", schema_version: 1, ...pick(f, ["store_id", "next_seq", "durable_seq", "active_segment", "tail_offset", "max_lg", "updated_at"]) };
  return Buffer.from(JSON.stringify(r, null, 2) + "\n");
}

export interface IndexFields {
  segment: string;
  first_seq: number;
  last_seq: number;
  entries: [number, number][];
}

export function encodeIndex(f: IndexFields): Buffer {
  return Buffer.from(
    JSON.stringify({ type: "journal_index", schema_version: 1, segment: f.segment, first_seq: f.first_seq, last_seq: f.last_seq, every_bytes: INDEX_EVERY_BYTES, entries: f.entries }) + "\n",
  );
}

function pick<T extends object, K extends keyof T>(obj: T, keys: K[]): Pick<T, K> {
  const out = {} as Pick<T, K>;
  for (const k of keys) out[k] = obj[k];
  return out;
}
