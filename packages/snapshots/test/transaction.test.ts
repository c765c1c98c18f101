import { mkdir, readFile, stat, symlink, writeFile, utimes, readdir } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { oidOf } from "@snap/schema";
import { initStore, openSnapshotStore } from "../src/index.js";
import { build, newStore, type Fixture } from "./store-fixture.js";
import { tempDir } from "./helpers.js";

let fx: Fixture;
afterEach(async () => {
  await fx?.cleanup();
});

const EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

describe("store", () => {
  it("initStore lays out the store; a second init is store_exists; opening a non-store is store_not_found", async () => {
    fx = await newStore();
    for (const d of ["objects", "refs/heads", "refs/runs", "refs/releases", "refs/tags", "journal", "releases", "tmp", "leases"]) {
      expect((await stat(join(fx.dir, d))).isDirectory()).toBe(true);
    }
    expect(await readFile(join(fx.dir, "HEAD"), "utf8")).toBe("ref: refs/heads/main\n");
    expect(JSON.parse(await readFile(join(fx.dir, "config.json"), "utf8"))).toMatchObject({ type: "store_config", format_version: 1 });
    await expect(initStore({ dir: fx.dir })).rejects.toMatchObject({ code: "store_exists" });
    await expect(openSnapshotStore({ dir: join(fx.root, "nope") })).rejects.toMatchObject({ code: "store_not_found" });
  });
});

