import { readdir, readFile, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ageObjects, build, flipObjectByte, newStore, type Fixture } from "./store-fixture.js";

let fx: Fixture;
afterEach(async () => {
  await fx?.cleanup();
});

const age = ageObjects;

describe("gc", () => {
  it("removes only unreachable objects older than the grace period; dry run reports exactly what the real run removes", async () => {
    fx = await newStore();
    const kept = await build(fx.store, { a: "kept", "d/b": "shared" });
    const txn = await fx.store.begin({ pipeline: "main" });
    await txn.recordArtifact({ label: "garbage", content: "only in an aborted build" });
    await txn.abort();
    await age(fx, 2 * 3_600_000);
    const young = await fx.store.context.objects.putBytes("young garbage");
    const now = Date.now();
    const dry = await fx.store.gc({ dryRun: true, now });
    expect(dry.objects_removed.length).toBeGreaterThanOrEqual(2); // blob + artifact of the aborted build
    expect(dry.objects_removed).not.toContain(young.oid);
    const real = await fx.store.gc({ now });
    expect(real.objects_removed).toEqual(dry.objects_removed);
    expect(real.bytes_removed).toBe(dry.bytes_removed);
    expect(await fx.store.context.objects.has(young.oid)).toBe(true);
    const view = await fx.store.view(kept.snapshotOid);
    expect(await view.text("d/b")).toBe("shared");
    expect((await fx.store.fsck()).ok).toBe(true);
    const again = await fx.store.gc({ now, dryRun: true });
    expect(again.objects_removed).toEqual([]);
  });

  it("never removes what releases (and their previous chain), tags or an in-flight transaction's lease keep", async () => {
    fx = await newStore();
    const r1 = await build(fx.store, { f: "released v1" });
    await fx.store.release({ name: "prod" });
    await build(fx.store, { f: "v2" });
    await fx.store.release({ name: "prod" });
    // Drop every run and branch ref by retention except what releases need: keepRuns 0, keepDays 0.
    const inflight = await fx.store.begin({ pipeline: "other" });
    await inflight.recordArtifact({ label: "x", content: "in flight" });
    await age(fx, 2 * 3_600_000);
    // the lease started "now": re-freshen its objects as a real txn would have written them after start
    const rec = await inflight.recordArtifact({ label: "x", content: "in flight" });
    const report = await fx.store.gc({ graceMs: 0, keepRuns: 0, keepDays: 0 });
    expect(report.run_refs_removed.length).toBe(1); // the run main's branch points at is kept
    expect(await fx.store.context.objects.has(rec.contentOid)).toBe(true);
    expect(await (await fx.store.view(r1.snapshotOid)).text("f")).toBe("released v1");
    const committed = await inflight.commit();
    expect(await (await fx.store.view(committed.snapshotOid)).text("x")).toBe("in flight");
    expect((await fx.store.fsck()).ok).toBe(true);
  });

  it("an unreadable lease (crash residue: leases are not fsynced) protects everything while young and is removed once older than the grace period", async () => {
    fx = await newStore();
    const txn = await fx.store.begin({ pipeline: "main" });
    await txn.recordArtifact({ label: "garbage", content: "only in an aborted build" });
    await txn.abort();
    await age(fx, 2 * 3_600_000);
    const torn = join(fx.dir, "leases", "torn.json");
    await writeFile(torn, ""); // what a power loss can leave of an unsynced lease
    const young = await fx.store.gc({ graceMs: 3_600_000 });
    expect(young.objects_removed).toEqual([]); // treated as live from the epoch
    expect(young.stale_leases_removed).toEqual([]);
    const old = new Date(Date.now() - 2 * 3_600_000);
    await utimes(torn, old, old);
    const dry = await fx.store.gc({ graceMs: 3_600_000, dryRun: true });
    expect(dry.stale_leases_removed).toEqual(["torn.json"]);
    const real = await fx.store.gc({ graceMs: 3_600_000 });
    expect(real.stale_leases_removed).toEqual(["torn.json"]);
    expect(real.objects_removed.length).toBeGreaterThanOrEqual(2);
    expect(real.objects_removed).toEqual(dry.objects_removed);
    expect(await readdir(join(fx.dir, "leases"))).toEqual([]);
  });

  it("removes objects through the object store's deleteMany and old materializations through @snap/fs removeTree: serving and previous kept, no debris", async () => {
    fx = await newStore();
    const target = join(fx.root, "site");
    const snaps: string[] = [];
    for (let i = 0; i < 3; i++) {
      snaps.push((await build(fx.store, { "index.html": `v${i}` })).snapshotOid);
      await fx.store.release({ name: "prod", target });
    }
    const txn = await fx.store.begin({ pipeline: "main" });
    await txn.recordArtifact({ label: "garbage", content: "garbage" });
    await txn.abort();
    const objects = fx.store.context.objects;
    const deleted: string[] = [];
    const original = objects.deleteMany.bind(objects);
    objects.deleteMany = async (oids) => {
      const r = await original(oids);
      deleted.push(...r.removed);
      return r;
    };
    const dry = await fx.store.gc({ dryRun: true, graceMs: 0 });
    expect(dry.release_dirs_removed).toEqual([`releases/prod/${snaps[0]}`, `releases/prod/${snaps[0]}.json`]);
    expect(deleted).toEqual([]);
    const real = await fx.store.gc({ graceMs: 0 });
    expect(real.release_dirs_removed).toEqual(dry.release_dirs_removed);
    expect(real.objects_removed.length).toBe(2);
    expect(deleted.sort()).toEqual([...real.objects_removed].sort());
    const left = (await readdir(join(fx.dir, "releases", "prod"))).sort();
    expect(left.filter((n) => n.startsWith(".tmp-"))).toEqual([]);
    expect(left).toEqual([snaps[1], `${snaps[1]}.json`, snaps[2], `${snaps[2]}.json`, "target.json"].sort());
    expect(await readFile(join(target, "index.html"), "utf8")).toBe("v2");
    const back = await fx.store.revert({ name: "prod" });
    expect(back.reused).toBe(true); // the previous materialization was kept
    expect((await fx.store.fsck()).ok).toBe(true);
  });

  it("retention: keepRuns keeps the newest N runs per pipeline", async () => {
    fx = await newStore();
    for (let i = 0; i < 5; i++) await build(fx.store, { f: `v${i}` });
    const dry = await fx.store.gc({ dryRun: true, keepRuns: 2, graceMs: 0 });
    expect(dry.run_refs_removed).toHaveLength(3);
    const real = await fx.store.gc({ keepRuns: 2, graceMs: 0 });
    expect(real.run_refs_removed).toEqual(dry.run_refs_removed);
    expect(await fx.store.runs()).toHaveLength(2);
    // history through parents is still readable: the branch keeps its ancestors reachable
    expect(await fx.store.log("main")).toHaveLength(5);
  });

  it("a dead process's lease is removed; a live one is kept", async () => {
    fx = await newStore();
    const live = await fx.store.begin({ pipeline: "main" });
    await writeFile(
      join(fx.dir, "leases", "dead.json"),
      JSON.stringify({ type: "snapshot_lease", schema_version: 1, txn_id: "dead", pipeline: "main", run_id: "r", base_snapshot_oid: null, started_at: new Date(0).toISOString(), started_at_ms: 0, pid: 999999, host: (await import("node:os")).hostname(), process_start: "1" }),
    );
    const r = await fx.store.gc({ graceMs: 0 });
    expect(r.stale_leases_removed).toEqual(["dead.json"]);
    expect(r.leases).toBe(1);
    await live.abort();
  });
});

