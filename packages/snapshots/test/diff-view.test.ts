import { afterEach, describe, expect, it } from "vitest";
import { assertFsckClean } from "../src/index.js";
import { build, newStore, type Fixture } from "./store-fixture.js";

let fx: Fixture;
afterEach(async () => {
  await fx?.cleanup();
});

describe("diff of two snapshots", () => {
  it("reports added / removed / changed artifacts by content oid, changed projections and a changed fingerprint", async () => {
    fx = await newStore();
    const t1 = await fx.store.begin({ pipeline: "main", definition: { model: "a", api_key: "k1" } });
    await t1.recordArtifact({ label: "keep", content: "same" });
    await t1.recordArtifact({ label: "meta", content: "m", metadata: { v: 1 } });
    await t1.recordArtifact({ label: "edit", content: "old" });
    await t1.recordArtifact({ label: "gone/x", content: "x" });
    await t1.recordProjection({ name: "p", adapter: "concat", inputs: ["keep"], config: { output: "a.txt" } });
    await t1.recordProjection({ name: "q", adapter: "files", inputs: ["keep"] });
    const a = await t1.commit();
    // only the api key differs: same fingerprint
    const t2 = await fx.store.begin({ pipeline: "main", definition: { model: "a", api_key: "k2" } });
    await t2.recordArtifact({ label: "keep", content: "same" });
    await t2.recordArtifact({ label: "meta", content: "m", metadata: { v: 2 } });
    await t2.recordArtifact({ label: "edit", content: "new" });
    await t2.recordArtifact({ label: "new/y", content: "y" });
    await t2.recordProjection({ name: "p", adapter: "concat", inputs: ["keep", "edit"], config: { output: "b.txt" } });
    const b = await t2.commit();
    const d = await fx.store.diff(a.snapshotOid, b.snapshotOid);
    expect(d.added.map((c) => c.label)).toEqual(["new/y"]);
    expect(d.removed.map((c) => c.label)).toEqual(["gone/x"]);
    expect(d.changed.map((c) => [c.label, c.content_changed])).toEqual([
      ["edit", true],
      ["meta", false],
    ]);
    expect(d.projections).toEqual([
      { name: "p", status: "changed", fields: ["input_artifacts", "config"] },
      { name: "q", status: "removed", fields: ["adapter", "input_artifacts", "config"] },
    ]);
    expect(d.fingerprint.changed).toBe(false);
    const t3 = await fx.store.begin({ pipeline: "main", definition: { model: "b" } });
    await t3.recordArtifact({ label: "keep", content: "same" });
    const c = await t3.commit();
    expect((await fx.store.diff(b.snapshotOid, c.snapshotOid)).fingerprint.changed).toBe(true);
    // diff against nothing: everything added
    expect((await fx.store.diff(null, "HEAD")).added.map((x) => x.label)).toEqual(["keep"]);
  });
});

describe("invalid revisions are refused consistently", () => {
  it("view, diff, log, release all fail with rev_not_found on a bad ref", async () => {
    fx = await newStore();
    await build(fx.store, { a: "1" });
    await expect(fx.store.view("nope")).rejects.toMatchObject({ code: "rev_not_found" });
    await expect(fx.store.diff("nope", "HEAD")).rejects.toMatchObject({ code: "rev_not_found" });
    await expect(fx.store.diff("HEAD", "nope")).rejects.toMatchObject({ code: "rev_not_found" });
    await expect(fx.store.log("nope")).rejects.toMatchObject({ code: "rev_not_found" });
    await expect(fx.store.release({ name: "prod", rev: "nope" })).rejects.toMatchObject({ code: "rev_not_found" });
    await expect(fx.store.view("HEAD~5")).rejects.toMatchObject({ code: "rev_not_found" });
    expect(await fx.store.releases()).toEqual([]);
  });
});

describe("fsck in the CLI's terms", () => {
  it("assertFsckClean throws corruption_found (exit code 4) on a damaged store", async () => {
    fx = await newStore();
    await build(fx.store, { a: "1" });
    assertFsckClean(await fx.store.fsck());
    await fx.store.context.refs.transaction([{ ref: "refs/tags/bad", expect: "absent", set: "a".repeat(64) }], { reason: "test" });
    const result = await fx.store.fsck();
    expect(() => assertFsckClean(result)).toThrow(expect.objectContaining({ code: "corruption_found", exitCode: 4 }));
  });
});
