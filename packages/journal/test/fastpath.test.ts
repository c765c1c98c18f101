import { describe, expect, it } from "vitest";
import { eventRecord, frameRecord, openJournal } from "../src/index.js";
import { encodeEventInput, frameEventEncoded, frameEventInto, eventSizeBound, jsonString } from "../src/format.js";
import { checkAppendInput, isPlainJson } from "../src/input.js";
import { appendInputSchema } from "../src/schema.js";
import { cleanupTemps, tempDir } from "./helpers.js";
import { afterAll } from "vitest";

afterAll(cleanupTemps);

const payloads: unknown[] = [
  null,
  "",
  "plain",
  'quote " backslash \\ newline \n tab \t nul \u0000 line-sep \u2028',
  "unicode é 漢字 🎉 lone surrogate \ud800",
  0,
  -0,
  1.5e300,
  123456789012,
  true,
  [],
  [1, "a", null, { b: [false] }],
  { a: 1, "key with \"quote\"": { nested: [1, 2, { x: "y" }] }, "": "" },
];

describe("fast event framing", () => {
  it("frameEventEncoded and frameEventInto produce exactly frameRecord(eventRecord(...)) for every kind of payload and key", () => {
    const ids = ["a", "refs/heads/main", 'odd "id"\n', "漢字/🎉"];
    let n = 0;
    for (const payload of payloads) {
      for (const [k, item_id] of [...ids, ...ids].entries()) {
        const item_type = k < ids.length ? "t" : "t\u00e9"; // ASCII keys (latin1 head) and not
        for (const ref of [undefined, { sha256: "a".repeat(64), bytes: 7 }]) {
          for (const action of ["put", "delete", "x.y-z_1"]) {
            const hasPayload = action !== "delete" && ref === undefined;
            const f = { seq: 1 + n, ts: new Date(1_700_000_000_000 + n).toISOString(), writer: "w_42-abcdef", lg: n % 3, action, item_type, item_id, entity_rev: 1 + (n % 5) };
            const want = frameRecord(eventRecord({ ...f, payload: hasPayload ? payload : undefined, payload_ref: action === "delete" ? undefined : ref })).bytes;
            const enc = encodeEventInput(action, f.item_type, item_id, hasPayload ? JSON.stringify(payload) : undefined, action === "delete" ? undefined : ref);
            const got = frameEventEncoded(f.seq, JSON.stringify(f.ts), JSON.stringify(f.writer), f.lg, enc, f.entity_rev);
            expect(got.equals(want), `${action} ${item_id} ${JSON.stringify(payload)}`).toBe(true);
            const bound = eventSizeBound(JSON.stringify(f.ts), JSON.stringify(f.writer), enc);
            expect(bound).toBeGreaterThanOrEqual(got.length);
            // Into a reused buffer at an offset (the fast path): the same bytes, nothing else touched.
            const into = Buffer.alloc(bound + 5, 0xee);
            const len = frameEventInto(into, 3, f.seq, JSON.stringify(f.ts), JSON.stringify(f.writer), f.lg, enc, f.entity_rev);
            expect(into.subarray(3, 3 + len).equals(want)).toBe(true);
            expect([...into.subarray(0, 3), ...into.subarray(3 + len)].every((b) => b === 0xee)).toBe(true);
            n++;
          }
        }
      }
    }
    expect(n).toBe(payloads.length * 8 * 2 * 3);
  });
});

describe("event encoding helpers", () => {
  it("jsonString is JSON.stringify for every string (plain ASCII fast, anything else escaped)", () => {
    const all = Array.from({ length: 0x2100 }, (_, c) => String.fromCharCode(c)).join("");
    for (const s of ["", "refs/heads/main", 'q"', "b\\s", "tab\t", "\u007f", "\ud800", "\ud83c\udf89", all, ...all]) {
      expect(jsonString(s)).toBe(JSON.stringify(s));
    }
  });

  it("eventSizeBound is an upper bound, exact above 64 KiB (refusal and warning see exact sizes); frameEventInto fits in it", () => {
    const ts = JSON.stringify("2026-11-22T02:31:05.120Z");
    for (const payload of ["x".repeat(10), "x".repeat(30_000), "x".repeat(100_000), "\u00e9".repeat(40_000)]) {
      const enc = encodeEventInput("put", "t", "a", JSON.stringify(payload), undefined);
      const bound = eventSizeBound(ts, '"w_1-abc"', enc);
      const exact = frameEventEncoded(Number.MAX_SAFE_INTEGER, ts, '"w_1-abc"', Number.MAX_SAFE_INTEGER, enc, Number.MAX_SAFE_INTEGER).length;
      expect(bound).toBeGreaterThanOrEqual(exact);
      if (bound > 64 * 1024) expect(bound).toBe(exact);
      const into = Buffer.alloc(bound);
      expect(frameEventInto(into, 0, 1, ts, '"w_1-abc"', 1, enc, 1)).toBeLessThanOrEqual(bound);
    }
  });
});

