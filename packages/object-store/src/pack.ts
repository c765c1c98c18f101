/**
 * Pack files (FORMAT.md, "Packs"): many small objects in one file, so a commit of ten
 * thousand small files creates a handful of files instead of twenty thousand (on ext4 each
 * new inode costs ~30-150 µs of kernel time, and each fsync one journal commit).
 *
 *   <dir>/pack/<name>.pack     name = the pack's trailing SHA-256, lowercase hex
 *
 *   offset        size      field
 *   0             8         magic "SNAPPACK"
 *   8             4         version (uint32 BE) = 1
 *   12            4         count N (uint32 BE)
 *   16            ...       object bytes, concatenated, in index order
 *   I             N x 44    index: oid (32 raw bytes) | offset (uint64 BE) | length (uint32 BE),
 *                           strictly increasing by oid
 *   I + 44N       8         I, the index offset (uint64 BE)
 *   end - 32      32        SHA-256 of every byte before it (also the file's name)
 *
 * A pack is written whole to a temporary name and published with link(2) like any object
 * (@snap/fs publishFile), so a reader sees all of it or nothing. It is immutable; GC that
 * removes some of its objects writes a new pack of the survivors and then unlinks the old.
 * Each object inside is still verified by its own SHA-256 on every read.
 */
import { createHash } from "node:crypto";
import { SnapError } from "@snap/schema";

export const PACK_DIR_NAME = "pack";
export const PACK_NAME = /^([0-9a-f]{64})\.pack$/;
const MAGIC = Buffer.from("SNAPPACK", "latin1");
const VERSION = 1;
const HEADER = 16;
const ENTRY = 44;
const FOOTER = 40;

export interface PackEntry {
  oid: string;
  offset: number;
  length: number;
}

export interface EncodedPack {
  /** Lowercase hex SHA-256 trailer; the file is `<name>.pack`. */
  name: string;
  bytes: Buffer;
  entries: PackEntry[];
}

/** Encodes objects (oid -> bytes; the caller has hashed them) as one pack. */
export function encodePack(objects: Iterable<[string, Uint8Array]>): EncodedPack {
  const sorted = [...objects].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  let dataBytes = 0;
  for (const [, data] of sorted) dataBytes += data.byteLength;
  const indexOffset = HEADER + dataBytes;
  const total = indexOffset + sorted.length * ENTRY + FOOTER;
  const out = Buffer.allocUnsafe(total);
  MAGIC.copy(out, 0);
  out.writeUInt32BE(VERSION, 8);
  out.writeUInt32BE(sorted.length, 12);
  const entries: PackEntry[] = [];
  let at = HEADER;
  let idx = indexOffset;
  for (const [oid, data] of sorted) {
    out.set(data, at);
    out.write(oid, idx, 32, "hex");
    out.writeBigUInt64BE(BigInt(at), idx + 32);
    out.writeUInt32BE(data.byteLength, idx + 40);
    entries.push({ oid, offset: at, length: data.byteLength });
    at += data.byteLength;
    idx += ENTRY;
  }
  out.writeBigUInt64BE(BigInt(indexOffset), idx);
  const digest = createHash("sha256").update(out.subarray(0, total - 32)).digest();
  digest.copy(out, total - 32);
  return { name: digest.toString("hex"), bytes: out, entries };
}

/** Where a pack's index is, read from its first 16 and last 40 bytes. */
export interface PackLayout {
  count: number;
  indexOffset: number;
  /** The trailer checksum (hex). */
  checksum: string;
}

function damaged(name: string, why: string): SnapError {
  return new SnapError("object_corrupt", `pack ${name} is damaged: ${why}`, { data: { pack: name } });
}

/** Checks a pack's header and footer against its size; throws object_corrupt when they do not fit. */
export function parsePackLayout(name: string, size: number, header: Uint8Array, footer: Uint8Array): PackLayout {
  if (size < HEADER + FOOTER || header.byteLength < HEADER || footer.byteLength < FOOTER) throw damaged(name, `too short (${size} bytes)`);
  const h = Buffer.from(header.buffer, header.byteOffset, header.byteLength);
  const f = Buffer.from(footer.buffer, footer.byteOffset, footer.byteLength);
  if (!h.subarray(0, 8).equals(MAGIC)) throw damaged(name, "bad magic");
  const version = h.readUInt32BE(8);
  if (version !== VERSION) {
    throw new SnapError("schema_version_unsupported", `pack ${name} has format version ${version}; this @snap/object-store reads version ${VERSION}`, {
      data: { pack: name, version },
      hint: "upgrade @snap/object-store",
    });
  }
  const count = h.readUInt32BE(12);
  const indexOffset = Number(f.readBigUInt64BE(0));
  if (indexOffset < HEADER || indexOffset + count * ENTRY + FOOTER !== size) throw damaged(name, "index does not fit the file size");
  return { count, indexOffset, checksum: f.subarray(8, 40).toString("hex") };
}

/** Decodes an index block (count x 44 bytes); throws object_corrupt on an entry that cannot be. */
export function parsePackIndex(name: string, layout: PackLayout, index: Uint8Array): PackEntry[] {
  if (index.byteLength !== layout.count * ENTRY) throw damaged(name, "short index");
  const b = Buffer.from(index.buffer, index.byteOffset, index.byteLength);
  const entries: PackEntry[] = new Array(layout.count);
  let previous = "";
  for (let i = 0; i < layout.count; i++) {
    const at = i * ENTRY;
    const oid = b.toString("hex", at, at + 32);
    const offset = Number(b.readBigUInt64BE(at + 32));
    const length = b.readUInt32BE(at + 40);
    if (oid <= previous) throw damaged(name, `index entry ${i} is out of order`);
    if (offset < HEADER || offset + length > layout.indexOffset) throw damaged(name, `index entry ${i} points outside the object area`);
    entries[i] = { oid, offset, length };
    previous = oid;
  }
  return entries;
}

export const PACK_HEADER_BYTES = HEADER;
export const PACK_FOOTER_BYTES = FOOTER;
export const PACK_ENTRY_BYTES = ENTRY;

/** Recomputes a whole pack's trailer (verify/fsck): true when it matches the stored one. */
export function packChecksumMatches(bytes: Uint8Array): boolean {
  if (bytes.byteLength < HEADER + FOOTER) return false;
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const digest = createHash("sha256").update(b.subarray(0, b.byteLength - 32)).digest();
  return digest.equals(b.subarray(b.byteLength - 32));
}
