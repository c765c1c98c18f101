import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FaultFs, type FaultOp, createFaultFs } from "@snap/fs";
import { type RefUpdate } from "../src/index.js";
import { oid, openStore, tempDir } from "./helpers.js";

let root: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir("snap-refs-fsync-"));
});
afterAll(async () => {
  await cleanup();
});

const SYNC_KINDS = new Set(["fsync", "datasync", "syncDir"]);

/** Classifies the fault seam's log of one store directory. */
function classify(dir: string, log: FaultOp[]) {
  const rel = (op: FaultOp) => relative(dir, op.path);
  const isJournal = (op: FaultOp) => rel(op).startsWith("journal/");
  const isRefPath = (op: FaultOp) => rel(op) === "HEAD" || rel(op) === "refs" || rel(op).startsWith("refs/");
  const syncs = log.filter((op) => SYNC_KINDS.has(op.kind));
  const refSyncs = syncs.filter(isRefPath);
  // A ref-file flush is one FsyncBatch: a maximal run of ref fsyncs with nothing else between.
  const batches: FaultOp[][] = [];
  for (const op of log) {
    const last = batches[batches.length - 1];
    if (SYNC_KINDS.has(op.kind) && isRefPath(op)) {
      const prev = log[log.indexOf(op) - 1];
      if (last !== undefined && prev !== undefined && last[last.length - 1] === prev) last.push(op);
      else batches.push([op]);
    }
  }
  const watermarkWrites = log.filter((op) => op.kind === "rename" && relative(dir, op.to ?? "") === "refs-applied");
  return {
    journalSyncs: syncs.filter(isJournal),
    refFileSyncs: refSyncs.filter((op) => op.kind === "fsync"),
    refDirSyncs: refSyncs.filter((op) => op.kind === "syncDir"),
    batches,
    other: syncs.filter((op) => !isJournal(op) && !isRefPath(op)),
    refRenames: log.filter((op) => op.kind === "rename" && isRefPath({ ...op, path: op.to ?? op.path })),
    watermarkWrites,
  };
}

async function storeWithSeam(name: string, options: { refFiles?: "deferred" | "per-transaction"; maxUnflushedSeqs?: number } = {}) {
  const dir = join(root, name);
  const fs = await createFaultFs({ root: dir });
  const store = await openStore(dir, { fs, ...options });
  await store.refs.transaction([{ ref: "refs/heads/warmup", set: oid("w") }]); // journal segment exists, lock file created
  await store.refs.flush();
  return { dir, fs, store };
}

const manyRefs = (n: number, tag: string): RefUpdate[] =>
  Array.from({ length: n }, (_, i) => ({ ref: `refs/runs/main/r${i}`, expect: "absent", set: oid(`${tag}${i}`) }));

async function profile(fs: FaultFs, dir: string, fn: () => Promise<unknown>) {
  fs.resetCounts();
  const before = fs.log.length;
  await fn();
  return classify(dir, fs.log.slice(before));
}

