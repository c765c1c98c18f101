import { rm } from "node:fs/promises";
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

/** A store with SETUP_TXNS committed, then the fault seam over it; runs TXNS through it. */
async function run(dir: string, failAfter: number | null): Promise<{ fault: FaultFs; acked: number; attempted: number }> {
  const setup = await openStore(dir);
  for (let i = 0; i < SETUP_TXNS; i++) await setup.refs.transaction(txn(i), { reason: `txn ${i}` });
  await setup.close();
  const fault = await createFaultFs({ root: dir });
  let acked = SETUP_TXNS;
  let attempted = SETUP_TXNS;
  fault.failAfter(failAfter);
  try {
    const store = await openStore(dir, { fs: fault });
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

describe("power loss at every fsync boundary (fault seam)", () => {
  it("after recovery, refs equal a prefix of the transactions and every acknowledged one is applied", async () => {
    // Dry run: learn where the fsyncs are.
    const dry = await run(join(root, "dry"), null);
    expect(dry.acked).toBe(SETUP_TXNS + TXNS);
    const syncs = dry.fault.log.filter((op) => op.kind === "fsync" || op.kind === "datasync" || op.kind === "syncDir");
    expect(syncs.length).toBeGreaterThan(TXNS * 2);
    // Crash right before and right after every fsync-like operation.
    const points = [...new Set(syncs.flatMap((op) => [op.index - 1, op.index]))].sort((a, b) => a - b);
    let rolledForward = 0;
    for (const k of points) {
      const dir = join(root, `k${k}`);
      const { fault, acked, attempted } = await run(dir, k);
      await fault.powerLoss();
      // The crashed holder is gone; a real restart takes its lock over (dead pid): emulate that
      // (this test process is still alive, so the lock would wait for its stale timeout).
      await rm(join(dir, "lock"), { recursive: true, force: true });
      // Reopen through the same seam: after powerLoss() it reports a new boot, as a real
      // restart would (the lock's generation rule depends on it).
      const after = await openStore(dir, { fs: fault }); // opens with recover()
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
    console.log(`power loss: ${points.length} crash points, ${rolledForward} committed-unacknowledged rolled forward`);
  });
});
