import { afterAll, describe, expect, it } from "vitest";
import { openJournal, type JournalGap, type JournalRecord } from "../src/index.js";
import { cleanupTemps, segmentFiles, tempDir } from "./helpers.js";

afterAll(cleanupTemps);

type Item = JournalRecord | JournalGap;

async function takeUntilSeq(it: AsyncIterator<Item>, seq: number): Promise<Item[]> {
  const out: Item[] = [];
  for (;;) {
    const r = await it.next();
    if (r.done) break;
    out.push(r.value);
    if (!("gap" in r.value) && r.value.seq >= seq) break;
  }
  return out;
}

async function take(it: AsyncIterator<Item>, n: number): Promise<Item[]> {
  const out: Item[] = [];
  while (out.length < n) {
    const r = await it.next();
    if (r.done) break;
    out.push(r.value);
  }
  return out;
}

describe("follow()", () => {
  it("follows across segment rolls and wakes on new records", async () => {
    const dir = await tempDir();
    const j = await openJournal({ dir, segmentBytes: 1024, durability: "none" });
    const ac = new AbortController();
    const it = j.follow({ fromSeq: 1, signal: ac.signal, pollMs: 50 })[Symbol.asyncIterator]();
    const got = take(it, 60);
    for (let i = 0; i < 60; i++) await j.append({ action: "put", item_type: "t", item_id: `k${i % 3}`, payload: i });
    const items = (await got) as JournalRecord[];
    expect(items.map((r) => r.seq)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    expect((await segmentFiles(dir)).length).toBeGreaterThan(5);
    ac.abort();
    await it.return?.(undefined);
    await j.close();
  });

  it("survives an archive underneath it: a lagging cursor gets {gap:true, oldestSeq} and continues", async () => {
    const dir = await tempDir();
    const j = await openJournal({ dir, segmentBytes: 1024, durability: "none" });
    for (let i = 0; i < 30; i++) await j.append({ action: "put", item_type: "t", item_id: `k${i % 3}`, payload: i });
    const ac = new AbortController();
    const it = j.follow({ fromSeq: 1, signal: ac.signal, pollMs: 50 })[Symbol.asyncIterator]();
    const first = (await take(it, 5)) as JournalRecord[];
    expect(first.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5]);
    // Underneath the paused follower: more records, two checkpoints, archive.
    for (let i = 0; i < 30; i++) await j.append({ action: "put", item_type: "t", item_id: `k${i % 3}`, payload: i });
    await j.checkpoint();
    for (let i = 0; i < 30; i++) await j.append({ action: "put", item_type: "t", item_id: `k${i % 3}`, payload: i });
    await j.checkpoint();
    const report = await j.archive();
    expect(report.archived_segments.length).toBeGreaterThan(0);
    const rest = await takeUntilSeq(it, 90);
    const gap = rest.find((x): x is JournalGap => "gap" in x);
    // The segment being read when the follower paused was read to its end already, so the
    // gap (if any) starts after it; every seq the follower yields is increasing and ends at 90.
    const seqs = rest.filter((x): x is JournalRecord => !("gap" in x)).map((r) => r.seq);
    expect(seqs[seqs.length - 1]).toBe(90);
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1]!);
    // No silent hole: consecutive seqs, except exactly across the gap marker.
    let prev = 5;
    for (const x of rest) {
      if ("gap" in x && x.gap === true) {
        const g = x as JournalGap;
        expect(g.fromSeq).toBe(prev + 1);
        prev = g.oldestSeq - 1;
      } else {
        const r = x as JournalRecord;
        expect(r.seq).toBe(prev + 1);
        prev = r.seq;
      }
    }
    expect(gap).toBeDefined();
    // A fresh follower from seq 1 certainly falls into archived history.
    const it2 = j.follow({ fromSeq: 1, signal: ac.signal, pollMs: 50 })[Symbol.asyncIterator]();
    const [g] = await take(it2, 1);
    expect(g).toMatchObject({ gap: true, fromSeq: 1 });
    expect((g as JournalGap).oldestSeq).toBeGreaterThan(1);
    await expect(take(j.follow({ fromSeq: 1, onGap: "error" })[Symbol.asyncIterator](), 1)).rejects.toMatchObject({ code: "journal_gap" });
    ac.abort();
    await it.return?.(undefined);
    await it2.return?.(undefined);
    await j.close();
  });

  it("read() seeks with the sparse index of sealed segments", async () => {
    const dir = await tempDir();
    const j = await openJournal({ dir, segmentBytes: 64 * 1024, durability: "none" });
    for (let b = 0; b < 20; b++) {
      // appendMany is one unit: its records are never split across a roll.
      const { seqs } = await j.appendMany(Array.from({ length: 100 }, (_, i) => ({ action: "put", item_type: "t", item_id: `k${b * 100 + i}`, payload: { i } })));
      expect(seqs).toEqual(Array.from({ length: 100 }, (_, i) => b * 100 + i + 1));
    }
    await j.append({ action: "put", item_type: "t", item_id: "last", payload: 1 });
    const segs = await segmentFiles(dir);
    expect(segs.length).toBeGreaterThan(3);
    const seqs: number[] = [];
    for await (const r of j.read({ fromSeq: 1500, toSeq: 1505 })) seqs.push(r.seq);
    expect(seqs).toEqual([1500, 1501, 1502, 1503, 1504, 1505]);
    await j.close();
  });
});