describe("build transactions (synix must-haves)", () => {
  it("a failed build does not advance any ref; an aborted build moves nothing", async () => {
    fx = await newStore();
    const txn = await fx.store.begin({ pipeline: "main" });
    await txn.recordArtifact({ label: "a", content: "x" });
    await expect(txn.assertComplete(["a", "b"])).rejects.toMatchObject({ code: "incomplete_closure" });
    await txn.abort();
    expect(await fx.store.runs()).toEqual([]);
    await expect(fx.store.resolve("main")).rejects.toMatchObject({ code: "rev_not_found" });
    await expect(txn.commit()).rejects.toMatchObject({ code: "txn_closed" });
    expect(await readdir(join(fx.dir, "leases"))).toEqual([]);
  });

  it("commit uses transaction state, not stray files in the build or store directories", async () => {
    fx = await newStore();
    const buildDir = join(fx.root, "build");
    await mkdir(buildDir);
    await writeFile(join(buildDir, "manifest.json"), "garbage{");
    await writeFile(join(fx.dir, "tmp", "stray"), "junk");
    const r = await build(fx.store, { "a.txt": "A" });
    const view = await fx.store.view(r.snapshotOid);
    expect(await view.labels()).toEqual(["a.txt"]);
  });

  it("an artifact id that does not match its content is refused (bytes, stream, path), and nothing is recorded", async () => {
    fx = await newStore();
    const txn = await fx.store.begin({ pipeline: "main" });
    const wrong = `sha256:${"0".repeat(64)}`;
    await expect(txn.recordArtifact({ label: "a", content: "hello", artifactId: wrong })).rejects.toMatchObject({ code: "artifact_id_mismatch" });
    await expect(txn.recordArtifact({ label: "b", content: Readable.from([Buffer.from("hello")]), artifactId: wrong })).rejects.toMatchObject({ code: "artifact_id_mismatch" });
    const p = join(fx.root, "f");
    await writeFile(p, "hello");
    await expect(txn.recordArtifact({ label: "c", content: { path: p }, artifactId: "0".repeat(64) })).rejects.toMatchObject({ code: "artifact_id_mismatch" });
    expect(txn.recordedLabels()).toEqual([]);
    const ok = await txn.recordArtifact({ label: "a", content: "hello", artifactId: `sha256:${oidOf("hello")}` });
    expect(ok.contentOid).toBe(oidOf("hello"));
    await txn.abort();
  });

  it("empty content is a valid artifact (sha256 e3b0…b855, an empty blob)", async () => {
    fx = await newStore();
    const txn = await fx.store.begin({ pipeline: "main" });
    const rec = await txn.recordArtifact({ label: "empty", content: "", artifactId: `sha256:${EMPTY}` });
    expect(rec.contentOid).toBe(EMPTY);
    const r = await txn.commit();
    const view = await fx.store.view(r.snapshotOid);
    expect((await view.content("empty")).length).toBe(0);
    expect((await view.artifact("empty")).size).toBe(0);
  });

  it("an incomplete closure fails closed (missing and unexpected labels)", async () => {
    fx = await newStore();
    const txn = await fx.store.begin({ pipeline: "main" });
    await txn.recordArtifact({ label: "a", content: "1" });
    await txn.recordArtifact({ label: "extra", content: "2" });
    const err = await txn.assertComplete(["a", "b"]).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "incomplete_closure", data: { missing: ["b"], unexpected: ["extra"] } });
    await txn.abort();
  });

  it("successive identical builds share a manifest oid but not a snapshot oid; the parent link holds; the old run ref still resolves", async () => {
    fx = await newStore();
    const r1 = await build(fx.store, { a: "1", "d/b": "2" });
    const r2 = await build(fx.store, { a: "1", "d/b": "2" });
    expect(r2.manifestOid).toBe(r1.manifestOid);
    expect(r2.snapshotOid).not.toBe(r1.snapshotOid);
    expect(r2.parentOid).toBe(r1.snapshotOid);
    expect((await fx.store.view(r2.snapshotOid)).snapshot.parent_snapshot_oids).toEqual([r1.snapshotOid]);
    expect(await fx.store.resolve(r1.runRef)).toBe(r1.snapshotOid);
    expect(await fx.store.resolve("main")).toBe(r2.snapshotOid);
    expect(r2.newObjects).toBe(1); // only the snapshot is new
  });

  it("changed input gives a new manifest; older snapshots stay readable after later builds", async () => {
    fx = await newStore();
    const r1 = await build(fx.store, { a: "one" });
    const r2 = await build(fx.store, { a: "two" });
    expect(r2.manifestOid).not.toBe(r1.manifestOid);
    expect(await (await fx.store.view(r1.snapshotOid)).text("a")).toBe("one");
    expect(await (await fx.store.view("main")).text("a")).toBe("two");
    expect(await (await fx.store.view("main~1")).text("a")).toBe("one");
  });

  it("branch advanced during build: branch_advanced, nothing moved", async () => {
    fx = await newStore();
    const base = await build(fx.store, { a: "0" });
    const slow = await fx.store.begin({ pipeline: "main" });
    await slow.recordArtifact({ label: "a", content: "slow" });
    await build(fx.store, { a: "fast" });
    const head = await fx.store.resolve("main");
    const err = await slow.commit().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "branch_advanced" });
    expect((err as { exitCode: number }).exitCode).toBe(3);
    expect(await fx.store.resolve("main")).toBe(head);
    expect((await fx.store.runs()).length).toBe(2);
    expect(head).not.toBe(base.snapshotOid);
    await slow.abort();
  });

  it("one branch per pipeline: histories never mix, and a parent from another pipeline is refused", async () => {
    fx = await newStore();
    const a1 = await build(fx.store, { x: "a" }, { pipeline: "alpha" });
    const b1 = await build(fx.store, { x: "b" }, { pipeline: "beta" });
    const a2 = await build(fx.store, { x: "a2" }, { pipeline: "alpha" });
    expect(a2.parentOid).toBe(a1.snapshotOid);
    expect(b1.parentOid).toBeNull();
    expect((await fx.store.runs({ pipeline: "beta" })).map((r) => r.snapshot_oid)).toEqual([b1.snapshotOid]);
    // Point beta's branch at an alpha snapshot behind snap's back: the next beta build refuses it.
    await fx.store.context.refs.transaction([{ ref: "refs/heads/beta", expect: b1.snapshotOid, set: a2.snapshotOid }], { reason: "test" });
    await expect(fx.store.begin({ pipeline: "beta" })).rejects.toMatchObject({ code: "pipeline_mismatch" });
  });

  it("projections must read recorded labels; commit after commit is txn_closed", async () => {
    fx = await newStore();
    const txn = await fx.store.begin({ pipeline: "main" });
    await txn.recordArtifact({ label: "a", content: "1" });
    await expect(txn.recordProjection({ name: "p", adapter: "concat", inputs: ["a", "missing"] })).rejects.toMatchObject({ code: "incomplete_closure" });
    await txn.recordProjection({ name: "p", adapter: "concat", inputs: ["a"], config: { output: "all.txt" } });
    await txn.commit();
    await expect(txn.commit()).rejects.toMatchObject({ code: "txn_closed" });
    await expect(txn.recordArtifact({ label: "b", content: "" })).rejects.toMatchObject({ code: "txn_closed" });
  });

  it("labels that escape are refused before anything is written", async () => {
    fx = await newStore();
    const txn = await fx.store.begin({ pipeline: "main" });
    for (const label of ["../x", "/abs", "a/../b", "a\\b", "a//b"]) {
      await expect(txn.recordArtifact({ label, content: "x" })).rejects.toMatchObject({ code: "label_invalid" });
    }
    await txn.abort();
  });

  it("inherit: a 1-change commit on top of a parent keeps the rest and writes O(depth) objects", async () => {
    fx = await newStore();
    const files: Record<string, string> = {};
    for (let i = 0; i < 200; i++) files[`d${i % 10}/f${i}`] = `content ${i}`;
    await build(fx.store, files);
    const txn = await fx.store.begin({ pipeline: "main", inherit: true });
    await txn.recordArtifact({ label: "d3/f3", content: "changed" });
    txn.removeArtifact("d4/f4");
    const r = await txn.commit();
    expect(r.newObjects).toBeLessThanOrEqual(2 + 2 * 2 + 2); // blob+artifact, 2 trees x 2 paths, manifest, snapshot
    const view = await fx.store.view("main");
    expect((await view.labels()).length).toBe(199);
    expect(await view.text("d3/f3")).toBe("changed");
    const diff = await fx.store.diff("main~1", "main");
    expect(diff.changed.map((c) => c.label)).toEqual(["d3/f3"]);
    expect(diff.removed.map((c) => c.label)).toEqual(["d4/f4"]);
  });

  it("view: metadata, content and lineage walked breadth first", async () => {
    fx = await newStore();
    const txn = await fx.store.begin({ pipeline: "main" });
    await txn.recordArtifact({ label: "raw/t1", content: "t1" });
    await txn.recordArtifact({ label: "raw/t2", content: "t2" });
    await txn.recordArtifact({ label: "ep/1", content: "e1", parents: ["raw/t1"], artifactType: "episode", metadata: { model: "m" } });
    await txn.recordArtifact({ label: "core", content: "c", parents: ["ep/1", "raw/t2", "gone"] });
    await txn.commit();
    const view = await fx.store.view("HEAD");
    expect(await view.artifact("ep/1")).toMatchObject({ artifact_type: "episode", metadata: { model: "m" }, parent_labels: ["raw/t1"] });
    expect(await view.lineage("core")).toEqual([
      { label: "core", depth: 0, missing: false },
      { label: "ep/1", depth: 1, missing: false },
      { label: "raw/t2", depth: 1, missing: false },
      { label: "gone", depth: 1, missing: true },
      { label: "raw/t1", depth: 2, missing: false },
    ]);
  });
});

