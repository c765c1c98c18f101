/**
 * Deletion on the fs backend: durable through @snap/fs removeFiles (power loss at every
 * operation boundary, through the fault seam), one directory fsync per fan-out directory
 * however many objects are removed.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createFaultFs } from "@snap/fs";
import { isSnapError } from "@snap/schema";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openObjectStore } from "../src/index.js";
import { collect, sha256 } from "./contract.js";

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "snap-os-delete-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const CONTENTS = Array.from({ length: 12 }, (_, i) => `object number ${i}`);
const DOOMED = CONTENTS.slice(0, 8).map((c) => sha256(c));

/** Writes the objects durably with the real filesystem, then returns a fault seam over them. */
async function prepared(name: string) {
  const caseRoot = join(root, name);
  const dir = join(caseRoot, "objects");
  const setup = await openObjectStore({ dir, fsync: "always" });
  for (const c of CONTENTS) await setup.putBytes(c);
  await setup.close();
  return { caseRoot, dir, fs: await createFaultFs({ root: caseRoot }) };
}

describe.each(["always", "batch"] as const)("deleteMany, fsync %s", (mode) => {
  it("power loss at every boundary: a delete acknowledged durable stays deleted; every other object is intact", async () => {
    const probe = await prepared(`${mode}-probe`);
    const store = await openObjectStore({ dir: probe.dir, fsync: mode, fs: probe.fs });
    const before = probe.fs.mutations;
    await store.deleteMany(DOOMED);
    await store.flush();
    const total = probe.fs.mutations - before;
    await store.close();
    expect(total).toBeGreaterThanOrEqual(DOOMED.length);
    for (let k = 0; k <= total; k++) {
      const c = await prepared(`${mode}-k${k}`);
      const s = await openObjectStore({ dir: c.dir, fsync: mode, fs: c.fs });
      c.fs.failAfter(k); // relative to the operations done so far
      let acknowledged = false;
      try {
        await s.deleteMany(DOOMED);
        await s.flush(); // "batch": durable only once this resolves
        acknowledged = true;
      } catch (err) {
        if (!isSnapError(err, "fault_injected")) throw err;
      }
      expect(acknowledged, `k=${k}`).toBe(k >= total);
      await c.fs.powerLoss();
      const check = await openObjectStore({ dir: c.dir, fsync: "never" });
      const left = new Set(await collect(check.list()));
      for (const content of CONTENTS) {
        const oid = sha256(content);
        if (DOOMED.includes(oid)) {
          if (acknowledged) expect(left.has(oid), `k=${k}: deleted ${oid} came back`).toBe(false);
        } else {
          expect(left.has(oid), `k=${k}: kept ${oid}`).toBe(true);
        }
        if (left.has(oid)) expect((await check.getBytes(oid)).toString()).toBe(content);
      }
      expect((await check.verify()).corrupt).toEqual([]);
      await check.close();
      await rm(c.caseRoot, { recursive: true, force: true });
    }
  });
});

describe("deletion costs", () => {
  it("fsync always: one directory fsync per fan-out directory touched, none per object", async () => {
    const c = await prepared("cost");
    const store = await openObjectStore({ dir: c.dir, fsync: "always", fs: c.fs });
    const before = c.fs.counts.syncDir;
    const result = await store.deleteMany(DOOMED);
    expect(result.removed.sort()).toEqual([...DOOMED].sort());
    const fanouts = new Set(DOOMED.map((o) => o.slice(0, 2)));
    expect(c.fs.counts.syncDir - before).toBe(fanouts.size);
    expect(fanouts.size).toBeLessThan(DOOMED.length + 1);
    const never = await openObjectStore({ dir: c.dir, fsync: "never", fs: c.fs });
    const b2 = c.fs.counts.syncDir;
    await never.putBytes("another");
    await never.delete(sha256("another"));
    expect(c.fs.counts.syncDir - b2).toBe(0);
    await store.close();
    await never.close();
  });
});
