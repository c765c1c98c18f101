import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FaultOp, createFaultFs } from "@snap/fs";
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

/** Runs one transaction of `n` refs through a counting seam and classifies its fsyncs. */
async function profile(n: number, name: string) {
  const dir = join(root, name);
  const fs = await createFaultFs({ root: dir });
  const store = await openStore(dir, { fs });
  await store.refs.transaction([{ ref: "refs/heads/warmup", set: oid("w") }]); // journal segment exists, lock file created
  const updates: RefUpdate[] = Array.from({ length: n }, (_, i) => ({ ref: `refs/runs/main/r${i}`, expect: "absent", set: oid(i) }));
  fs.resetCounts();
  await store.refs.transaction(updates, { reason: `${n} refs` });
  const log = [...fs.log];
  await store.close();
  const rel = (op: FaultOp) => relative(dir, op.path);
  const isJournal = (op: FaultOp) => rel(op).startsWith("journal/");
  const isRefPath = (op: FaultOp) => rel(op) === "HEAD" || rel(op) === "refs" || rel(op).startsWith("refs/");
  const syncs = log.filter((op) => SYNC_KINDS.has(op.kind));
  const journalSyncs = syncs.filter(isJournal);
  const refSyncs = syncs.filter(isRefPath);
  const other = syncs.filter((op) => !isJournal(op) && !isRefPath(op));
  // The ref-file fsyncs form one batch: contiguous, after every ref file was renamed in place.
  const renames = log.filter((op) => op.kind === "rename" && isRefPath({ ...op, path: op.to ?? op.path }));
  const firstRefSync = Math.min(...refSyncs.map((op) => op.index));
  const lastRefSync = Math.max(...refSyncs.map((op) => op.index));
  const between = log.filter((op) => op.index > firstRefSync && op.index < lastRefSync && !SYNC_KINDS.has(op.kind));
  return {
    journalSyncs,
    refFileSyncs: refSyncs.filter((op) => op.kind === "fsync"),
    refDirSyncs: refSyncs.filter((op) => op.kind === "syncDir"),
    other,
    lastRename: Math.max(...renames.map((op) => op.index)),
    firstRefSync,
    between,
    journalSyncIndex: journalSyncs[0]?.index ?? -1,
  };
}

describe("fsyncs per transaction, counted through the fs seam", () => {
  it("one journal fsync and one batched ref-file flush per transaction, for 1 ref and for 100", async () => {
    for (const n of [1, 100]) {
      const p = await profile(n, `n${n}`);
      // Exactly one journal fsync: the commit point.
      expect(p.journalSyncs.map((op) => op.kind), `n=${n}`).toEqual(["datasync"]);
      // Every ref file fsynced exactly once, in one batch after the commit point and after
      // every rename: nothing but fsyncs between the batch's first and last fsync.
      expect(p.refFileSyncs).toHaveLength(n);
      expect(new Set(p.refFileSyncs.map((op) => op.path)).size).toBe(n);
      expect(p.firstRefSync).toBeGreaterThan(p.journalSyncIndex);
      expect(p.firstRefSync).toBeGreaterThan(p.lastRename);
      expect(p.between, `n=${n}: non-fsync operations inside the batch`).toEqual([]);
      // Each directory once (refs/runs/main, plus refs and refs/runs for new directories).
      expect(new Set(p.refDirSyncs.map((op) => op.path)).size).toBe(p.refDirSyncs.length);
      expect(p.refDirSyncs.length).toBeLessThanOrEqual(3);
      // Nothing else is fsynced by a transaction (the watermark and the lock are not).
      expect(p.other.map((op) => `${op.kind} ${op.path}`)).toEqual([]);
    }
  });
});
