import { copyFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createFaultFs, type FsSeam } from "@snap/fs";
import { openJournal } from "../src/index.js";
import { cleanupTemps, tempDir } from "./helpers.js";

afterAll(cleanupTemps);

/**
 * A scripted workload: appends with every durability, concurrent group appends, rolls
 * (tiny segments), a checkpoint, close. `acked` collects every record whose append resolved
 * with "sync" or "group" durability: those must survive any power loss after they resolved.
 */
async function workload(fs: FsSeam, dir: string, lockPath: string, acked: Map<number, number>, lockHold: "open" | "append"): Promise<void> {
  const j = await openJournal({ dir, fs, lockPath, segmentBytes: 1024, lockTimeoutMs: 2000, lockHold });
  for (let i = 0; i < 15; i++) {
    const durability = i % 3 === 0 ? "none" : i % 3 === 1 ? "sync" : "group";
    const { seq } = await j.append({ action: "put", item_type: "t", item_id: `k${i % 4}`, payload: { i } }, { durability });
    if (durability !== "none") acked.set(seq, i);
    if (i === 8) await j.checkpoint();
  }
  const group = await Promise.all(
    [100, 101, 102, 103].map((i) => j.append({ action: "put", item_type: "t", item_id: `g${i}`, payload: { i } }, { durability: "group" }).then((r) => [r.seq, i] as const)),
  );
  for (const [seq, i] of group) acked.set(seq, i);
  await j.close();
}

describe.each(["open", "append"] as const)("power loss through the fault seam (lockHold %s)", (lockHold) => {
  it("at every fsync boundary of a scripted workload, every record acknowledged with sync/group durability survives", async () => {
    // Dry run: how many mutating operations does the workload perform?
    const dryRoot = await tempDir();
    const dry = await createFaultFs({ root: join(dryRoot, "j") });
    await workload(dry, join(dryRoot, "j"), join(dryRoot, "lock"), new Map(), lockHold);
    const total = dry.mutations;
    // The blocking append path (one write + one fdatasync on the calling thread) is the one
    // exercised: the fault seam models it, so the crashes below land inside it too.
    const blockingSyncs = dry.log.filter((op) => op.kind === "datasync" && op.sync === true).length;
    expect(blockingSyncs).toBeGreaterThan(lockHold === "open" ? 5 : 0);
    expect(dry.log.filter((op) => op.kind === "write" && op.sync === true).length).toBeGreaterThan(10);
    const fsyncs = dry.counts.fsync + dry.counts.datasync;
    expect(total).toBeGreaterThan(50);
    expect(fsyncs).toBeGreaterThan(20);
    // Boundaries: just after every fsync / fdatasync / directory fsync, and just before the
    // first and after the last operation. (SNAP_POWERLOSS_ALL=1: every mutating operation.)
    const all = process.env.SNAP_POWERLOSS_ALL === "1";
    const boundaries = [0, total];
    for (const op of dry.log) if (all || op.kind === "fsync" || op.kind === "datasync" || op.kind === "syncDir") boundaries.push(op.index);
    const ks = [...new Set(boundaries)].sort((a, b) => a - b);
    expect(ks.length).toBeGreaterThan(fsyncs);
    let crashedRuns = 0;
    for (const k of ks) {
      const root = await tempDir();
      const dir = join(root, "j");
      const fault = await createFaultFs({ root: dir });
      fault.failAfter(k);
      const acked = new Map<number, number>();
      try {
        await workload(fault, dir, join(root, "lock"), acked, lockHold);
      } catch (err) {
        crashedRuns++;
        expect((err as { code?: string }).code, `k=${k}: ${String(err)}`).toBe("fault_injected");
      }
      await fault.powerLoss();
      fault.failAfter(null);
      // After power loss the old holder is gone: recover under a fresh lock path, which
      // continues the old path's generations (lockHold "append" took several, and a writer
      // whose generation is below the journal's newest is refused as stale).
      await copyFile(join(root, "lock.gen"), join(root, "lock-after.gen")).catch(() => undefined);
      const j = await openJournal({ dir, lockPath: join(root, "lock-after") });
      try {
        const found = new Map<number, unknown>();
        for await (const r of j.read()) found.set(r.seq, (r.payload as { i: number }).i);
        for (const [seq, i] of acked) expect(found.get(seq), `k=${k}: acknowledged seq ${seq} lost`).toBe(i);
        // The journal stays writable and clean apart from an adjudicated tail.
        await j.append({ action: "put", item_type: "t", item_id: "after", payload: { k } });
        const doc = await j.doctor();
        expect(doc.ok, `k=${k}: ${JSON.stringify(doc.anomalies)}`).toBe(true);
      } finally {
        await j.close();
      }
    }
    // The last few operations (lock release in close) are best effort and never throw.
    expect(crashedRuns).toBeGreaterThan(ks.length * 0.9);
  });
});
