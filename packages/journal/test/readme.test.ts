import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openJournal } from "../src/index.js";
import { cleanupTemps, tempDir } from "./helpers.js";

afterAll(cleanupTemps);

describe("README usage example", () => {
  it("runs as documented", async () => {
    const dir = join(await tempDir(), "events");
    const journal = await openJournal({ dir, durability: "sync" });
    const { seq } = await journal.append({ action: "put", item_type: "ref", item_id: "main", payload: { oid: "ab12" } });
    await journal.append({ action: "delete", item_type: "ref", item_id: "old" });
    await journal.withLock(async (tx) => {
      if ((await tx.entityRev("ref", "main")) === 1) {
        await tx.append({ action: "put", item_type: "ref", item_id: "main", payload: { oid: "cd34" } });
      }
    });
    const seqs: number[] = [];
    for await (const record of journal.read({ fromSeq: 1 })) seqs.push(record.seq);
    expect(seqs).toEqual([1, 2, 3]);
    const state = await journal.state();
    expect(state.get("ref", "main")?.payload).toEqual({ oid: "cd34" });
    expect(state.get("ref", "main")?.entity_rev).toBe(2);
    expect(state.get("ref", "old")).toBeUndefined();
    const ac = new AbortController();
    const followed: number[] = [];
    for await (const item of journal.follow({ fromSeq: seq, signal: ac.signal })) {
      if ("gap" in item) throw new Error("no gap expected");
      followed.push(item.seq);
      ac.abort();
    }
    expect(followed).toEqual([1]);
    const ck = await journal.checkpoint();
    expect(ck).toMatchObject({ head_seq: 3, count: 2, created: true });
    const doc = await journal.doctor();
    expect(doc.ok).toBe(true);
    expect(doc.counters.records).toBe(3);
    expect(journal.durableSeq).toBe(3);
    expect(journal.writtenSeq).toBe(3);
    await journal.close();
  });

  it("doctor({bench:true}) qualifies the disk with p50/p99 fdatasync latency; stats() and dump() describe the bytes", async () => {
    const dir = await tempDir();
    const j = await openJournal({ dir, segmentBytes: 2048 });
    for (let i = 0; i < 30; i++) await j.append({ action: "put", item_type: "t", item_id: `k${i % 3}`, payload: { i } }, { durability: "none" });
    const doc = await j.doctor({ bench: true, benchSamples: 20 });
    expect(doc.bench?.samples).toBe(20);
    expect(doc.bench!.p99_ms).toBeGreaterThanOrEqual(doc.bench!.p50_ms);
    expect(["good", "slow", "unsafe-fast"]).toContain(doc.bench!.verdict);
    await j.checkpoint();
    await j.append({ action: "put", item_type: "t", item_id: "x", payload: 1 });
    await j.checkpoint();
    const st = await j.stats();
    expect(st.superseded_bytes).toBeGreaterThan(0);
    expect(st.live_bytes).toBeGreaterThan(0);
    expect(st.reclaimable_bytes).toBeGreaterThan(0);
    const archived = await j.archive();
    expect(archived.archived_segments.length).toBe(st.segments.filter((s) => s.archivable).length);
    const lines = [];
    for await (const l of j.dump({ includeArchive: true })) lines.push(l);
    expect(lines.filter((l) => l.status === "ok" && l.seq !== undefined).length).toBe(31);
    expect(lines.every((l) => l.status === "ok")).toBe(true);
    const v = await j.verify();
    expect(v).toMatchObject({ ok: true, from_genesis: true, checkpoints_checked: 2, records: 31 });
    await j.close();
  });
});
