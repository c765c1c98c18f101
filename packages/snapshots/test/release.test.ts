import { lstat, mkdir, readFile, readdir, readlink, realpath, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type FsSeam, nodeFs } from "@snap/fs";
import { openSnapshotStore, type ReleaseAdapter } from "../src/index.js";
import { build, newStore, type Fixture } from "./store-fixture.js";

let fx: Fixture;
afterEach(async () => {
  await fx?.cleanup();
});

async function served(target: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const root = await realpath(target);
  const walk = async (rel: string): Promise<void> => {
    for (const e of await readdir(join(root, rel), { withFileTypes: true })) {
      const r = rel === "" ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) await walk(r);
      else out[r] = await readFile(join(root, r), "utf8");
    }
  };
  await walk("");
  return out;
}

const failing = (mode: "apply" | "verify"): ReleaseAdapter => ({
  name: `fail-${mode}`,
  async plan() {
    return { action: "rebuild", summary: "", details: {} };
  },
  async apply(_plan, ctx) {
    await writeFile(join(ctx.outDir, "partial.txt"), "partial");
    if (mode === "apply") throw new Error("adapter exploded");
    return { ok: true };
  },
  async verify() {
    return mode !== "verify";
  },
});

describe("release and revert", () => {
  it("release materializes the snapshot, switches the target by a symlink, and records a release object", async () => {
    fx = await newStore();
    const r1 = await build(fx.store, { "index.html": "v1", "css/a.css": "a" });
    const target = join(fx.root, "site");
    const rel = await fx.store.release({ rev: "HEAD", name: "prod", target });
    expect((await lstat(target)).isSymbolicLink()).toBe(true);
    expect(await readlink(target)).toBe(join(fx.dir, "releases", "prod", r1.snapshotOid));
    expect(await served(target)).toEqual({ "index.html": "v1", "css/a.css": "a" });
    expect(rel.release).toMatchObject({ type: "release", name: "prod", snapshot_oid: r1.snapshotOid, previous_release_oid: null, source_ref: "HEAD", resolved_ref: "refs/heads/main" });
    expect(await fx.store.resolve("prod")).toBe(r1.snapshotOid);
    expect(await fx.store.resolve("refs/releases/prod")).toBe(r1.snapshotOid);
    const list = await fx.store.releases();
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ name: "prod", target, pending: false });
  });

  it("revert after a newer release works, and is a pointer swap when the old materialization exists", async () => {
    fx = await newStore();
    const r1 = await build(fx.store, { f: "v1" });
    const target = join(fx.root, "site");
    const first = await fx.store.release({ name: "prod", target });
    const r2 = await build(fx.store, { f: "v2" });
    const second = await fx.store.release({ name: "prod" }); // recorded target reused
    expect(second.previousReleaseOid).toBe(first.releaseOid);
    expect(await served(target)).toEqual({ f: "v2" });
    const back = await fx.store.revert({ name: "prod" });
    expect(back.snapshotOid).toBe(r1.snapshotOid);
    expect(back.reused).toBe(true);
    expect(back.release.source_ref).toBe("prod@{previous}");
    expect(await served(target)).toEqual({ f: "v1" });
    const again = await fx.store.revert({ name: "prod", rev: r2.snapshotOid });
    expect(again.snapshotOid).toBe(r2.snapshotOid);
    expect(await served(target)).toEqual({ f: "v2" });
    // A snapshot older than the latest build can be released by rev expression.
    await fx.store.release({ name: "prod", rev: "main~1" });
    expect(await served(target)).toEqual({ f: "v1" });
  });

  it("revert with no previous release is release_not_found", async () => {
    fx = await newStore();
    await build(fx.store, { f: "v1" });
    await expect(fx.store.revert({ name: "prod" })).rejects.toMatchObject({ code: "release_not_found" });
    await fx.store.release({ name: "prod" });
    await expect(fx.store.revert({ name: "prod" })).rejects.toMatchObject({ code: "release_not_found" });
  });

  it("a failed release (apply throws, or verify fails) moves no release ref and leaves the previous release serving, intact", async () => {
    fx = await newStore();
    fx.store.registerAdapter(failing("apply"));
    fx.store.registerAdapter(failing("verify"));
    await build(fx.store, { f: "v1" });
    const target = join(fx.root, "site");
    const ok = await fx.store.release({ name: "prod", target });
    for (const mode of ["apply", "verify"] as const) {
      await build(fx.store, { f: `v2-${mode}` }, { projections: { site: { adapter: "files", inputs: ["f"] }, zz: { adapter: `fail-${mode}`, inputs: ["f"] } } });
      const err = await fx.store.release({ name: "prod" }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: "release_failed" });
      expect(await fx.store.context.refs.read("refs/releases/prod")).toBe(ok.releaseOid);
      expect(await served(target)).toEqual({ f: "v1" });
      // partial output of the failed release is gone (receipts consistent: none written)
      const entries = await readdir(join(fx.dir, "releases", "prod"));
      expect(entries.filter((e) => e.startsWith(".tmp-"))).toEqual([]);
      expect(entries.filter((e) => e.endsWith(".json") && /^[0-9a-f]{64}/.test(e))).toHaveLength(1);
    }
  });

  it("an unknown adapter is adapter_unknown and nothing moves", async () => {
    fx = await newStore();
    await build(fx.store, { f: "v1" }, { projections: { p: { adapter: "nope", inputs: ["f"] } } });
    await expect(fx.store.release({ name: "prod" })).rejects.toMatchObject({ code: "adapter_unknown" });
    expect(await fx.store.releases()).toEqual([]);
  });

  it("several release names do not interfere", async () => {
    fx = await newStore();
    const r1 = await build(fx.store, { f: "v1" });
    const a = await fx.store.release({ name: "staging", target: join(fx.root, "staging") });
    const r2 = await build(fx.store, { f: "v2" });
    const b = await fx.store.release({ name: "prod", target: join(fx.root, "prod") });
    await fx.store.release({ name: "staging", rev: r2.snapshotOid });
    await fx.store.revert({ name: "staging" });
    expect(await fx.store.resolve("staging")).toBe(r1.snapshotOid);
    expect(await fx.store.resolve("prod")).toBe(r2.snapshotOid);
    expect(await served(join(fx.root, "prod"))).toEqual({ f: "v2" });
    expect(await served(join(fx.root, "staging"))).toEqual({ f: "v1" });
    expect(a.name).toBe("staging");
    expect(b.previousReleaseOid).toBeNull();
    // one release's target cannot be taken over by another name
    await expect(fx.store.release({ name: "prod", target: join(fx.root, "staging") })).rejects.toMatchObject({ code: "target_unsafe" });
  });

  it("projections: files with a prefix and concat join into one file; receipts are recorded", async () => {
    fx = await newStore();
    await build(fx.store, { "b.md": "B", "a.md": "A" }, {
      projections: { docs: { adapter: "files", inputs: ["a.md"], config: { prefix: "docs" } }, all: { adapter: "concat", inputs: ["b.md", "a.md"], config: { output: "all.md", separator: "\n--\n" } } },
    });
    const rel = await fx.store.release({ name: "prod", target: join(fx.root, "out") });
    expect(await served(join(fx.root, "out"))).toEqual({ "docs/a.md": "A", "all.md": "A\n--\nB" });
    expect(rel.release.adapters.all).toMatchObject({ adapter: "concat", output: "all.md", artifacts: 2 });
    expect(rel.release.adapters.docs).toMatchObject({ adapter: "files", files: 1 });
  });

  it("a target that exists and was not made by snap is refused; force moves it aside, never deletes it", async () => {
    fx = await newStore();
    await build(fx.store, { f: "v1" });
    const target = join(fx.root, "site");
    await mkdir(target);
    await writeFile(join(target, "precious.txt"), "keep me");
    const err = await fx.store.release({ name: "prod", target }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "target_unsafe" });
    expect(await readFile(join(target, "precious.txt"), "utf8")).toBe("keep me");
    expect(await fx.store.releases()).toEqual([]);
    const rel = await fx.store.release({ name: "prod", target, force: true });
    expect(rel.movedAside).toBeDefined();
    expect(await readFile(join(rel.movedAside as string, "precious.txt"), "utf8")).toBe("keep me");
    expect(await served(target)).toEqual({ f: "v1" });
    // a foreign symlink is refused too
    const other = join(fx.root, "other");
    await symlink("/etc", other);
    await expect(fx.store.release({ name: "x", target: other })).rejects.toMatchObject({ code: "target_unsafe" });
  });

  it("where symlinks fail (EPERM), auto mode switches a real directory by two renames; release, revert and a foreign directory behave as with links", async () => {
    const noLinks: FsSeam = {
      ...nodeFs,
      async symlink() {
        throw Object.assign(new Error("EPERM: operation not permitted, symlink"), { code: "EPERM" });
      },
    };
    fx = await newStore({ fs: noLinks });
    const a = await build(fx.store, { "d/f": "v1", g: "same" });
    const b = await build(fx.store, { "d/f": "v2", g: "same" });
    const target = join(fx.root, "site");
    await fx.store.release({ name: "prod", rev: a.snapshotOid, target });
    expect((await lstat(target)).isDirectory()).toBe(true);
    expect(await served(target)).toEqual({ "d/f": "v1", g: "same" });
    await fx.store.release({ name: "prod", rev: b.snapshotOid });
    expect((await lstat(target)).isDirectory()).toBe(true);
    expect(await served(target)).toEqual({ "d/f": "v2", g: "same" });
    await fx.store.revert({ name: "prod" });
    expect(await served(target)).toEqual({ "d/f": "v1", g: "same" });
    // beside the target: only the marker naming it as prod's rename-mode target
    const beside = (await readdir(fx.root)).filter((n) => n.startsWith(".snap-swap-"));
    expect(beside).toHaveLength(1);
    expect(beside[0]).toMatch(/^\.snap-swap-[0-9a-f]{16}\.json$/);
    // the target stays in rename mode even where links would work, and another name cannot take it
    await fx.store.close();
    const plain = await openSnapshotStore({ dir: fx.dir, fsync: "never" });
    try {
      await plain.release({ name: "prod", rev: b.snapshotOid });
      expect((await lstat(target)).isDirectory()).toBe(true);
      expect(await served(target)).toEqual({ "d/f": "v2", g: "same" });
      await expect(plain.release({ name: "other", rev: a.snapshotOid, target })).rejects.toMatchObject({ code: "target_unsafe" });
      await expect(plain.release({ name: "x", swap: "sideways" as never })).rejects.toMatchObject({ code: "invalid_argument" });
    } finally {
      await plain.close();
    }
  });

  it("release names and config paths can never escape: '../', absolute, symlinked release dirs are refused", async () => {
    fx = await newStore();
    await build(fx.store, { f: "v1" }, { projections: { c: { adapter: "concat", inputs: ["f"], config: { output: "../../escape.txt" } } } });
    for (const name of ["../x", "/abs", "a/b", ".hidden", ""]) {
      await expect(fx.store.release({ name })).rejects.toMatchObject({ code: "target_unsafe" });
    }
    await expect(fx.store.release({ name: "prod", target: join(fx.root, "t") })).rejects.toMatchObject({ code: "target_unsafe" });
    await expect(lstat(join(fx.root, "escape.txt"))).rejects.toThrow();
    await build(fx.store, { f: "v1" }, { projections: { c: { adapter: "concat", inputs: ["f"], config: { output: "/etc/evil" } } } });
    await expect(fx.store.release({ name: "prod", target: join(fx.root, "t") })).rejects.toMatchObject({ code: "target_unsafe" });
    // releases/<name> replaced by a symlink: refused
    await build(fx.store, { f: "v1" });
    await symlink(fx.root, join(fx.dir, "releases", "evil"));
    await expect(fx.store.release({ name: "evil", target: join(fx.root, "t2") })).rejects.toMatchObject({ code: "target_unsafe" });
    // the store itself is never a target
    await expect(fx.store.release({ name: "prod", target: fx.dir })).rejects.toMatchObject({ code: "target_unsafe" });
    await expect(fx.store.release({ name: "prod", target: fx.root })).rejects.toMatchObject({ code: "target_unsafe" });
  });

  it("re-releasing the same snapshot is idempotent: new release object, same materialization", async () => {
    fx = await newStore();
    await build(fx.store, { f: "v1" });
    const a = await fx.store.release({ name: "prod" });
    const b = await fx.store.release({ name: "prod" });
    expect(b.reused).toBe(true);
    expect(b.materialization).toBe(a.materialization);
    expect(b.previousReleaseOid).toBe(a.releaseOid);
    expect(await served(join(fx.dir, "releases", "prod", "current"))).toEqual({ f: "v1" });
  });

  it("recovery finishes a release whose target was switched, and rolls back one whose target was not", async () => {
    fx = await newStore();
    const r1 = await build(fx.store, { f: "v1" });
    const target = join(fx.root, "site");
    await fx.store.release({ name: "prod", target });
    await build(fx.store, { f: "v2" });
    const crash = (at: string) => async (step: string) => {
      if (step === at) throw new Error(`simulated crash at ${at}`);
    };
    await expect(fx.store.release({ name: "prod", onStep: crash("switched") })).rejects.toThrow(/simulated/);
    expect(await served(target)).toEqual({ f: "v2" });
    expect(await fx.store.resolve("prod")).toBe(r1.snapshotOid); // ref not moved yet
    const rec = await fx.store.recover();
    expect(rec.finished).toEqual(["prod"]);
    expect(await served(target)).toEqual({ f: "v2" });
    expect(await fx.store.resolve("prod")).toBe(await fx.store.resolve("main"));
    await expect(fx.store.release({ name: "prod", rev: r1.snapshotOid, onStep: crash("intent-written") })).rejects.toThrow(/simulated/);
    const rec2 = await fx.store.recover();
    expect(rec2.rolledBack).toEqual(["prod"]);
    expect(await served(target)).toEqual({ f: "v2" });
    expect(await fx.store.resolve("prod")).toBe(await fx.store.resolve("main"));
  });
});
