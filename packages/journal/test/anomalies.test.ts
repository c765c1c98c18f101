import { appendFile, readFile, rename, truncate, writeFile, mkdir, readdir, copyFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { eventRecord, frameRecord, openJournal, type Journal } from "../src/index.js";
import { cleanupTemps, copyDir, fill, readAll, segmentFiles, tempDir, withJournal } from "./helpers.js";

afterAll(cleanupTemps);

async function baseJournal(n: number, segmentBytes = 16 * 1024 * 1024): Promise<string> {
  const dir = await tempDir();
  await withJournal({ dir, segmentBytes }, (j) => fill(j, n));
  return dir;
}

async function activeSegment(dir: string): Promise<string> {
  const segs = await segmentFiles(dir);
  return join(dir, "segments", segs[segs.length - 1]!);
}

function tornRecord(seq: number): Buffer {
  return frameRecord(
    eventRecord({ seq, ts: new Date().toISOString(), writer: "w_999-dead", lg: 1, action: "put", item_type: "t", item_id: "torn", entity_rev: 1, payload: { never: "acknowledged" } }),
  ).bytes;
}

async function expectCode(p: Promise<unknown>, code: string): Promise<void> {
  await expect(p).rejects.toMatchObject({ code });
}

async function collect(j: Journal): Promise<number[]> {
  return (await readAll(j)).map((r) => r.seq);
}

describe("torn, zero-filled and garbage tails", () => {
  it("torn tail at every byte offset is classified on open, adjudicated by the next append, never silently skipped", async () => {
    const base = await baseJournal(5);
    const torn = tornRecord(6);
    for (let k = 1; k < torn.length; k++) {
      const dir = await copyDir(base);
      const seg = await activeSegment(dir);
      const sizeBefore = (await readFile(seg)).length;
      await appendFile(seg, torn.subarray(0, k));
      const j = await openJournal({ dir });
      try {
        expect(j.report.fragment, `offset ${k}`).toMatchObject({ class: "torn", byte_start: sizeBefore, byte_end: sizeBefore + k });
        expect(await collect(j)).toEqual([1, 2, 3, 4, 5]); // nothing acknowledged lost, fragment not data
        const { seq } = await j.append({ action: "put", item_type: "t", item_id: "after", payload: k });
        expect(seq).toBe(7);
        const all = await readAll(j, true);
        const note = all.find((r) => r.type === "journal_note")!;
        expect(note).toMatchObject({ seq: 6, kind: "torn_tail_adjudicated", class: "torn", byte_start: sizeBefore, byte_end: sizeBefore + k });
        const doc = await j.doctor();
        expect(doc.counters).toMatchObject({ adjudicated: 1, torn: 0, corrupt: 0 });
        expect(doc.counters.adjudicated_by_class.torn).toBe(1);
        expect(doc.ok).toBe(true);
      } finally {
        await j.close();
      }
    }
  });

  it("a zero-filled tail is free space (preallocated, or extended and never written): no fragment, the next record goes over it", async () => {
    const dir = await baseJournal(5);
    const seg = await activeSegment(dir);
    const dataBytes = (await readFile(seg)).length;
    await appendFile(seg, Buffer.alloc(4096));
    await withJournal({ dir }, async (j) => {
      expect(j.report.fragment).toBeUndefined();
      expect(j.report.anomalies).toEqual([]);
      await j.append({ action: "put", item_type: "t", item_id: "x", payload: 1 });
      const doc = await j.doctor();
      expect(doc.counters).toMatchObject({ adjudicated: 0, torn: 0, corrupt: 0 });
      expect(doc.ok).toBe(true);
      expect(await collect(j)).toEqual([1, 2, 3, 4, 5, 6]);
    });
    // Written where the NULs began; close() gave back the rest of the free space.
    const after = await readFile(seg);
    expect(after.subarray(dataBytes, dataBytes + 2).toString()).toBe("\n{");
    expect(after[after.length - 1]).toBe(0x0a);
  });

  it("NULs inside the tail fragment are part of it: a torn write with a hole ends at its last non-NUL byte, is adjudicated there", async () => {
    const dir = await baseJournal(5);
    const seg = await activeSegment(dir);
    const sizeBefore = (await readFile(seg)).length;
    const torn = tornRecord(6);
    const holed = Buffer.concat([torn.subarray(0, 40), Buffer.alloc(512), torn.subarray(40, 100)]);
    await appendFile(seg, Buffer.concat([holed, Buffer.alloc(2048)]));
    await withJournal({ dir }, async (j) => {
      expect(j.report.fragment).toMatchObject({ class: "torn", byte_start: sizeBefore, byte_end: sizeBefore + holed.length });
      await j.append({ action: "put", item_type: "t", item_id: "x", payload: 1 });
      const doc = await j.doctor();
      expect(doc.counters).toMatchObject({ adjudicated: 1, corrupt: 0 });
      expect(await collect(j)).toEqual([1, 2, 3, 4, 5, 7]);
    });
  });

  it("a random garbage tail is classified garbage and adjudicated; absolute refuses it", async () => {
    const dir = await baseJournal(5);
    const garbage = Buffer.from(Array.from({ length: 700 }, (_, i) => (i * 7919 + 13) % 251));
    await appendFile(await activeSegment(dir), garbage);
    await expectCode(openJournal({ dir, recovery: "absolute" }), "journal_corrupt");
    await withJournal({ dir }, async (j) => {
      expect(j.report.fragment?.class).toBe("garbage");
      expect(j.report.actions.join(" ")).toMatch(/adjudicated/);
      await j.append({ action: "put", item_type: "t", item_id: "x", payload: 1 });
      const doc = await j.doctor();
      expect(doc.counters.adjudicated_by_class.garbage).toBe(1);
      expect(doc.counters.corrupt).toBe(0);
    });
  });
});

describe("damage inside the log", () => {
  async function sealed(): Promise<string> {
    const dir = await baseJournal(40, 1024);
    expect((await segmentFiles(dir)).length).toBeGreaterThan(3);
    return dir;
  }

  async function flipInFirstSegment(dir: string): Promise<number> {
    const seg = join(dir, "segments", (await segmentFiles(dir))[0]!);
    const buf = await readFile(seg);
    // The third record's payload: find '"prefix":"k"' occurrences and flip a byte in the 2nd event.
    let at = -1;
    for (let n = 0, i = 0; n < 2; n++) at = i = buf.indexOf('"prefix"', i + 1);
    buf[at + 2] = buf[at + 2]! ^ 0x20;
    await writeFile(seg, buf);
    return 2; // seq of the damaged record
  }

  it("a flipped byte in a sealed segment is corruption: doctor counts it, read refuses, each recovery mode reports what it did", async () => {
    const base = await sealed();
    await flipInFirstSegment(base);
    // tolerate-tail opens (it reads only the tail) but never skips the damage silently
    await withJournal({ dir: await copyDir(base) }, async (j) => {
      const doc = await j.doctor();
      expect(doc.ok).toBe(false);
      expect(doc.counters.corrupt).toBeGreaterThanOrEqual(1);
      expect(doc.counters.adjudicated).toBe(0);
      await expectCode(collect(j), "journal_corrupt");
      const v = await j.verify();
      expect(v.ok).toBe(false);
    });
    // absolute refuses to open
    await expectCode(openJournal({ dir: await copyDir(base), recovery: "absolute" }), "journal_corrupt");
    // salvage: opens, reports, skips the damaged record, records a note
    await withJournal({ dir: await copyDir(base), recovery: "salvage" }, async (j) => {
      expect(j.report.actions.join(" ")).toMatch(/salvage/);
      expect(j.report.anomalies.some((a) => a.kind === "corrupt")).toBe(true);
      const seqs = await collect(j);
      expect(seqs).not.toContain(2);
      expect(seqs).toContain(1);
      expect(seqs).toContain(40);
      await j.append({ action: "put", item_type: "t", item_id: "x", payload: 1 });
      const notes = (await readAll(j, true)).filter((r) => r.type === "journal_note");
      expect(notes.some((n) => n.kind === "salvage")).toBe(true);
    });
    // point-in-time: cuts before the damage, quarantines the rest, records the cut
    const pit = await copyDir(base);
    await withJournal({ dir: pit, recovery: "point-in-time" }, async (j) => {
      expect(j.report.actions.join(" ")).toMatch(/point-in-time: cut/);
      expect(await collect(j)).toEqual([1]);
      const { seq } = await j.append({ action: "put", item_type: "t", item_id: "x", payload: 1 });
      expect(seq).toBeGreaterThan(1);
      const notes = (await readAll(j, true)).filter((r) => r.type === "journal_note");
      expect(notes.some((n) => n.kind === "point_in_time_cut")).toBe(true);
      const doc = await j.doctor();
      expect(doc.ok).toBe(true);
    });
    const q = await readdir(join(pit, "quarantine"));
    expect(q.length).toBe(1);
    expect((await readdir(join(pit, "quarantine", q[0]!))).length).toBeGreaterThan(1);
  });

  it("a missing middle segment is detected: doctor, read and absolute all say journal_segment_missing", async () => {
    const dir = await sealed();
    const segs = await segmentFiles(dir);
    await mkdir(join(dir, "..", "moved"), { recursive: true });
    await rename(join(dir, "segments", segs[1]!), join(dir, "..", "moved", segs[1]!));
    await withJournal({ dir }, async (j) => {
      const doc = await j.doctor();
      expect(doc.counters.missing_segments).toBe(1);
      expect(doc.ok).toBe(false);
      await expectCode(collect(j), "journal_segment_missing");
    });
    await expectCode(openJournal({ dir, recovery: "absolute" }), "journal_segment_missing");
  });

  it("a segment copied from another store is a foreign segment", async () => {
    const a = await sealed();
    const b = await sealed();
    const segsA = await segmentFiles(a);
    const segsB = await segmentFiles(b);
    expect(segsB[1]).toBe(segsA[1]);
    // In the middle: doctor classifies it.
    const mid = await copyDir(a);
    await copyFile(join(b, "segments", segsB[1]!), join(mid, "segments", segsA[1]!));
    await withJournal({ dir: mid }, async (j) => {
      const doc = await j.doctor();
      expect(doc.counters.foreign_segments).toBe(1);
      expect(doc.ok).toBe(false);
      await expectCode(collect(j), "journal_foreign_segment");
    });
    await expectCode(openJournal({ dir: mid, recovery: "absolute" }), "journal_foreign_segment");
    // As the newest segment: open refuses.
    const newest = await copyDir(a);
    await copyFile(join(b, "segments", segsB[segsB.length - 1]!), join(newest, "segments", "99999999999999999999.ndjson".replace(/^9+/, (m) => "0".repeat(m.length - 3) + "999")));
    await expectCode(openJournal({ dir: newest }), "journal_foreign_segment");
  });
});

describe("meta.json against the tail", () => {
  it("tail behind the durable watermark (a record boundary truncation) is an error, not absorbed", async () => {
    const dir = await baseJournal(5);
    const seg = await activeSegment(dir);
    const buf = await readFile(seg);
    const lastStart = buf.lastIndexOf("\n{", buf.length - 3);
    await truncate(seg, lastStart); // clean cut at a record boundary: record 5 is gone
    await expectCode(openJournal({ dir: await copyDir(dir) }), "journal_acknowledged_lost");
    await expectCode(openJournal({ dir: await copyDir(dir), recovery: "absolute" }), "journal_acknowledged_lost");
    await withJournal({ dir: await copyDir(dir), recovery: "salvage" }, async (j) => {
      expect(j.report.meta).toBe("ahead");
      expect(j.report.actions.join(" ")).toMatch(/acknowledged records were lost/);
      await j.append({ action: "put", item_type: "t", item_id: "x", payload: 1 });
      const notes = (await readAll(j, true)).filter((r) => r.type === "journal_note");
      expect(notes[0]).toMatchObject({ kind: "acknowledged_lost", expected_seq: 5, found_seq: 4 });
    });
  });

  it("meta behind the tail gets a seq_repair record before the next append", async () => {
    const dir = await baseJournal(5);
    const metaPath = join(dir, "meta.json");
    const meta = JSON.parse(await readFile(metaPath, "utf8"));
    await writeFile(metaPath, JSON.stringify({ ...meta, next_seq: 3, durable_seq: 2 }));
    await withJournal({ dir }, async (j) => {
      expect(j.report.meta).toBe("behind");
      const { seq } = await j.append({ action: "put", item_type: "t", item_id: "x", payload: 1 });
      expect(seq).toBe(7);
      const all = await readAll(j, true);
      expect(all.find((r) => r.type === "seq_repair")).toMatchObject({ seq: 6, meta_next_seq: 3, tail_seq: 5 });
    });
    expect(JSON.parse(await readFile(metaPath, "utf8"))).toMatchObject({ next_seq: 8, durable_seq: 7 });
  });
});

describe("two writers", () => {
  it("a duplicate seq from another writer is a detected anomaly (file order wins)", async () => {
    const dir = await baseJournal(5);
    const dup = frameRecord(
      eventRecord({ seq: 5, ts: new Date().toISOString(), writer: "w_4242-beef", lg: 999, action: "put", item_type: "t", item_id: "k0", entity_rev: 9, payload: "dup" }),
    ).bytes;
    await appendFile(await activeSegment(dir), dup);
    await withJournal({ dir }, async (j) => {
      const doc = await j.doctor();
      expect(doc.counters.duplicates).toBe(1);
      expect(doc.ok).toBe(false);
      const seqs = await collect(j);
      expect(seqs).toEqual([1, 2, 3, 4, 5, 5]); // both kept, in file order
      const st = await j.state();
      expect(st.get("t", "k0")?.payload).toBe("dup"); // the later one in file order applies last
    });
  });

  it("a record with a stale lock generation is detected, and a fenced-out writer refuses to append", async () => {
    const dir = await baseJournal(5);
    const stale = frameRecord(
      eventRecord({ seq: 6, ts: new Date().toISOString(), writer: "w_4242-beef", lg: 0, action: "put", item_type: "t", item_id: "k0", entity_rev: 9, payload: "stale" }),
    ).bytes;
    await appendFile(await activeSegment(dir), stale);
    await withJournal({ dir }, async (j) => {
      const doc = await j.doctor();
      expect(doc.counters.stale_writers).toBe(1);
    });
    // A record stamped with a generation newer than any this lock will hand out next:
    // the writer holding an older generation is fenced out.
    const dir2 = await baseJournal(2);
    const future = frameRecord(
      eventRecord({ seq: 3, ts: new Date().toISOString(), writer: "w_4242-beef", lg: 1_000_000, action: "put", item_type: "t", item_id: "k0", entity_rev: 9, payload: "new" }),
    ).bytes;
    await appendFile(await activeSegment(dir2), future);
    const j = await openJournal({ dir: dir2 });
    await expectCode(j.append({ action: "put", item_type: "t", item_id: "y", payload: 1 }), "journal_stale_writer");
    await j.close();
  });
});
