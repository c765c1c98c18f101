/**
 * CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320: zlib's `crc32`), the checksum of
 * every journal line and of the chain (FORMAT.md). Same values as zlib's, with zlib's seed
 * convention: `crc32Range(b, 0, n, crc32Range(a, 0, m))` is the CRC of `a + b`.
 *
 * Two implementations, chosen by length: zlib's `crc32` (native, Node >= 20.15 / 22.2,
 * feature-detected) costs about 300 ns of binding overhead per call whatever the length,
 * plus a Buffer view of the range; the table-driven loop below (slicing-by-8) costs about
 * 0.7 ns a byte and allocates nothing. A journal line of ~300 bytes is checked faster in
 * JavaScript, one of 1 KiB and more by zlib.
 */
import * as zlib from "node:zlib";

type NativeCrc32 = (data: Uint8Array | string, value?: number) => number;
const native: NativeCrc32 | undefined = typeof (zlib as { crc32?: unknown }).crc32 === "function" ? (zlib as { crc32: NativeCrc32 }).crc32 : undefined;

/** Ranges at least this long go to zlib's crc32 (when present). */
const NATIVE_MIN_BYTES = 512;

/** 8 tables of 256 entries: TABLE[k * 256 + b] is the CRC of byte b followed by k zero bytes. */
const TABLE = new Int32Array(8 * 256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  TABLE[n] = c;
}
for (let n = 0; n < 256; n++) {
  for (let k = 1; k < 8; k++) {
    const prev = TABLE[(k - 1) * 256 + n]!;
    TABLE[k * 256 + n] = (prev >>> 8) ^ TABLE[prev & 255]!;
  }
}

/**
 * The table loop (slicing-by-8: as fast as by-16 on journal lines in V8, half the table to
 * bring into cache) over `bytes[start, end)`, continuing from `seed` (a finished CRC, as zlib's).
 */
export function crc32Table(bytes: Uint8Array, start: number, end: number, seed = 0): number {
  const t = TABLE;
  let c = ~seed;
  let i = start;
  for (; i + 8 <= end; i += 8) {
    c ^= bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
    c =
      t[1792 + (c & 255)]! ^
      t[1536 + ((c >>> 8) & 255)]! ^
      t[1280 + ((c >>> 16) & 255)]! ^
      t[1024 + (c >>> 24)]! ^
      t[768 + bytes[i + 4]!]! ^
      t[512 + bytes[i + 5]!]! ^
      t[256 + bytes[i + 6]!]! ^
      t[bytes[i + 7]!]!;
  }
  for (; i < end; i++) c = t[(c ^ bytes[i]!) & 255]! ^ (c >>> 8);
  return ~c >>> 0;
}

/** CRC-32 of `bytes[start, end)`, continuing from `seed` (0 for a fresh CRC). */
export function crc32Range(bytes: Uint8Array, start: number, end: number, seed = 0): number {
  if (native !== undefined && end - start >= NATIVE_MIN_BYTES) {
    return native(start === 0 && end === bytes.length ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset + start, end - start), seed);
  }
  return crc32Table(bytes, start, end, seed);
}

/** CRC-32 of the UTF-8 bytes of `s` (the chain runs over 8-character crc strings). */
export function crc32String(s: string, seed = 0): number {
  if (native !== undefined && s.length >= NATIVE_MIN_BYTES) return native(s, seed);
  const t = TABLE;
  let c = ~seed;
  for (let i = 0; i < s.length; i++) {
    const code = s.charCodeAt(i);
    if (code >= 0x80) return crc32Range(Buffer.from(s, "utf8"), 0, Buffer.byteLength(s), seed);
    c = t[(c ^ code) & 255]! ^ (c >>> 8);
  }
  return ~c >>> 0;
}
