/**
 * CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320: zlib's `crc32`), the checksum of
 * every journal line and of the chain (FORMAT.md). Same values as zlib's, with zlib's seed
 * convention: `crc32Range(b, 0, n, crc32Range(a, 0, m))` is the CRC of `a + b`.
 *
 * Implementations chosen by length: zlib's `crc32` (native, Node >= 20.15 / 22.2,
 * feature-detected) costs about 300 ns of binding overhead per call whatever the length,
 * plus a Buffer view of the range; the table-driven loop below (slicing-by-8 over aligned
 * 32-bit words) costs about 0.6 ns a byte and allocates nothing. A journal line of ~300 bytes is checked faster in JavaScript,
 * one of 1 KiB and more by zlib.
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

/** Whether an Int32Array reads bytes little-endian (the word loops below assume it). */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * The Int32Array view of the last ArrayBuffer checksummed (a reader checks many lines of one
 * buffer); re-made when it does not cover the range (another buffer, or one that grew).
 * Buffers over WORDS_CACHE_MAX_BYTES (a whole segment read at seal or verify) get a view per
 * call instead: a module-level reference would keep one alive for the life of the process
 * (it did: 16 MiB after every roll, and the reads that followed paid for it in GC).
 */
let wordsOf: ArrayBufferLike | undefined;
let words: Int32Array<ArrayBufferLike> = new Int32Array(0);
const WORDS_CACHE_MAX_BYTES = 2 * 1024 * 1024;

/**
 * An Int32Array over the whole ArrayBuffer of `bytes` that covers `bytes[0, end)` (so that
 * aligned words up to `end` can be read), or undefined (big-endian platform, or a buffer
 * whose view would not cover the range).
 */
function wordView(bytes: Uint8Array, end: number): Int32Array<ArrayBufferLike> | undefined {
  if (!LITTLE_ENDIAN) return undefined;
  const need = (bytes.byteOffset + end) >>> 2;
  if (bytes.buffer !== wordsOf || words.length < need) {
    const view = new Int32Array(bytes.buffer, 0, bytes.buffer.byteLength >>> 2);
    if (bytes.buffer.byteLength > WORDS_CACHE_MAX_BYTES) return view.length >= need ? view : undefined;
    words = view;
    wordsOf = bytes.buffer;
  }
  return words.length >= need ? words : undefined;
}

/**
 * The table loop (slicing-by-8; a by-16 loop measured ~20% faster per ~300-byte line with its
 * tables warm, ~2% of a replay: not worth a second loop) over `bytes[start, end)`, continuing
 * from `seed` (a finished CRC, as zlib's).
 * The 8 bytes of a step are read as two aligned 32-bit words of the underlying ArrayBuffer
 * (little-endian platforms; the bytes up to a 4-byte boundary one at a time), not as 8 byte
 * loads: ~15% less time per line.
 */
export function crc32Table(bytes: Uint8Array, start: number, end: number, seed = 0): number {
  const t = TABLE;
  let c = ~seed;
  let i = start;
  const u32 = end - start >= 16 ? wordView(bytes, end) : undefined;
  if (u32 !== undefined) {
    const bo = bytes.byteOffset;
    for (; ((bo + i) & 3) !== 0; i++) c = t[(c ^ bytes[i]!) & 255]! ^ (c >>> 8);
    // i + 8 <= end keeps both words inside bytes, hence inside the view.
    for (let w = (bo + i) >>> 2; i + 8 <= end; i += 8, w += 2) {
      c ^= u32[w]!;
      const d = u32[w + 1]!;
      c =
        t[1792 + (c & 255)]! ^
        t[1536 + ((c >>> 8) & 255)]! ^
        t[1280 + ((c >>> 16) & 255)]! ^
        t[1024 + (c >>> 24)]! ^
        t[768 + (d & 255)]! ^
        t[512 + ((d >>> 8) & 255)]! ^
        t[256 + ((d >>> 16) & 255)]! ^
        t[d >>> 24]!;
    }
  } else {
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
