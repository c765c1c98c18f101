import { appendFile, open, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { eventRecord, frameRecord, openJournal, type Journal } from "../src/index.js";
import { cleanupTemps, copyDir, segmentFiles, tempDir, readUntilError } from "./helpers.js";

afterAll(cleanupTemps);

/** The reader's chunk size (reader.ts READ_CHUNK): lines here straddle chunk boundaries. */
const CHUNK = 1024 * 1024;
const N = 6000;
/** Records longer than a decode window (64 KiB) and than the gap to the next chunk boundary. */
const BIG = new Map([
  [1500, 100_000],
  [3100, 150_000],
  [4700, 70_000],
]);

/** The payload of event i (seq i + 1). */
const payloadOf = (i: number) => `${i}:`.padEnd(BIG.get(i) ?? 250, "x");

/** One segment of N events (~2.3 MiB: three read chunks, dozens of decode windows), closed. */
async function bigJournal(): Promise<string> {
  const dir = await tempDir();
  const j = await openJournal({ dir, durability: "none", lockHold: "open" });
  for (let i = 0; i < N; i += 250) {
    await j.appendMany(Array.from({ length: Math.min(250, N - i) }, (_, k) => ({ action: "put", item_type: "t", item_id: `k${(i + k) % 13}`, payload: payloadOf(i + k) })));
  }
  await j.close();
  const segs = await segmentFiles(dir);
  expect(segs.length).toBe(1);
  return dir;
}

async function segmentPath(dir: string): Promise<string> {
  return join(dir, "segments", (await segmentFiles(dir))[0]!);
}

/** [start, end) of the line holding byte `at` (end past its "\n"), and the seq of its record. */
async function lineAt(dir: string, at: number): Promise<{ start: number; end: number; seq: number }> {
  const buf = await readFile(await segmentPath(dir));
  while (buf[at] === 0x0a) at++; // between two lines: the next one
  const start = buf.lastIndexOf(0x0a, at - 1) + 1;
  const end = buf.indexOf(0x0a, at) + 1;
  const seq = Number(/"seq":(\d+),/.exec(buf.subarray(start, end).toString("latin1"))![1]);
  return { start, end, seq };
}

async function seqsOf(j: Journal, from = 1, to?: number): Promise<number[]> {
  const out: number[] = [];
  for await (const r of j.read({ fromSeq: from, toSeq: to })) {
    expect(r.payload).toBe(payloadOf(r.seq - 1));
    out.push(r.seq);
  }
  return out;
}

const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, k) => a + k);

describe("read(): records across read chunks and decode windows", () => {
  it("lines straddling chunk boundaries and lines longer than a decode window are read whole, in order; toSeq stops anywhere", async () => {
    const dir = await bigJournal();
    expect((await readFile(await segmentPath(dir))).length).toBeGreaterThan(2 * CHUNK);
    const first = await lineAt(dir, CHUNK); // at (or just after) the first chunk boundary
    const j = await openJournal({ dir });
    try {
      expect(await seqsOf(j)).toEqual(range(1, N));
      // Kept until the read is over: the reader reuses its chunk buffers, records must not share them.
      const kept: { seq: number; payload?: unknown }[] = [];
      for await (const r of j.read()) kept.push(r);
      expect(kept.map((r) => r.payload)).toEqual(range(1, N).map((seq) => payloadOf(seq - 1)));
      expect(await seqsOf(j, first.seq - 2, first.seq + 2)).toEqual(range(first.seq - 2, first.seq + 2));
      expect(await seqsOf(j, 1499, 1503)).toEqual(range(1499, 1503)); // around the 100 KB record (seq 1501)
      expect(await seqsOf(j, 4000)).toEqual(range(4000, N));
    } finally {
      await j.close();
    }
  });

  it("a corrupt line in the middle of a window of a later chunk: every record before it, then journal_corrupt; salvage skips exactly it", async () => {
    const base = await bigJournal();
    const dir = await copyDir(base);
    const hit = await lineAt(dir, CHUNK + 40_000);
    const fh = await open(await segmentPath(dir), "r+");
    await fh.write(Buffer.from("#"), 0, 1, hit.start + 20); // inside the type string: crc mismatch
    await fh.close();
    const j = await openJournal({ dir });
    const { seqs: seen, code } = await readUntilError(j);
    await j.close();
    expect(code).toBe("journal_corrupt");
    expect(seen).toEqual(range(1, hit.seq - 1));
    const s = await openJournal({ dir: await copyDir(dir), recovery: "salvage" });
    try {
      const seqs = await seqsOf(s);
      expect(seqs).toEqual(range(1, N).filter((q) => q !== hit.seq));
    } finally {
      await s.close();
    }
  });

  it("a torn tail that crosses a chunk boundary is a tail fragment: classified torn on open, every record before it read", async () => {
    // Records up to a few hundred bytes short of the first chunk boundary, then a torn write
    // (the unterminated start of a framed record) that runs 10 bytes past it.
    const dir = await tempDir();
    // No preallocation: the loop below steers by the file's size, which is then its data.
    const j = await openJournal({ dir, durability: "none", lockHold: "open", preallocateBytes: 0 });
    const seg = () => segmentPath(dir);
    let n = 0;
    const size = async () => (await stat(await seg())).size;
    for (let batch = 100; ; batch = (await size()) < CHUNK - 40_000 ? 100 : 1) {
      await j.appendMany(Array.from({ length: batch }, (_, k) => ({ action: "put", item_type: "t", item_id: `k${(n + k) % 13}`, payload: payloadOf(n + k) })));
      n += batch;
      if ((await size()) >= CHUNK - 600) break;
    }
    await j.close();
    const before = await size();
    const torn = frameRecord(
      eventRecord({ seq: n + 1, ts: new Date().toISOString(), writer: "w_1-torn", lg: 1, action: "put", item_type: "t", item_id: "torn", entity_rev: 1, payload: "y".repeat(2000) }),
    ).bytes;
    await appendFile(await seg(), torn.subarray(0, CHUNK + 10 - before));
    const r = await openJournal({ dir });
    try {
      expect(r.report.fragment).toMatchObject({ class: "torn", byte_start: before, byte_end: CHUNK + 10 });
      expect(await seqsOf(r)).toEqual(range(1, n));
    } finally {
      await r.close();
    }
  });
});
