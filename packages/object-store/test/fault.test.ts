/**
 * Power loss at every operation boundary, through @snap/fs's fault-injecting seam.
 * A small workload runs once to count its mutating filesystem operations (N); then, for
 * every k in 0..N, it runs again on a fresh directory with the seam refusing operation k+1
 * (the process "stops" there), the seam simulates a power loss (unsynced data and names
 * are dropped), and a new store on the real filesystem checks what survived: every object
 * whose durability was acknowledged is present and intact, and nothing corrupt is listed.
 */
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createFaultFs, type FaultFs } from "@snap/fs";
import { isSnapError } from "@snap/schema";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openObjectStore, PACK_DIR_NAME, type ObjectStore } from "../src/index.js";
import { bytesOf, collect, sha256 } from "./contract.js";
import { debrisUnder } from "./fs-debris.js";

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "snap-os-fault-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** "pack": fsync "batch" with small objects packed (one pack per flush; a delete repacks). */
type Mode = "always" | "batch" | "pack";

/**
 * The workload. `durable` receives each oid once its durability is acknowledged: when its put
 * resolves ("always"), or when a flush() after it resolves ("batch").
 */
async function workload(fs: FaultFs, dir: string, mode: Mode, durable: Set<string>): Promise<void> {
  const store: ObjectStore = await openObjectStore(mode === "pack" ? { dir, fsync: "batch", pack: true, fs } : { dir, fsync: mode, fs });
  const pending: string[] = [];
  const ack = (oid: string): void => {
    if (mode === "always") durable.add(oid);
    else pending.push(oid);
  };
  const flush = async (): Promise<void> => {
    await store.flush();
    for (const oid of pending.splice(0)) durable.add(oid);
  };
  ack((await store.putBytes("first object")).oid);
  ack((await store.putBytes(bytesOf(3000, 1))).oid);
  ack((await store.putStream([bytesOf(70_000, 2), bytesOf(10_000, 3)])).oid);
  ack((await store.putObject({ type: "note", schema_version: 1, text: "structured" })).oid);
  if (mode !== "always") await flush();
  ack((await store.putBytes("first object")).oid); // exists: freshen (+ fsync in always mode)
  ack((await store.putBytes(bytesOf(500, 4))).oid);
  if (mode !== "always") await flush();
  if (mode === "pack") {
    // GC-style delete of one packed object: its pack is rewritten with the survivors, then
    // unlinked. The deleted object may or may not come back; the survivors must all survive.
    const gone = sha256(bytesOf(3000, 1));
    durable.delete(gone);
    await store.deleteMany([gone]);
    await flush();
  }
  await store.close();
}

async function runAt(
  mode: Mode,
  k: number | null,
): Promise<{ fs: FaultFs; caseRoot: string; dir: string; durable: Set<string>; stoppedAt: boolean }> {
  const caseRoot = await mkdtemp(join(root, `${mode}-${k ?? "count"}-`));
  const fs = await createFaultFs({ root: caseRoot });
  const dir = join(caseRoot, "objects");
  const durable = new Set<string>();
  fs.failAfter(k);
  try {
    await workload(fs, dir, mode, durable);
  } catch (err) {
    if (!isSnapError(err, "fault_injected")) throw err;
  }
  return { fs, caseRoot, dir, durable, stoppedAt: fs.stopped };
}

async function checkRecovered(dir: string, durable: Set<string>): Promise<void> {
  const store = await openObjectStore({ dir, fsync: "never" });
  try {
    for (const oid of durable) {
      expect(await store.has(oid), `acknowledged ${oid} is present`).toBe(true);
      expect(sha256(await store.getBytes(oid))).toBe(oid);
    }
    const result = await store.verify();
    expect(result.corrupt).toEqual([]);
    for (const oid of await collect(store.list())) expect(oid).toMatch(/^[0-9a-f]{64}$/);
    await new Promise((r) => setTimeout(r, 5)); // debris just written is younger than "now"
    await store.cleanTmp({ olderThanMs: 0 });
    expect(await debrisUnder(dir)).toEqual([]);
  } finally {
    await store.close();
  }
}

describe.each(["always", "batch", "pack"] as const)("power loss at every operation boundary, fsync %s", (mode) => {
  it("every acknowledged object is intact after recovery; nothing corrupt is listed", async () => {
    const full = await runAt(mode, null);
    const n = full.fs.mutations;
    expect(full.durable.size).toBe(mode === "pack" ? 4 : 5);
    expect(full.stoppedAt).toBe(false);
    if (mode === "always") expect(full.fs.counts.fsync).toBeGreaterThanOrEqual(5);
    // Batch mode publishes small objects through the seam's synchronous facet (the fast
    // path), so these boundaries are the fast path's; "always" never uses it.
    const viaSync = full.fs.log.filter((op) => op.sync).map((op) => op.kind);
    if (mode !== "always") expect(new Set(viaSync)).toEqual(new Set(["writeFile", "link", "unlink"]));
    else expect(viaSync).toEqual([]);
    let stops = 0;
    for (let k = 0; k <= n; k++) {
      const run = await runAt(mode, k);
      if (run.stoppedAt) stops++;
      await run.fs.powerLoss();
      await checkRecovered(run.dir, run.durable);
      expect(run.fs.mutations).toBe(Math.min(k, n)); // the same op sequence as the counting run
      await rm(run.caseRoot, { recursive: true, force: true });
    }
    expect(stops).toBe(n); // k = n runs to completion
    // After the full run and a power loss, everything is still there.
    await full.fs.powerLoss();
    await checkRecovered(full.dir, full.durable);
    expect((await collect((await openObjectStore({ dir: full.dir, backend: "fs" })).list())).length).toBe(mode === "pack" ? 4 : 5);
    if (mode === "pack") {
      // Two packs were written and one was rewritten: what is left is packs, not loose files.
      expect((await readdir(join(full.dir, PACK_DIR_NAME))).filter((n) => n.endsWith(".pack")).length).toBe(2);
    }
  });

  it("a crash tearing any un-synced write never yields a listed corrupt object", async () => {
    const full = await runAt(mode, null);
    // "writeFile": a small put's tmp file, created and written in one synchronous call.
    const writes = full.fs.log.filter((op) => op.kind === "write" || op.kind === "writeFile").map((op) => op.index);
    for (const index of writes) {
      const run = await runAt(mode, index); // the write is the last operation that ran
      const caseDir = run.dir;
      await run.fs.tearLastWrite(Math.floor((run.fs.log.at(-1)?.bytes ?? 0) / 2)).catch(() => undefined);
      expect(["write", "writeFile"]).toContain(run.fs.log.at(-1)?.kind); // the same op sequence as the counting run
      await checkRecovered(caseDir, run.durable);
      await rm(run.caseRoot, { recursive: true, force: true });
    }
    expect(writes.length).toBeGreaterThan(4);
  });
});

