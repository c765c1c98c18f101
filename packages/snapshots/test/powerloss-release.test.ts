/**
 * Power loss at every operation boundary of a release, through @snap/fs' fault seam.
 *
 * The seam wraps `<store>/releases` (materializations, markers, pending.json, target.json and
 * the default target `releases/prod/current`, a symlink). Objects and refs live outside it:
 * their writes pass through (they are flushed/journaled before anything names them), so a
 * ref move made before the crash survives it, the worst case for "the ref names a release
 * whose materialization is incomplete".
 */
import { readdir, readFile, realpath } from "node:fs/promises";
import { join } from "node:path";
import { createFaultFs } from "@snap/fs";
import { isSnapError } from "@snap/schema";
import { afterAll, describe, expect, it } from "vitest";
import { openSnapshotStore } from "../src/index.js";
import { build, newStore, type Fixture } from "./store-fixture.js";

const fixtures: Fixture[] = [];
afterAll(async () => {
  for (const f of fixtures) await f.cleanup();
});

const FILES = ["d0/f0.txt", "d0/f1.txt", "d1/f2.txt", "f3.txt"];
const files = (tag: string) => Object.fromEntries(FILES.map((f) => [f, `${f} version=${tag}\n`]));

/** The version the target serves; throws unless every file is there with that version's bytes. */
async function served(target: string): Promise<string> {
  const root = await realpath(target);
  const found: string[] = [];
  const walk = async (d: string, rel: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      if (e.isDirectory()) await walk(join(d, e.name), `${rel}${e.name}/`);
      else found.push(`${rel}${e.name}`);
    }
  };
  await walk(root, "");
  expect(found.sort()).toEqual([...FILES].sort());
  const tags = new Set<string>();
  for (const f of FILES) {
    const text = await readFile(join(root, f), "utf8");
    const m = /^(.*) version=(\w+)\n$/.exec(text);
    expect(m?.[1], `${f} holds ${JSON.stringify(text)}`).toBe(f);
    tags.add(m?.[2] as string);
  }
  expect(tags.size).toBe(1);
  return [...tags][0] as string;
}

interface Setup {
  fx: Fixture;
  a: string;
  b: string;
  tagOf: (snapshotOid: string) => string;
}

/** A store with snapshots a and b; a released (durably, before the seam is created) as "prod". */
async function setup(): Promise<Setup> {
  const fx = await newStore();
  fixtures.push(fx);
  const a = (await build(fx.store, files("a"))).snapshotOid;
  const b = (await build(fx.store, files("b"))).snapshotOid;
  await fx.store.release({ name: "prod", rev: a });
  await fx.store.close();
  return { fx, a, b, tagOf: (oid) => (oid === a ? "a" : oid === b ? "b" : "?") };
}

async function releasedSnapshot(dir: string): Promise<string | null> {
  const store = await openSnapshotStore({ dir });
  try {
    const info = (await store.releases()).find((r) => r.name === "prod");
    return info?.release.snapshot_oid ?? null;
  } finally {
    await store.close();
  }
}

describe("release under power loss (fault seam)", () => {
  it("at every boundary: the target serves a complete old or new snapshot; new once release() resolved; the ref never names an incomplete one", async () => {
    // Dry run: count the mutating operations of one release through the seam.
    const probe = await setup();
    const pffs = await createFaultFs({ root: join(probe.fx.dir, "releases") });
    const pstore = await openSnapshotStore({ dir: probe.fx.dir, fsync: "never", fs: pffs });
    await pstore.release({ name: "prod", rev: probe.b });
    await pstore.close();
    const total = pffs.mutations;
    const kinds = new Set(pffs.log.map((o) => o.kind));
    expect(kinds.has("symlink") && kinds.has("syncDir") && kinds.has("fsync")).toBe(true);
    await probe.fx.cleanup();

    let sawOld = 0;
    let sawNew = 0;
    for (let k = 0; k <= total; k++) {
      const { fx, b, tagOf } = await setup();
      const target = join(fx.dir, "releases", "prod", "current");
      const ffs = await createFaultFs({ root: join(fx.dir, "releases") });
      const store = await openSnapshotStore({ dir: fx.dir, fsync: "never", fs: ffs });
      ffs.failAfter(k);
      let resolved = false;
      try {
        await store.release({ name: "prod", rev: b });
        resolved = true;
      } catch (err) {
        if (!isSnapError(err, "fault_injected") && !isSnapError(err, "release_failed")) throw err;
        if (isSnapError(err, "release_failed")) expect(isSnapError(err.cause, "fault_injected"), `k=${k}`).toBe(true);
      }
      await store.close();
      expect(resolved, `k=${k}`).toBe(k >= total);
      await ffs.powerLoss();

      // Before any recovery: complete old or new; new once resolved; a durable ref implies its target.
      const tag = await served(target);
      if (resolved) expect(tag, `k=${k}`).toBe("b");
      else expect(["a", "b"], `k=${k}`).toContain(tag);
      if (tag === "a") sawOld++;
      else sawNew++;
      const ref = await releasedSnapshot(fx.dir); // read-only listing (no recovery)
      if (ref !== null && tagOf(ref) === "b") expect(tag, `k=${k}: the ref names b`).toBe("b");

      // Recovery agrees with what is served, and a new release works over the debris.
      const after = await openSnapshotStore({ dir: fx.dir, fsync: "never" });
      await after.recover();
      const recoveredRef = (await after.releases()).find((r) => r.name === "prod")?.release.snapshot_oid as string;
      expect(tagOf(recoveredRef), `k=${k}`).toBe(tag);
      expect(await served(target), `k=${k}`).toBe(tag);
      await after.release({ name: "prod", rev: b });
      expect(await served(target), `k=${k}`).toBe("b");
      await after.close();
      await fx.cleanup();
    }
    expect(sawOld).toBeGreaterThan(0);
    expect(sawNew).toBeGreaterThan(0);
  }, 300_000);
});
