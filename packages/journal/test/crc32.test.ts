import * as zlib from "node:zlib";
import { describe, expect, it } from "vitest";
import { crc32Range, crc32String, crc32Table } from "../src/crc32.js";

/** Bit-at-a-time CRC-32 (IEEE, reflected), the definition the fast versions must match. */
function reference(bytes: Uint8Array, seed = 0): number {
  let c = ~seed >>> 0;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (0xedb88320 ^ (c >>> 1)) >>> 0 : c >>> 1;
  }
  return ~c >>> 0;
}

function randomBytes(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 255;
  }
  return b;
}

describe("crc32", () => {
  it("matches the check value of CRC-32/ISO-HDLC (zlib's crc32)", () => {
    const nine = Buffer.from("123456789");
    expect(crc32Range(nine, 0, 9)).toBe(0xcbf43926);
    expect(crc32Table(nine, 0, 9)).toBe(0xcbf43926);
    expect(crc32String("123456789")).toBe(0xcbf43926);
  });

  it("table loop and length-chosen version equal the bitwise definition for every length 0..1100 at odd offsets", () => {
    const buf = randomBytes(1200, 7);
    for (let len = 0; len <= 1100; len++) {
      const start = len % 37;
      const want = reference(buf.subarray(start, start + len));
      expect(crc32Table(buf, start, start + len)).toBe(want);
      expect(crc32Range(buf, start, start + len)).toBe(want);
    }
  });

  it("views at every byte offset of one ArrayBuffer, and of several buffers in turn, checksum their own bytes", () => {
    const a = randomBytes(1100, 11);
    const b = randomBytes(1100, 12);
    for (let off = 0; off < 8; off++) {
      for (const src of [a, b, a]) {
        const view = new Uint8Array(src.buffer, src.byteOffset + off, 1000);
        for (const [s, e] of [[0, 1000], [3, 300], [5, 21], [1, 16], [2, 34], [7, 64]] as const) {
          const want = reference(view.subarray(s, e));
          expect(crc32Table(view, s, e)).toBe(want);
          expect(crc32Range(view, s, e)).toBe(want);
        }
      }
    }
  });

  it("continues from a seed as zlib does: crc(a + b) = crc(b, seed crc(a))", () => {
    const buf = randomBytes(3000, 99);
    for (const cut of [0, 1, 15, 16, 17, 511, 512, 1500, 3000]) {
      const whole = reference(buf);
      expect(crc32Range(buf, cut, buf.length, crc32Range(buf, 0, cut))).toBe(whole);
      expect(crc32Table(buf, cut, buf.length, crc32Table(buf, 0, cut))).toBe(whole);
    }
  });

  it("strings are checksummed as their UTF-8 bytes (ASCII, non-ASCII, long)", () => {
    for (const s of ["", "1a2b3c4d", "caf\u00e9 \u{1f600}", "x".repeat(700), "\u00e9".repeat(600)]) {
      expect(crc32String(s, 12345)).toBe(reference(Buffer.from(s, "utf8"), 12345));
    }
  });

  const native = (zlib as { crc32?: (d: Uint8Array | string, v?: number) => number }).crc32;
  it.skipIf(native === undefined)("agrees with zlib.crc32 (present on Node >= 20.15)", () => {
    const buf = randomBytes(4096, 3);
    for (const len of [0, 1, 300, 511, 512, 1024, 4096]) expect(crc32Range(buf, 0, len, 77)).toBe(native!(buf.subarray(0, len), 77));
  });
});