describe("record timestamps", () => {
  it("TS() spells the wall clock exactly as Date.prototype.toISOString, across second boundaries", async () => {
    const { TS } = await import("../src/journal.js");
    const until = Date.now() + 1100; // crosses at least one second boundary
    let n = 0;
    while (Date.now() < until) {
      const before = Date.now();
      const ts = TS();
      const after = Date.now();
      const t = Date.parse(ts);
      expect(new Date(t).toISOString()).toBe(ts);
      expect(t).toBeGreaterThanOrEqual(before);
      expect(t).toBeLessThanOrEqual(after);
      n++;
    }
    expect(n).toBeGreaterThan(100);
  });
});

describe("append input check", () => {
  const valid: unknown[] = [
    { action: "put", item_type: "t", item_id: "a", payload: { x: 1 } },
    { action: "put", item_type: "t", item_id: "a" },
    { action: "delete", item_type: "t", item_id: "a" },
    { action: "put", item_type: "t", item_id: "a", payload_ref: { sha256: "0".repeat(64), bytes: 0 } },
    { action: "put", item_type: "t", item_id: "a", payload: undefined },
    ...payloads.map((payload) => ({ action: "put", item_type: "t", item_id: "a", payload })),
  ];
  const invalid: unknown[] = [
    null,
    [],
    "put",
    { action: "Put", item_type: "t", item_id: "a" },
    { action: "x".repeat(65), item_type: "t", item_id: "a" },
    { action: "put", item_type: "", item_id: "a" },
    { action: "put", item_type: "t", item_id: "" },
    { action: "put", item_type: "t", item_id: "x".repeat(1025) },
    { action: "put", item_type: "t".repeat(257), item_id: "a" },
    { action: "put", item_type: "t", item_id: "a", extra: 1 },
    { action: "delete", item_type: "t", item_id: "a", payload: 1 },
    { action: "put", item_type: "t", item_id: "a", payload: 1, payload_ref: { sha256: "0".repeat(64), bytes: 1 } },
    { action: "put", item_type: "t", item_id: "a", payload_ref: { sha256: "0".repeat(63), bytes: 1 } },
    { action: "put", item_type: "t", item_id: "a", payload_ref: { sha256: "0".repeat(64), bytes: -1 } },
    { action: "put", item_type: "t", item_id: "a", payload_ref: { sha256: "0".repeat(64), bytes: 1, x: 1 } },
    { action: "put", item_type: "t", item_id: "a", payload: Number.NaN },
    { action: "put", item_type: "t", item_id: "a", payload: { x: Number.POSITIVE_INFINITY } },
    { action: "put", item_type: "t", item_id: "a", payload: { x: undefined } },
    { action: "put", item_type: "t", item_id: "a", payload: [1, undefined] },
    { action: "put", item_type: "t", item_id: "a", payload: () => 1 },
    { action: "put", item_type: "t", item_id: "a", payload: 10n },
  ];

  it("accepts exactly what the zod schema accepts, and rejects with zod's issues", () => {
    for (const input of valid) {
      expect(appendInputSchema.safeParse(input).success, JSON.stringify(input)).toBe(true);
      expect(() => checkAppendInput(input as never)).not.toThrow();
    }
    for (const input of invalid) {
      expect(appendInputSchema.safeParse(input).success, String(input)).toBe(false);
      expect(() => checkAppendInput(input as never)).toThrow(/invalid journal record/);
    }
  });

  it("keys zod's object schema ignores (symbols, non-enumerable extras) are ignored alike; inherited enumerable keys go to zod", () => {
    const base = { action: "put", item_type: "t", item_id: "a", payload: { x: 1 } };
    const odd: object[] = [{ ...base, [Symbol("s")]: 1 }, Object.defineProperty({ ...base }, "extra", { value: 1, enumerable: false })];
    for (const input of odd) {
      const z = appendInputSchema.safeParse(input);
      expect(z.success).toBe(true);
      expect(checkAppendInput(input as never)).toEqual(z.data);
    }
    const inherited = Object.assign(Object.create({ extra: 1 }) as object, base);
    expect(appendInputSchema.safeParse(inherited).success).toBe(false); // not a plain object for zod either
    expect(() => checkAppendInput(inherited as never)).toThrow(/invalid journal record/);
  });

  it("the hand check never accepts a value zod refuses (it defers to zod when unsure)", () => {
    const odd: unknown[] = [new Date(0), new Map(), Object.create({ inherited: 1 }), { [Symbol("s")]: 1 }, Object.defineProperty({}, "hidden", { value: 1, enumerable: false })];
    for (const v of odd) expect(isPlainJson(v)).toBe(false);
    let deep: unknown = 1;
    for (let i = 0; i < 100; i++) deep = [deep];
    expect(isPlainJson(deep)).toBe(false); // too deep for the fast check: zod decides
    expect(() => checkAppendInput({ action: "put", item_type: "t", item_id: "a", payload: deep } as never)).not.toThrow();
  });
});

