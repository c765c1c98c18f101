import { describe, expect, it } from "vitest";
import { classifyFragment, decodeLine, frameRecord, splitFrames, eventRecord, nextChain } from "../src/index.js";
import { decodeEventLine, frameWindows } from "../src/decode.js";
import { crc32Range } from "../src/crc32.js";
import { crcHex } from "../src/format.js";

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

  it("decodeLine gives exactly JSON.parse's record (values and member order) for writer-framed events and for every variation the fast envelope decoder must decline", () => {
    let seed = 5;
    const rand = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 16) % n;
    };
    const chars = ["a", "Z", "0", "-", "é", '"', "\\", "\n", "\u0001", "\u001f", "\u007f", " ", "日", "\u{1F600}", "/", "{", "}", ",", ":"];
    // Half the rounds use only characters JSON writes unescaped (the fast path's case).
    let pool = chars.length;
    const text = (max: number) => Array.from({ length: rand(max) }, () => chars[rand(pool)]).join("");
    const payloads: unknown[] = [null, true, 0, -1.5, 1e300, "", "plain", { a: [1, { b: "c" }] }, [], [null, "x"], { payload: 1, crc: "x" }];
    // Lines whose crc is right but whose layout the fast decoder must not accept on its own.
    const mutations: ((line: string) => string)[] = [
      (l) => l,
      (l) => l.replace(',"ts":', ', "ts":'),
      (l) => l.replace('"seq":', '"seq":0'),
      (l) => l.replace('"lg":', '"lg":-'),
      (l) => l.replace('"entity_rev":', '"entity_rev":1e'),
      (l) => l.replace('"entity_rev":', '"entity_rev":12345678901234567'),
      (l) => l.replace(',"crc":', ',"extra":1,"crc":'),
      (l) => l.replace(',"crc":', ' ,"crc":'),
      (l) => l.replace(',"crc":', 'x,"crc":'),
      (l) => l.replace(',"crc":', ' "crc":'),
      (l) => l.replace(',"payload":', ',"payload":1,"payload":'),
      (l) => l.replace('"action":"', '"action":"\\u0041'),
      (l) => l.replace('"item_id":"', '"item_id":"\u0002'),
      (l) => l.replace('{"type":"journal_event","schema_version":1,', '{"schema_version":1,"type":"journal_event",'),
      (l) => l.replace('"seq":', '"seq":1234567890123456'),
      (l) => l.replace('"lg":', '"lg":00'),
      (l) => l.replace('"entity_rev":', '"entity_rev":1.'),
      (l) => l.replace('"ts":"', '"ts":"\\"'),
      (l) => l.replace('"writer":"', '"writer":"\u001f'),
      (l) => l.replace('"item_type":"', '"item_type":"\u007f\u00e9'),
      (l) => l.replace(',"payload":', ',"payload": '),
      (l) => l.replace(',"crc":', '   ,"crc":'),
    ];
    let fastSeen = 0;
    for (let round = 0; round < 300; round++) {
      pool = round % 2 === 0 ? 5 : chars.length;
      const fields: Parameters<typeof eventRecord>[0] = { seq: 1 + rand(1e6), ts: "2026-11-22T00:00:00.000Z", writer: `w_${text(6)}`, lg: rand(5), action: ["put", "delete", text(4)][rand(3)]!, item_type: text(8) || "t", item_id: text(12) || "i", entity_rev: rand(1000) };
      const kind = rand(3);
      if (kind === 0) fields.payload = payloads[rand(payloads.length)] ?? text(20);
      else if (kind === 1) fields.payload_ref = { sha256: "a".repeat(64), bytes: rand(1e6) };
      const framed = frameRecord(eventRecord(fields)).bytes.toString("utf8").slice(1, -1);
      for (const mutate of mutations) {
        const body = mutate(framed).slice(0, -17); // up to and including the comma before "crc"
        const line = `${body}"crc":"${crcHex(crc32Range(Buffer.from(body, "utf8"), 0, Buffer.byteLength(body)))}"}`;
        const bytes = Buffer.from(`${line}\n`, "utf8");
        const decoded = decodeLine(bytes, 0, bytes.length - 1);
        let expected: unknown;
        try {
          expected = JSON.parse(line);
        } catch {
          expected = "crc ok but JSON does not parse";
        }
        if (typeof expected === "string") expect(decoded).toBe(expected);
        else expect(JSON.stringify(decoded), line).toBe(JSON.stringify(expected)); // values and member order
        // The same line inside a window with its one-byte text (splitFrames' path for ASCII
        // windows): the fast decoder reads the range of the window's text in place.
        if (/^[\x00-\x7f]*$/.test(line)) {
          const window = Buffer.from(`\n${framed}\n\n${line}\n\n${framed}\n`, "latin1");
          const start = framed.length + 3;
          const inWindow = decodeLine(window, start, start + line.length, window.toString("latin1"));
          if (typeof expected === "string") expect(inWindow).toBe(expected);
          else expect(JSON.stringify(inWindow), line).toBe(JSON.stringify(expected));
          expect(JSON.stringify(decodeEventLine(window.toString("latin1"), start, start + line.length))).toBe(JSON.stringify(decodeEventLine(line)));
        }
        if (decodeEventLine(line) !== undefined) fastSeen++;
      }
    }
    expect(fastSeen).toBeGreaterThan(100); // the fast path ran, so it was compared
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