describe("durability costs (fault seam counters)", () => {
  it("batch mode fsyncs nothing per put and everything once at flush; always mode fsyncs each put", async () => {
    const counts: Record<string, { fsync: number; syncDir: number }> = {};
    for (const mode of ["always", "batch", "never", "pack"] as const) {
      const caseRoot = join(root, `count-${mode}`);
      const fs = await createFaultFs({ root: caseRoot });
      const dir = join(caseRoot, "objects");
      const store = await openObjectStore(mode === "pack" ? { dir, fsync: "batch", pack: true, fs } : { dir, fsync: mode, fs });
      fs.resetCounts();
      for (let i = 0; i < 20; i++) await store.putBytes(`object ${i}`);
      counts[`${mode}:puts`] = { fsync: fs.counts.fsync, syncDir: fs.counts.syncDir };
      fs.resetCounts();
      await store.flush();
      counts[`${mode}:flush`] = { fsync: fs.counts.fsync, syncDir: fs.counts.syncDir };
      await store.close();
    }
    expect(counts["always:puts"]?.fsync).toBe(20);
    expect(counts["always:puts"]?.syncDir).toBeGreaterThanOrEqual(20);
    expect(counts["batch:puts"]).toEqual({ fsync: 0, syncDir: 0 });
    expect(counts["batch:flush"]?.fsync).toBe(20);
    expect(counts["batch:flush"]?.syncDir).toBeLessThanOrEqual(22); // each fan-out dir once, plus dir and its parent
    expect(counts["never:puts"]).toEqual({ fsync: 0, syncDir: 0 });
    expect(counts["never:flush"]).toEqual({ fsync: 0, syncDir: 0 });
    // Packed: twenty puts are one pack file, so one fsync, plus the pack directory, the
    // objects directory (the pack directory's name) and its parent.
    expect(counts["pack:puts"]).toEqual({ fsync: 0, syncDir: 0 });
    expect(counts["pack:flush"]).toEqual({ fsync: 1, syncDir: 3 });
  });

  it("a delete that rewrites a pack makes the new pack durable before it unlinks the old one (batch mode)", async () => {
    const caseRoot = join(root, "repack-order");
    const fs = await createFaultFs({ root: caseRoot });
    const dir = join(caseRoot, "objects");
    const store = await openObjectStore({ dir, fsync: "batch", pack: true, fs });
    const oids: string[] = [];
    for (let i = 0; i < 10; i++) oids.push((await store.putBytes(`packed ${i}`)).oid);
    await store.flush();
    const [old] = (await readdir(join(dir, PACK_DIR_NAME))).filter((n) => n.endsWith(".pack"));
    fs.resetCounts();
    await store.deleteMany(oids.slice(0, 3));
    const log = fs.log;
    const unlinkOld = log.findIndex((op) => op.kind === "unlink" && op.path.endsWith(`/${old}`));
    const linkNew = log.findIndex((op) => (op.kind === "link" || op.kind === "rename") && op.to?.endsWith(".pack") === true);
    expect(unlinkOld).toBeGreaterThan(-1);
    expect(linkNew).toBeGreaterThan(-1);
    const staged = log[linkNew]?.path as string;
    // The new pack's bytes were fsynced before it was linked, and its name (the pack
    // directory) fsynced after the link, all before the old pack's unlink.
    expect(log.findIndex((op) => op.kind === "fsync" && op.path === staged)).toBeLessThan(linkNew);
    expect(log.findIndex((op) => op.kind === "fsync" && op.path === staged)).toBeGreaterThan(-1);
    const dirSync = log.findIndex((op, i) => i > linkNew && op.kind === "syncDir" && op.path === join(dir, PACK_DIR_NAME));
    expect(dirSync).toBeGreaterThan(linkNew);
    expect(dirSync).toBeLessThan(unlinkOld);
    await store.close();
  });

  it("a flush() called while another is running resolves only once the earlier puts are durable", async () => {
    const caseRoot = join(root, "concurrent-flush");
    const fs = await createFaultFs({ root: caseRoot });
    const store = await openObjectStore({ dir: join(caseRoot, "objects"), fsync: "batch", fs });
    for (let i = 0; i < 30; i++) await store.putBytes(`object ${i}`);
    fs.resetCounts();
    const first = store.flush();
    await store.flush();
    expect(fs.counts.fsync).toBe(30);
    await first;
    await store.close();
  });
});
