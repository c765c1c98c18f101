/**
 * Power loss at every operation boundary of a release, through @snap/fs' fault seam.
 *
 * The seam wraps `<store>/releases` (materializations, markers, pending.json, target.json and
 * the default target `releases/prod/current`: a symlink, or in rename mode a directory with the
 * marker and staged copies beside it). Objects and refs live outside it:
 * their writes pass through (they are flushed/journaled before anything names them), so a
 * ref move made before the crash survives it, the worst case for "the ref names a release
 * whose materialization is incomplete".
 */
import { lstat, readdir, readFile, realpath } from "node:fs/promises";
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

type Swap = "symlink" | "rename";

/** A store with snapshots a and b; a released (durably, before the seam is created) as "prod". */
async function setup(swap: Swap): Promise<Setup> {
  const fx = await newStore();
  fixtures.push(fx);
  const a = (await build(fx.store, files("a"))).snapshotOid;
  const b = (await build(fx.store, files("b"))).snapshotOid;
  await fx.store.release({ name: "prod", rev: a, swap });
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

const exists = (p: string) => lstat(p).then(
  () => true,
  () => false,
);

/** Dry run: one release through the seam; how many mutating operations it makes, of which kinds. */
async function dryRun(swap: Swap): Promise<{ total: number; kinds: Set<string> }> {
  const probe = await setup(swap);
  const pffs = await createFaultFs({ root: join(probe.fx.dir, "releases") });
  const pstore = await openSnapshotStore({ dir: probe.fx.dir, fsync: "never", fs: pffs });
  await pstore.release({ name: "prod", rev: probe.b, swap });
  await pstore.close();
  await probe.fx.cleanup();
  return { total: pffs.mutations, kinds: new Set(pffs.log.map((o) => o.kind)) };
}

describe.each(["symlink", "rename"] as const)("release under power loss (fault seam), swap %s", (swap) => {
  it("at every boundary: the target serves a complete old or new snapshot (rename: or none, between its renames, until recovery); new once release() resolved; the ref never names an incomplete one", async () => {
    const { total, kinds } = await dryRun(swap);
    expect(kinds.has("syncDir") && kinds.has("fsync")).toBe(true);
    if (swap === "symlink") expect(kinds.has("symlink")).toBe(true);
    else expect({ symlink: kinds.has("symlink"), link: kinds.has("link"), rename: kinds.has("rename") }).toEqual({ symlink: false, link: true, rename: true });
    let sawGap = 0;

    let sawOld = 0;
    let sawNew = 0;
    for (let k = 0; k <= total; k++) {
      const { fx, b, tagOf } = await setup(swap);
      const target = join(fx.dir, "releases", "prod", "current");
      const ffs = await createFaultFs({ root: join(fx.dir, "releases") });
      const store = await openSnapshotStore({ dir: fx.dir, fsync: "never", fs: ffs });
      ffs.failAfter(k);
      let resolved = false;
      try {
        await store.release({ name: "prod", rev: b, swap });
        resolved = true;
      } catch (err) {
        if (!isSnapError(err, "fault_injected") && !isSnapError(err, "release_failed")) throw err;
        if (isSnapError(err, "release_failed")) expect(isSnapError(err.cause, "fault_injected"), `k=${k}`).toBe(true);
      }
      await store.close();
      expect(resolved, `k=${k}`).toBe(k >= total);
      await ffs.powerLoss();

      // Before any recovery: complete old or new; new once resolved; a durable ref implies its target.
      const gap = swap === "rename" && !resolved && !(await exists(target));
      const ref = await releasedSnapshot(fx.dir); // read-only listing (no recovery)
      let tag: string | undefined;
      if (gap) {
        sawGap++;
        expect(ref === null || tagOf(ref) === "a", `k=${k}: no target, the ref must not have moved`).toBe(true);
      } else {
        tag = await served(target);
        if (resolved) expect(tag, `k=${k}`).toBe("b");
        else expect(["a", "b"], `k=${k}`).toContain(tag);
        if (tag === "a") sawOld++;
        else sawNew++;
        if (ref !== null && tagOf(ref) === "b") expect(tag, `k=${k}: the ref names b`).toBe("b");
      }

      // Recovery agrees with what is served, and a new release works over the debris.
      const after = await openSnapshotStore({ dir: fx.dir, fsync: "never" });
      await after.recover();
      const recoveredRef = (await after.releases()).find((r) => r.name === "prod")?.release.snapshot_oid as string;
      const recovered = await served(target); // recovery always leaves a complete target
      expect(tagOf(recoveredRef), `k=${k}`).toBe(recovered);
      if (tag !== undefined) expect(recovered, `k=${k}`).toBe(tag);
      await after.release({ name: "prod", rev: b, swap });
      expect(await served(target), `k=${k}`).toBe("b");
      await after.close();
      await fx.cleanup();
    }
    expect(sawOld).toBeGreaterThan(0);
    expect(sawNew).toBeGreaterThan(0);
    // One fsync of the parent settles both renames: a power loss never shows the gap between them.
    expect(sawGap).toBe(0);
  }, 300_000);

  if (swap === "rename") {
    it("a process crash at every boundary (page cache kept): complete old, complete new, or between the renames no target; recovery always ends complete and agreeing with the ref", async () => {
      const { total } = await dryRun(swap);
      let gaps = 0;
      for (let k = 0; k < total; k++) {
        const { fx, b, tagOf } = await setup(swap);
        const target = join(fx.dir, "releases", "prod", "current");
        const ffs = await createFaultFs({ root: join(fx.dir, "releases") });
        const store = await openSnapshotStore({ dir: fx.dir, fsync: "never", fs: ffs });
        ffs.failAfter(k);
        await expect(store.release({ name: "prod", rev: b, swap }), `k=${k}`).rejects.toBeTruthy();
        await store.close();
        const present = await exists(target);
        if (!present) gaps++;
        else expect(["a", "b"], `k=${k}`).toContain(await served(target));
        const after = await openSnapshotStore({ dir: fx.dir, fsync: "never" });
        const rec = await after.recover();
        const recovered = await served(target);
        const ref = (await after.releases()).find((r) => r.name === "prod")?.release.snapshot_oid as string;
        expect(tagOf(ref), `k=${k} (${JSON.stringify(rec)})`).toBe(recovered);
        if (!present) expect(rec.rolledBack, `k=${k}: between the renames recovery rolls back`).toEqual(["prod"]);
        const debris = (await readdir(join(fx.dir, "releases", "prod"))).filter((n) => n.startsWith(".snap-swap-") && !n.endsWith(".json"));
        expect(debris, `k=${k}`).toEqual([]);
        await after.close();
        await fx.cleanup();
      }
      expect(gaps).toBe(1); // exactly one boundary lies between the two renames
    }, 300_000);
  }
});
