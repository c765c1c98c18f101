import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FaultFs, createFaultFs } from "@snap/fs";
import { isSnapError } from "@snap/schema";
import { type Refs } from "../src/index.js";
import { openStore, tempDir } from "./helpers.js";
// @ts-expect-error plain .mjs fixture shared with the child processes
import { COUNTER, OTHERS, oid, stateAfter, txnUpdates as txnUpdatesOf } from "./fixtures/txn-plan.mjs";

const SETUP_TXNS = 2; // committed before the fault seam is installed
const TXNS = 3; // run through the fault seam, each with several refs

let root: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir("snap-refs-power-"));
});
afterAll(async () => {
  await cleanup();
});

async function prefixOf(refs: Refs): Promise<number> {
  const counter = await refs.read(COUNTER);
  if (counter === null) return 0;
  for (let i = 0; i < SETUP_TXNS + TXNS; i++) if (oid(i) === counter) return i + 1;
  throw new Error(`unknown counter ${counter}`);
}

type Mode = { refFiles: "deferred" | "per-transaction"; maxUnflushedSeqs?: number };

/** A store with SETUP_TXNS committed, then the fault seam over it; runs TXNS through it. */
async function run(dir: string, failAfter: number | null, mode: Mode): Promise<{ fault: FaultFs; acked: number; attempted: number }> {
  const setup = await openStore(dir, mode);
  for (let i = 0; i < SETUP_TXNS; i++) await setup.refs.transaction(txn(i), { reason: `txn ${i}` });
  await setup.close();
  const fault = await createFaultFs({ root: dir });
  let acked = SETUP_TXNS;
  let attempted = SETUP_TXNS;
  fault.failAfter(failAfter);
  try {
    const store = await openStore(dir, { fs: fault, ...mode });
    for (let i = SETUP_TXNS; i < SETUP_TXNS + TXNS; i++) {
      attempted = i + 1;
      await store.refs.transaction(txn(i), { reason: `txn ${i}` });
      acked = i + 1;
    }
    await store.close();
  } catch (err) {
    if (!isSnapError(err, "fault_injected") && !fault.stopped) throw err;
  }
  return { fault, acked, attempted };
}

const txn = (i: number) => txnUpdatesOf(i) as { ref: string; set: string }[];

// "deferred" with the default lag never flushes ref files during the faulted transactions (a
// power loss undoes every ref file they wrote); with a lag of 2 the flush falls between them;
// "per-transaction" flushes in every one.
//
// "watermark survives": the fault seam drops every write that was not fsynced, but a real disk
// may keep some of them and lose others. The one that matters is the watermark (refs-applied,
// never fsynced on the transaction path): here it survives with the last value written before
// the crash, while everything else un-fsynced is lost. Sound only if the watermark is never
// written before the ref files it covers are durable.
const MODES: [string, Mode, boolean][] = [
  ["deferred (default lag)", { refFiles: "deferred" }, false],
  ["deferred, maxUnflushedSeqs 2", { refFiles: "deferred", maxUnflushedSeqs: 2 }, false],
  ["deferred, maxUnflushedSeqs 2, watermark survives", { refFiles: "deferred", maxUnflushedSeqs: 2 }, true],
  ["per-transaction", { refFiles: "per-transaction" }, false],
  ["per-transaction, watermark survives", { refFiles: "per-transaction" }, true],
];

describe.each(MODES)("power loss at every fsync boundary (fault seam), refFiles %s", (label, mode, keepWatermark) => {
  it("after recovery, refs equal a prefix of the transactions and every acknowledged one is applied", async () => {
    // Dry run: learn where the fsyncs are.
    const dry = await run(join(root, `dry-${label}`), null, mode);
    expect(dry.acked).toBe(SETUP_TXNS + TXNS);
    const syncs = dry.fault.log.filter((op) => op.kind === "fsync" || op.kind === "datasync" || op.kind === "syncDir");
    expect(syncs.length).toBeGreaterThan(TXNS * 2);
    const watermarkWrites = dry.fault.log.filter((op) => op.kind === "rename" && (op.to ?? "").endsWith("refs-applied"));
    if (keepWatermark) expect(watermarkWrites.length).toBeGreaterThan(0);
    // Crash right before and right after every fsync-like operation (and watermark write).
    const points = [...new Set([...syncs, ...watermarkWrites].flatMap((op) => [op.index - 1, op.index]))].sort((a, b) => a - b);
    let rolledForward = 0;
    for (const k of points) {
      const dir = join(root, `k${k}-${label}`);
      const { fault, acked, attempted } = await run(dir, k, mode);
      const watermark = keepWatermark ? await readFile(join(dir, "refs-applied")).catch(() => undefined) : undefined;
      await fault.powerLoss();
      if (watermark !== undefined) await writeFile(join(dir, "refs-applied"), watermark);
      // The crashed holder is gone; a real restart takes its lock over (dead pid): emulate that
      // (this test process is still alive, so the lock would wait for its stale timeout).
      await rm(join(dir, "lock"), { recursive: true, force: true });
      // Reopen through the same seam: after powerLoss() it reports a new boot, as a real
      // restart would (the lock's generation rule depends on it).
      const after = await openStore(dir, { fs: fault, ...mode }); // opens with recover()
      const p = await prefixOf(after.refs);
      expect(p, `k=${k}: acknowledged ${acked}`).toBeGreaterThanOrEqual(acked);
      expect(p, `k=${k}: attempted ${attempted}`).toBeLessThanOrEqual(attempted);
      if (p > acked) rolledForward++;
      const want = stateAfter(p) as Map<string, string>;
      for (const ref of [COUNTER, ...OTHERS] as string[]) {
        expect(await after.refs.read(ref), `k=${k} ${ref} after ${p} txns`).toBe(want.get(ref) ?? null);
      }
      const report = await after.refs.verify();
      expect(report.ok, `k=${k} ${JSON.stringify(report)}`).toBe(true);
      // The store keeps working.
      await after.refs.transaction(txnUpdatesOf(p), { reason: "after crash" });
      await after.close();
      await rm(dir, { recursive: true, force: true });
    }
    console.log(`power loss (${label}): ${points.length} crash points, ${rolledForward} committed-unacknowledged rolled forward`);
  });
});