describe("fsck", () => {
  it("a clean store is ok", async () => {
    fx = await newStore();
    await build(fx.store, { a: "1", "b/c": "2" });
    const r = await fx.store.fsck();
    expect(r.ok).toBe(true);
    expect(r.report).toMatchObject({ type: "fsck_report", ok: true });
  });

  it("finds a flipped byte in any kind of object (blob, artifact, tree, manifest, snapshot)", async () => {
    fx = await newStore();
    const res = await build(fx.store, { "d/a": "hello world" });
    const view = await fx.store.view(res.snapshotOid);
    const art = await view.artifact("d/a");
    const subtree = (await fx.store.context.objects.getObject<{ type: string; schema_version: number; entries: { oid: string }[] }>(res.rootOid)).entries[0]?.oid as string;
    for (const oid of [art.content_oid, art.oid, subtree, res.rootOid, res.manifestOid, res.snapshotOid]) {
      const restore = await flipObjectByte(fx, oid);
      const r = await fx.store.fsck();
      expect(r.ok).toBe(false);
      expect(r.report.corrupt.map((c) => c.oid)).toContain(oid);
      await restore();
      expect((await fx.store.fsck()).ok).toBe(true);
    }
  });

  it("finds a missing object and a dangling ref", async () => {
    fx = await newStore();
    const res = await build(fx.store, { a: "x" });
    const view = await fx.store.view(res.snapshotOid);
    const blob = (await view.artifact("a")).content_oid;
    expect((await fx.store.context.objects.deleteMany([blob])).removed).toEqual([blob]); // loose or packed: gone
    const r = await fx.store.fsck();
    expect(r.ok).toBe(false);
    expect(r.report.missing).toEqual([{ oid: blob, referenced_by: (await view.artifact("a")).oid }]);
    const ghost = "f".repeat(64);
    await fx.store.context.refs.transaction([{ ref: "refs/tags/ghost", expect: "absent", set: ghost }], { reason: "test" });
    const r2 = await fx.store.fsck();
    expect(r2.report.dangling_refs).toEqual([{ ref: "refs/tags/ghost", target: ghost, reason: "missing_object" }]);
  });

  it("finds a ref file changed behind the journal's back (refs verify)", async () => {
    fx = await newStore();
    const r1 = await build(fx.store, { a: "1" });
    await build(fx.store, { a: "2" });
    await writeFile(join(fx.dir, "refs", "heads", "main"), `${r1.snapshotOid}\n`);
    const r = await fx.store.fsck();
    expect(r.ok).toBe(false);
    expect(r.refs?.mismatches.map((m) => m.ref)).toContain("refs/heads/main");
  });
});