describe("fsyncs per transaction, counted through the fs seam", () => {
  it('refFiles "per-transaction": one journal fsync and one batched ref-file flush per transaction, for 1 ref and for 100', async () => {
    for (const n of [1, 100]) {
      const { dir, fs, store } = await storeWithSeam(`pt${n}`, { refFiles: "per-transaction" });
      const p = await profile(fs, dir, () => store.refs.transaction(manyRefs(n, "pt"), { reason: `${n} refs` }));
      await store.close();
      // Exactly one journal fsync: the commit point.
      expect(p.journalSyncs.map((op) => op.kind), `n=${n}`).toEqual(["datasync"]);
      // Every ref file fsynced exactly once, in one batch after the commit point and after
      // every rename: nothing but fsyncs between the batch's first and last fsync.
      expect(p.batches, `n=${n}`).toHaveLength(1);
      expect(p.refFileSyncs).toHaveLength(n);
      expect(new Set(p.refFileSyncs.map((op) => op.path)).size).toBe(n);
      expect(p.batches[0]![0]!.index).toBeGreaterThan(p.journalSyncs[0]!.index);
      expect(p.batches[0]![0]!.index).toBeGreaterThan(Math.max(...p.refRenames.map((op) => op.index)));
      // Each directory once (refs/runs/main, plus refs and refs/runs for new directories).
      expect(new Set(p.refDirSyncs.map((op) => op.path)).size).toBe(p.refDirSyncs.length);
      expect(p.refDirSyncs.length).toBeLessThanOrEqual(3);
      // The watermark is written once, after the batch; nothing else is fsynced (not the
      // watermark, not the lock).
      expect(p.watermarkWrites).toHaveLength(1);
      expect(p.watermarkWrites[0]!.index).toBeGreaterThan(p.batches[0]![p.batches[0]!.length - 1]!.index);
      expect(p.other.map((op) => `${op.kind} ${op.path}`)).toEqual([]);
    }
  });

  it('refFiles "deferred" (default): one journal fsync per transaction and no ref-file fsync; flush() is one batch covering every ref written since', async () => {
    for (const n of [1, 100]) {
      const { dir, fs, store } = await storeWithSeam(`df${n}`);
      const txn = await profile(fs, dir, () => store.refs.transaction(manyRefs(n, "df"), { reason: `${n} refs` }));
      expect(txn.journalSyncs.map((op) => op.kind), `n=${n}`).toEqual(["datasync"]);
      expect(txn.refRenames, `n=${n}: every ref file renamed into place`).toHaveLength(n);
      expect(txn.batches, `n=${n}: no ref fsync in the transaction`).toEqual([]);
      expect(txn.watermarkWrites).toEqual([]);
      expect(txn.other.map((op) => `${op.kind} ${op.path}`)).toEqual([]);
      // The readers see the new values at once (renamed into place, durable or not).
      expect(await store.refs.read(`refs/runs/main/r${n - 1}`)).toBe(oid(`df${n - 1}`));

      const flushed = await profile(fs, dir, () => store.refs.flush());
      expect(flushed.journalSyncs).toEqual([]);
      expect(flushed.batches).toHaveLength(1);
      expect(flushed.refFileSyncs).toHaveLength(n);
      expect(new Set(flushed.refFileSyncs.map((op) => op.path)).size).toBe(n);
      expect(new Set(flushed.refDirSyncs.map((op) => op.path)).size).toBe(flushed.refDirSyncs.length);
      expect(flushed.refDirSyncs.length).toBeLessThanOrEqual(3);
      // The watermark is written after the batch (durably: flush() promises no replay after it).
      expect(flushed.watermarkWrites).toHaveLength(1);
      expect(flushed.watermarkWrites[0]!.index).toBeGreaterThan(flushed.batches[0]![flushed.batches[0]!.length - 1]!.index);
      // A second flush has nothing to do.
      const again = await profile(fs, dir, () => store.refs.flush());
      expect(again.batches).toEqual([]);
      await store.close();
    }
  });

  it('refFiles "deferred" flushes by itself once the watermark lags maxUnflushedSeqs behind: at most one batch per transaction, each covering every transaction since the last', async () => {
    const lag = 4;
    const { dir, fs, store } = await storeWithSeam("lag", { maxUnflushedSeqs: lag });
    let durable = (await store.refs.flush()).durableSeq;
    const k = 13;
    let expectedBatches = 0;
    const perTxn: ReturnType<typeof classify>[] = [];
    const sinceFlush = new Set<string>();
    for (let i = 0; i < k; i++) {
      const ref = `refs/heads/b${i % 3}`;
      let seq = 0;
      const p = await profile(fs, dir, async () => {
        seq = (await store.refs.transaction([{ ref, set: oid(`lag${i}`) }])).seq;
      });
      sinceFlush.add(join(dir, ref));
      perTxn.push(p);
      expect(p.journalSyncs.map((op) => op.kind), `txn ${i}`).toEqual(["datasync"]);
      if (seq - durable >= lag) {
        expectedBatches++;
        durable = seq;
        expect(p.batches, `txn ${i} (seq ${seq}) flushes`).toHaveLength(1);
        expect(new Set(p.refFileSyncs.map((op) => op.path)), `txn ${i}: the files written since the last flush`).toEqual(sinceFlush);
        expect(p.watermarkWrites).toHaveLength(1);
        sinceFlush.clear();
      } else {
        expect(p.batches, `txn ${i} (seq ${seq}) does not flush`).toEqual([]);
        expect(p.watermarkWrites).toEqual([]);
      }
    }
    expect(expectedBatches).toBeGreaterThanOrEqual(Math.floor(k / lag) - 1);
    expect(perTxn.reduce((a, p) => a + p.batches.length, 0)).toBe(expectedBatches);
    await store.close();
  });
});

