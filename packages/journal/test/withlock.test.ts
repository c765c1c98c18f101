import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createFaultFs } from "@snap/fs";
import { openJournal } from "../src/index.js";
import { cleanupTemps, readAll, tempDir } from "./helpers.js";

afterAll(cleanupTemps);

describe("withLock()", () => {
  it("re-reads the tail after acquiring the lock: a second writer sees the first one's records and revs", async () => {
    const dir = await tempDir();
    const a = await openJournal({ dir });
    const b = await openJournal({ dir });
    await a.append({ action: "put", item_type: "ref", item_id: "main", payload: 1 });
    await a.append({ action: "put", item_type: "ref", item_id: "main", payload: 2 });
    const seen = await b.withLock(async (tx) => {
      const rev = await tx.entityRev("ref", "main");
      const last = tx.lastSeq;
      const { seq } = await tx.append({ action: "put", item_type: "ref", item_id: "main", payload: 3 });
      return { rev, last, seq };
    });
    expect(seen).toEqual({ rev: 2, last: 2, seq: 3 });
    const { seq } = await a.append({ action: "put", item_type: "ref", item_id: "main", payload: 4 });
    expect(seq).toBe(4);
    const st = await a.state();
    expect(st.get("ref", "main")).toMatchObject({ entity_rev: 4, payload: 4 });
    await a.close();
    await b.close();
  });

  it("check-and-append is atomic: appends from elsewhere wait until the hold ends", async () => {
    const dir = await tempDir();
    const a = await openJournal({ dir });
    const b = await openJournal({ dir });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let entered!: () => void;
    const inside = new Promise<void>((r) => (entered = r));
    const hold = a.withLock(async (tx) => {
      const first = await tx.append({ action: "put", item_type: "t", item_id: "x", payload: "a1" });
      entered();
      await gate;
      const second = await tx.append({ action: "put", item_type: "t", item_id: "x", payload: "a2" });
      return [first.seq, second.seq];
    });
    await inside;
    const other = b.append({ action: "put", item_type: "t", item_id: "x", payload: "b" });
    const sameHandle = a.append({ action: "put", item_type: "t", item_id: "x", payload: "a3" });
    await new Promise((r) => setTimeout(r, 100));
    release();
    expect(await hold).toEqual([1, 2]);
    const seqs = [(await other).seq, (await sameHandle).seq].sort();
    expect(seqs).toEqual([3, 4]);
    expect((await readAll(a)).map((r) => r.payload).slice(0, 2)).toEqual(["a1", "a2"]);
    await a.close();
    await b.close();
  });
});

describe("a crash in the middle of a write (fault seam)", () => {
  it("keeps the first k bytes of the last write: the next open classifies the tail, the next append adjudicates it", async () => {
    const root = await tempDir();
    const dir = join(root, "j");
    for (const keep of [1, 7, 60, 150]) {
      const fault = await createFaultFs({ root: dir });
      const j = await openJournal({ dir, fs: fault, lockPath: join(root, `lock-${keep}`) });
      await j.append({ action: "put", item_type: "t", item_id: "a", payload: keep });
      await j.append({ action: "put", item_type: "t", item_id: "b", payload: "never acknowledged" }, { durability: "none" });
      await fault.tearLastWrite(keep);
      const j2 = await openJournal({ dir, lockPath: join(root, `lock2-${keep}`) });
      expect(j2.report.fragment?.class).toBe("torn");
      await j2.append({ action: "put", item_type: "t", item_id: "c", payload: keep });
      const doc = await j2.doctor();
      expect(doc.ok).toBe(true);
      expect(doc.counters.adjudicated_by_class.torn).toBeGreaterThanOrEqual(1);
      await j2.close();
      void j;
    }
  });
});