describe("resolve, log, runs", () => {
  it("resolves full refs, short names, HEAD~N, ^, raw oids and unique prefixes", async () => {
    fx = await newStore();
    const r1 = await build(fx.store, { a: "1" });
    const r2 = await build(fx.store, { a: "2" });
    const r3 = await build(fx.store, { a: "3" });
    expect(await fx.store.resolve("HEAD")).toBe(r3.snapshotOid);
    expect(await fx.store.resolve("main")).toBe(r3.snapshotOid);
    expect(await fx.store.resolve("refs/heads/main")).toBe(r3.snapshotOid);
    expect(await fx.store.resolve("HEAD~2")).toBe(r1.snapshotOid);
    expect(await fx.store.resolve("main^")).toBe(r2.snapshotOid);
    expect(await fx.store.resolve("HEAD^^")).toBe(r1.snapshotOid);
    expect(await fx.store.resolve("HEAD~1^")).toBe(r1.snapshotOid);
    expect(await fx.store.resolve(r2.snapshotOid)).toBe(r2.snapshotOid);
    expect(await fx.store.resolve(r2.snapshotOid.slice(0, 10))).toBe(r2.snapshotOid);
    expect(await fx.store.resolve(`main/${r1.runId}`)).toBe(r1.snapshotOid);
    await expect(fx.store.resolve("HEAD~3")).rejects.toMatchObject({ code: "rev_not_found" });
    await expect(fx.store.resolve("nope")).rejects.toMatchObject({ code: "rev_not_found" });
    await expect(fx.store.resolve("")).rejects.toMatchObject({ code: "rev_invalid" });
    expect((await fx.store.log("HEAD")).map((e) => e.oid)).toEqual([r3.snapshotOid, r2.snapshotOid, r1.snapshotOid]);
    expect((await fx.store.runs()).map((r) => r.snapshot_oid)).toEqual([r1.snapshotOid, r2.snapshotOid, r3.snapshotOid]);
  });

  it("an oid prefix shared by two snapshots is rev_ambiguous", async () => {
    fx = await newStore();
    const r = await build(fx.store, { a: "1" });
    const snap = (await fx.store.view(r.snapshotOid)).snapshot;
    const seen = new Map<string, string>();
    let pair: [string, string] | undefined;
    for (let i = 0; i < 5000 && !pair; i++) {
      const put = await fx.store.context.objects.putObject({ ...snap, message: `m${i}` });
      const p = put.oid.slice(0, 4);
      const other = seen.get(p);
      if (other) pair = [other, put.oid];
      else seen.set(p, put.oid);
    }
    expect(pair).toBeDefined();
    const [x] = pair as [string, string];
    await expect(fx.store.resolve(x.slice(0, 4))).rejects.toMatchObject({ code: "rev_ambiguous" });
  });
});

