/**
 * Preallocation (FORMAT.md "Preallocation"): the active segment ends in NULs the writer wrote
 * ahead of its records; records are written over them at the data end. These tests pin what
 * readers, other writers and recovery make of that space.
 */
import { appendFile, open, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createFaultFs } from "@snap/fs";
import { eventRecord, frameRecord, openJournal } from "../src/index.js";
import { cleanupTemps, copyDir, fill, readAll, segmentFiles, tempDir, withJournal } from "./helpers.js";

afterAll(cleanupTemps);

const STEP = 64 * 1024;
const kib = (i: number) => ({ action: "put", item_type: "t", item_id: `k${i % 7}`, payload: "p".repeat(900) + i });

async function activeSegment(dir: string): Promise<string> {
  const segs = await segmentFiles(dir);
  return join(dir, "segments", segs[segs.length - 1]!);
}

/** Offset after the last non-NUL byte. */
function dataLength(buf: Buffer): number {
  let end = buf.length;
  while (end > 0 && buf[end - 1] === 0) end--;
  return end;
}

async function writeAt(path: string, bytes: Buffer, position: number): Promise<void> {
  const f = await open(path, "r+");
  try {
    await f.write(bytes, 0, bytes.length, position);
  } finally {
    await f.close();
  }
}

describe("preallocated segments", () => {
  it("grow in steps, take records over their NULs, and give the free space back at close; readers see only records", async () => {
    const dir = await tempDir();
    const j = await openJournal({ dir, lockHold: "open", preallocateBytes: STEP });
    for (let i = 0; i < 150; i++) await j.append(kib(i));
    const seg = await activeSegment(dir);
    const live = await readFile(seg);
    const data = dataLength(live);
    expect(live.length % STEP).toBe(0); // a whole number of steps
    expect(live.length).toBeGreaterThan(data); // free space after the records
    expect(live[data - 1]).toBe(0x0a);
    // Another handle reads the live journal: 150 records, no fragment, no anomaly.
    const reader = await openJournal({ dir });
    try {
      expect(reader.report.fragment).toBeUndefined();
      expect((await readAll(reader)).map((r) => r.seq)).toEqual(Array.from({ length: 150 }, (_, k) => k + 1));
      const doc = await reader.doctor();
      expect(doc.ok).toBe(true);
      expect(doc.anomalies).toEqual([]);
      const st = await reader.stats();
      expect(st.segments[0]!.bytes).toBe(data); // data, not allocation
      const dump: string[] = [];
      for await (const line of reader.dump()) dump.push(String(line.status));
      expect(new Set(dump)).toEqual(new Set(["ok"]));
    } finally {
      await reader.close();
    }
    expect((await stat(seg)).size).toBe(live.length); // a handle that only read leaves the writer's free space
    await j.close();
    expect((await stat(seg)).size).toBe(data);
  });

  it("preallocateBytes 0 writes the file as its data; bad values are refused", async () => {
    const dir = await tempDir();
    await withJournal({ dir, preallocateBytes: 0, lockHold: "open" }, async (j) => {
      await fill(j, 20);
      const buf = await readFile(await activeSegment(dir));
      expect(dataLength(buf)).toBe(buf.length);
    });
    for (const bad of [-1, 1.5, Number.NaN, "1M" as never]) {
      await expect(openJournal({ dir, preallocateBytes: bad })).rejects.toMatchObject({ code: "invalid_argument" });
    }
  });

  it("a writer finds records another writer put into the free space (same file size) and never writes over them", async () => {
    const dir = await tempDir();
    // lockHold "append": each round takes the lock and checks the tail, as separate processes do.
    const a = await openJournal({ dir, preallocateBytes: STEP });
    const b = await openJournal({ dir, preallocateBytes: STEP });
    try {
      const seqs: number[] = [];
      for (let i = 0; i < 30; i++) seqs.push((await (i % 3 === 0 ? b : a).append(kib(i))).seq);
      expect(seqs).toEqual(Array.from({ length: 30 }, (_, k) => k + 1));
      const doc = await a.doctor();
      expect(doc.ok).toBe(true);
      expect(doc.counters).toMatchObject({ duplicates: 0, corrupt: 0 });
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("bytes found in the free space under a held lock are refused with journal_stale_writer before anything is written", async () => {
    const dir = await tempDir();
    const j = await openJournal({ dir, lockHold: "open", preallocateBytes: STEP });
    try {
      await fill(j, 3);
      const seg = await activeSegment(dir);
      const end = dataLength(await readFile(seg));
      // What a process that took the lock over while this one was paused would have left.
      const foreign = frameRecord(eventRecord({ seq: 4, ts: new Date().toISOString(), writer: "w_2-other", lg: 99, action: "put", item_type: "t", item_id: "o", entity_rev: 1, payload: 1 })).bytes;
      await writeAt(seg, foreign, end);
      const before = await readFile(seg);
      await expect(j.append(kib(1))).rejects.toMatchObject({ code: "journal_stale_writer" });
      expect(await readFile(seg)).toEqual(before);
    } finally {
      await j.close().catch(() => undefined);
    }
  });

  it("a torn record inside the free space is a fragment up to its last byte, adjudicated right after it", async () => {
    const base = await tempDir();
    const j = await openJournal({ dir: base, preallocateBytes: STEP });
    await fill(j, 5);
    const seg = await activeSegment(base);
    const end = dataLength(await readFile(seg));
    const torn = frameRecord(eventRecord({ seq: 6, ts: new Date().toISOString(), writer: "w_3-dead", lg: 1, action: "put", item_type: "t", item_id: "x", entity_rev: 1, payload: "z".repeat(300) })).bytes;
    const size = (await stat(seg)).size;
    expect(size).toBeGreaterThan(end + torn.length); // still preallocated: this handle is open
    for (const k of [1, 2, 17, torn.length - 1]) {
      const dir = await copyDir(base); // a crashed writer's journal: free space still allocated
      const copy = await activeSegment(dir);
      await writeAt(copy, torn.subarray(0, k), end);
      const r = await openJournal({ dir, preallocateBytes: STEP });
      try {
        expect(r.report.fragment, `k=${k}`).toMatchObject({ class: "torn", byte_start: end, byte_end: end + k });
        expect((await readAll(r)).map((x) => x.seq)).toEqual([1, 2, 3, 4, 5]);
        // The note first (seq 6), then a seq_repair (meta.json of a crashed writer is behind), then the record.
        expect((await r.append(kib(k))).seq).toBe(8);
        const all = await readAll(r, true);
        expect(all.find((x) => x.type === "journal_note")).toMatchObject({ seq: 6, kind: "torn_tail_adjudicated", byte_start: end, byte_end: end + k });
        const buf = await readFile(copy);
        expect(buf.length).toBe(size); // written over the free space, which is still there
        expect(buf[end + k]).toBe(0x21); // the "!" marker right after the fragment
        const doc = await r.doctor();
        expect(doc.counters).toMatchObject({ adjudicated: 1, corrupt: 0 });
        expect(doc.ok).toBe(true);
      } finally {
        await r.close();
      }
    }
    await j.close();
  });

  it("NULs after a seal (a crash between the seal and its truncation) are free space, not bytes after the seal", async () => {
    const dir = await tempDir();
    await withJournal({ dir, segmentBytes: 8 * 1024, preallocateBytes: 4096 }, (j) => fill(j, 120));
    const segs = await segmentFiles(dir);
    expect(segs.length).toBeGreaterThan(3);
    const sealedSeg = join(dir, "segments", segs[1]!);
    const sealedBytes = await readFile(sealedSeg);
    expect(sealedBytes[sealedBytes.length - 1]).toBe(0x0a); // a sealed segment ends at its seal
    await appendFile(sealedSeg, Buffer.alloc(3000));
    await withJournal({ dir }, async (j) => {
      expect((await readAll(j)).length).toBe(120);
      const doc = await j.doctor();
      expect(doc.anomalies).toEqual([]);
      expect(doc.ok).toBe(true);
      expect((await j.append(kib(0))).seq).toBe(121);
    });
  });

  it("power loss at each of the first operations of appends that preallocate every few records: every acknowledged record is there, nothing corrupt", async () => {
    const root = await tempDir();
    const dir = join(root, "j");
    for (let cut = 1; cut <= 12; cut++) {
      const ffs = await createFaultFs({ root });
      const j = await openJournal({ dir, fs: ffs, lockHold: "open", preallocateBytes: 4096, lockPath: `${root}-lock-${cut}` });
      const acked: number[] = [];
      const prior = (await readAll(j)).length;
      ffs.failAfter(cut * 3);
      for (let i = 0; i < 10; i++) {
        try {
          acked.push((await j.append(kib(i))).seq);
        } catch {
          break;
        }
      }
      await ffs.powerLoss();
      const r = await openJournal({ dir, lockPath: `${root}-lock-r${cut}` });
      try {
        const seqs = (await readAll(r)).map((x) => x.seq);
        for (const s of acked) expect(seqs).toContain(s);
        expect(seqs.length).toBeGreaterThanOrEqual(prior + acked.length);
        const doc = await r.doctor();
        expect(doc.counters.corrupt).toBe(0);
      } finally {
        await r.close();
      }
    }
  });
});
