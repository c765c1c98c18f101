import { afterAll, describe, expect, it } from "vitest";
import { openJournal, type JournalGap, type JournalRecord } from "../src/index.js";
import { cleanupTemps, tempDir } from "./helpers.js";

afterAll(cleanupTemps);

async function archivedJournal() {
  const dir = await tempDir();
  const j = await openJournal({ dir, segmentBytes: 1024, durability: "none" });
  for (let i = 0; i < 60; i++) await j.append({ action: "put", item_type: "t", item_id: `k${i % 5}`, payload: { i } });
  await j.checkpoint();
  for (let i = 60; i < 80; i++) await j.append({ action: "put", item_type: "t", item_id: `k${i % 5}`, payload: { i } });
  await j.checkpoint();
  const report = await j.archive();
  expect(report.archived_segments.length).toBeGreaterThan(0);
  return j;
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe("read() below archived history", () => {
  it("throws journal_gap by default (never starts silently at the oldest live segment), before yielding anything", async () => {
    const j = await archivedJournal();
    try {
      let yielded = 0;
      const err = await (async () => {
        try {
          for await (const _ of j.read({ fromSeq: 1 })) yielded++;
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(err).toMatchObject({ code: "journal_gap", data: { from_seq: 1 } });
      expect(yielded).toBe(0);
    } finally {
      await j.close();
    }
  });

  it("onGap 'yield' yields the same marker as follow() and continues at the oldest live record; a callback sees it too", async () => {
    const j = await archivedJournal();
    try {
      const items = await collect(j.read({ fromSeq: 1, onGap: "yield" }));
      const gap = items[0] as JournalGap;
      expect(gap).toMatchObject({ gap: true, fromSeq: 1 });
      expect(gap.oldestSeq).toBeGreaterThan(1);
      const seqs = items.slice(1).map((r) => (r as JournalRecord).seq);
      expect(seqs[0]).toBe(gap.oldestSeq);
      expect(seqs[seqs.length - 1]).toBe(80);
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => gap.oldestSeq + i));
      // follow() reports the same gap
      const ac = new AbortController();
      const f = j.follow({ fromSeq: 1, signal: ac.signal })[Symbol.asyncIterator]();
      const first = (await f.next()).value as JournalGap;
      ac.abort();
      await f.return?.(undefined);
      expect(first).toEqual(gap);
      const seen: JournalGap[] = [];
      const viaCallback = await collect(j.read({ fromSeq: 1, onGap: (g) => seen.push(g) }));
      expect(seen).toEqual([gap]);
      expect(viaCallback.map((r) => r.seq)).toEqual(seqs);
    } finally {
      await j.close();
    }
  });

  it("includeArchive reads archive/ too: every seq from 1, no gap; a cursor inside live history has no gap", async () => {
    const j = await archivedJournal();
    try {
      const all = await collect(j.read({ fromSeq: 1, includeArchive: true }));
      expect(all.map((r) => r.seq)).toEqual(Array.from({ length: 80 }, (_, i) => i + 1));
      const live = await collect(j.read({ fromSeq: 79 }));
      expect(live.map((r) => r.seq)).toEqual([79, 80]);
      expect(() => j.read({ fromSeq: 1, onGap: "bogus" as never })).toThrow(/unknown onGap/);
    } finally {
      await j.close();
    }
  });
});