describe("commitDirectory", () => {
  it("commits every file by relative path; the stat cache skips unchanged files and catches changed ones", async () => {
    fx = await newStore();
    const t = await tempDir();
    const site = t.dir;
    await mkdir(join(site, "css"));
    await writeFile(join(site, "index.html"), "<h1>hi</h1>");
    await writeFile(join(site, "css", "a.css"), "body{}");
    await writeFile(join(site, "empty"), "");
    const old = new Date(Date.now() - 10_000);
    for (const f of ["index.html", "css/a.css", "empty"]) await utimes(join(site, f), old, old);
    const r1 = await fx.store.commitDirectory({ pipeline: "site", dir: site, message: "first" });
    expect(r1.files).toBe(3);
    expect(r1.hashed).toBe(3);
    expect(await (await fx.store.view("site")).labels()).toEqual(["css/a.css", "empty", "index.html"]);
    const r2 = await fx.store.commitDirectory({ pipeline: "site", dir: site });
    expect(r2.hashed).toBe(0);
    expect(r2.manifestOid).toBe(r1.manifestOid);
    await writeFile(join(site, "index.html"), "<h1>changed</h1>");
    const r3 = await fx.store.commitDirectory({ pipeline: "site", dir: site });
    expect(r3.hashed).toBe(1);
    expect(await (await fx.store.view("site")).text("index.html")).toBe("<h1>changed</h1>");
    await t.cleanup();
  });

  it("symlinks are refused by default (clear error), skipped with symlinks: 'skip'", async () => {
    fx = await newStore();
    const t = await tempDir();
    await writeFile(join(t.dir, "real"), "r");
    await symlink("/etc/passwd", join(t.dir, "link"));
    const err = await fx.store.commitDirectory({ dir: t.dir }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "invalid_argument", data: { symlinks: ["link"] } });
    expect(await fx.store.runs()).toEqual([]);
    const r = await fx.store.commitDirectory({ dir: t.dir, symlinks: "skip" });
    expect(r.skippedSymlinks).toEqual(["link"]);
    expect(await (await fx.store.view("main")).labels()).toEqual(["real"]);
    await t.cleanup();
  });
});