describe("single-writer fast path", () => {
  it("appends written synchronously (lockHold open) read back identical to the async path's, with entity revs and seqs in order", async () => {
    const dirs = [await tempDir(), await tempDir()];
    const results: unknown[][] = [];
    for (const [d, lockHold] of [[dirs[0]!, "open"], [dirs[1]!, "append"]] as const) {
      const j = await openJournal({ dir: d, lockHold, segmentBytes: 4096 });
      // sequential, concurrent (one round), appendMany, deletes, across rolls
      for (let i = 0; i < 40; i++) await j.append({ action: "put", item_type: "t", item_id: `k${i % 3}`, payload: { i } });
      await Promise.all([0, 1, 2, 3].map((i) => j.append({ action: "put", item_type: "t", item_id: `c${i % 2}`, payload: { c: i } })));
      await j.appendMany([
        { action: "put", item_type: "t", item_id: "m", payload: 1 },
        { action: "put", item_type: "t", item_id: "m", payload: 2 },
        { action: "delete", item_type: "t", item_id: "m" },
      ]);
      expect(j.durableSeq).toBe(47);
      const out: unknown[] = [];
      for await (const r of j.read()) out.push([r.seq, r.item_id, r.entity_rev, r.action, r.payload]);
      expect((await j.doctor()).ok).toBe(true);
      await j.close();
      results.push(out);
    }
    expect(results[0]).toEqual(results[1]);
    expect(results[0]!.length).toBe(47);
    expect(results[0]![45]).toEqual([46, "m", 2, "put", 2]);
  });

  it("blockingSync: lone rounds (and the fast path) sync on the calling thread by default; blockingSync false never blocks, with the same records", async () => {
    const { createFaultFs } = await import("@snap/fs");
    const counts: Record<string, { syncCalls: number; poolCalls: number; records: unknown[] }> = {};
    for (const [name, blockingSync] of [["default", undefined], ["off", false]] as const) {
      const root = await tempDir();
      const ffs = await createFaultFs({ root });
      const j = await openJournal({ dir: root, fs: ffs, lockHold: "open", lockPath: `${root}-lock`, ...(blockingSync === undefined ? {} : { blockingSync }) });
      for (let i = 0; i < 5; i++) await j.append({ action: "put", item_type: "t", item_id: "s", payload: i });
      // 8 concurrent "group" appenders: every round holds all of them, nobody queued behind
      await Promise.all(Array.from({ length: 8 }, async (_, a) => {
        for (let i = 0; i < 4; i++) await j.append({ action: "put", item_type: "t", item_id: `g${a}`, payload: i }, { durability: "group" });
      }));
      expect(j.durableSeq).toBe(37);
      const records: unknown[] = [];
      for await (const r of j.read()) records.push([r.seq, r.item_id, r.entity_rev, r.payload]);
      await j.close();
      const syncs = ffs.log.filter((op) => op.kind === "datasync");
      counts[name] = { syncCalls: syncs.filter((op) => op.sync === true).length, poolCalls: syncs.filter((op) => op.sync !== true).length, records };
    }
    expect(counts.default!.syncCalls).toBeGreaterThanOrEqual(5 + 4);
    expect(counts.off!.syncCalls).toBe(0);
    expect(counts.off!.poolCalls).toBeGreaterThanOrEqual(5 + 4);
    expect(counts.off!.records).toEqual(counts.default!.records);
    await expect(openJournal({ dir: await tempDir(), blockingSync: "yes" as never })).rejects.toMatchObject({ code: "invalid_argument" });
  });

  it("an append queued just before close() is written by close", async () => {
    const dir = await tempDir();
    const j = await openJournal({ dir, lockHold: "open" });
    await j.append({ action: "put", item_type: "t", item_id: "a" });
    const p = j.append({ action: "put", item_type: "t", item_id: "b" });
    await j.close();
    expect((await p).seq).toBe(2);
    const r = await openJournal({ dir });
    const seqs: number[] = [];
    for await (const rec of r.read()) seqs.push(rec.seq);
    await r.close();
    expect(seqs).toEqual([1, 2]);
  });
});
