import { describe, expect, it } from "vitest";
import { classifyFragment, decodeLine, frameRecord, splitFrames, eventRecord, nextChain } from "../src/index.js";
import { frameWindows } from "../src/decode.js";

const rec = () =>
  eventRecord({ seq: 1, ts: "2026-11-22T00:00:00.000Z", writer: "w_1-abc", lg: 1, action: "put", item_type: "t", item_id: "a", entity_rev: 1, payload: { x: "y\nz" } });

describe("framing", () => {
  it("frames a record as \\n + json + \\n with crc as the last member over the bytes before it", () => {
    const { bytes, crc } = frameRecord(rec());
    const s = bytes.toString("utf8");
    expect(s.startsWith('\n{"type":"journal_event"')).toBe(true);
    expect(s.endsWith(`"crc":"${crc}"}\n`)).toBe(true);
    expect(s.slice(1, -1)).not.toContain("\n");
    const parsed = JSON.parse(s);
    expect(parsed.payload).toEqual({ x: "y\nz" });
    const decoded = decodeLine(bytes, 1, bytes.length - 1);
    expect(typeof decoded).toBe("object");
  });

  it("a flipped byte anywhere in the line is a crc mismatch, never a record", () => {
    const { bytes } = frameRecord(rec());
    for (let i = 1; i < bytes.length - 1; i++) {
      const b = Buffer.from(bytes);
      b[i] = b[i]! ^ 0x01;
      expect(typeof decodeLine(b, 1, b.length - 1)).toBe("string");
    }
  });

  it("classifies tails: torn prefix, zero-filled, garbage", () => {
    const { bytes } = frameRecord(rec());
    for (let k = 1; k < bytes.length; k++) expect(classifyFragment(bytes.subarray(0, k))).toBe("torn");
    expect(classifyFragment(Buffer.alloc(4096))).toBe("zero_filled");
    expect(classifyFragment(Buffer.from("\x8f\x01garbage\nmore"))).toBe("garbage");
  });

  it("splitFrames reports ok lines, invalid lines and an unterminated fragment", () => {
    const a = frameRecord(rec()).bytes;
    const buf = Buffer.concat([a, Buffer.from("\n{not a record}\n"), a, a.subarray(0, 20)]);
    const kinds = splitFrames(buf).map((f) => f.kind);
    expect(kinds).toEqual(["ok", "invalid", "ok", "fragment"]);
  });

  it("frameWindows gives exactly splitFrames' frames (offsets, kinds, records) across window boundaries, a line longer than a window, invalid lines and a fragment", () => {
    const line = (n: number, size: number) =>
      frameRecord(eventRecord({ seq: n, ts: "2026-11-22T00:00:00.000Z", writer: "w_1-abc", lg: 1, action: "put", item_type: "t", item_id: `a${n}`, entity_rev: 1, payload: "é".repeat(size) })).bytes;
    const parts: Buffer[] = [];
    let n = 0;
    // Records of many sizes (some over DECODE_WINDOW), a few invalid lines, then a torn tail.
    for (const size of [10, 300, 40_000, 70_000, 5, 200_000, 1_000, 64 * 1024, 3]) {
      parts.push(line(++n, size));
      if (n % 3 === 0) parts.push(Buffer.from("\n{not a record}\n"));
    }
    for (let k = 0; k < 400; k++) parts.push(line(++n, (k * 97) % 900));
    const whole = Buffer.concat(parts);
    const torn = Buffer.concat([whole, line(++n, 50).subarray(0, 30)]);
    for (const buf of [whole, torn]) {
      for (const atEof of [true, false]) {
        const windows = [...frameWindows(buf, 7, atEof)];
        expect(windows.length).toBeGreaterThan(5); // several windows, or the test tests nothing
        expect(windows.flat()).toEqual(splitFrames(buf, 7, atEof));
      }
    }
    expect(splitFrames(torn, 0, true).at(-1)?.kind).toBe("fragment");
    expect([...frameWindows(Buffer.alloc(0))]).toEqual([]);
  });

  it("the chain is a running crc over record crcs", () => {
    expect(nextChain("00000000", "1a2b3c4d")).toMatch(/^[0-9a-f]{8}$/);
    expect(nextChain("00000000", "1a2b3c4d")).not.toBe(nextChain("00000001", "1a2b3c4d"));
  });
});

describe("frameEvent", () => {
  it("writes exactly the bytes of frameRecord(eventRecord(...)) with the payload serialized once", async () => {
    const { frameEvent } = await import("../src/format.js");
    for (const payload of [{ a: 1, b: ["x", null] }, "s", 0, null, [1, 2]]) {
      const f = { seq: 9, ts: "2026-11-22T00:00:00.000Z", writer: "w_1-abc", lg: 2, action: "put", item_type: "t", item_id: "a", entity_rev: 3 };
      expect(frameEvent(f, JSON.stringify(payload)).bytes.equals(frameRecord(eventRecord({ ...f, payload })).bytes)).toBe(true);
    }
    const del = { seq: 9, ts: "t", writer: "w_1-abc", lg: 2, action: "delete", item_type: "t", item_id: "a", entity_rev: 3 };
    expect(frameEvent(del, undefined).bytes.equals(frameRecord(eventRecord(del)).bytes)).toBe(true);
  });
});
