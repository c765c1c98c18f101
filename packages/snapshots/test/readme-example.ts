import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import assert from "node:assert/strict";

export async function runReadmeExample(): Promise<string> {
  const work = mkdtempSync(join(tmpdir(), "snap-readme-"));
  // #region readme
  const { initStore, openSnapshotStore, isSnapError } = await import("../src/index.js");

  await initStore({ dir: join(work, ".snap") });
  const store = await openSnapshotStore({ dir: join(work, ".snap") });

  // One build: record what it produced, check the closure, commit.
  const txn = await store.begin({ pipeline: "main", definition: { model: "small", api_key: "not hashed" } });
  await txn.recordArtifact({ label: "episodes/1.md", content: "# Episode 1\n", artifactType: "episode" });
  await txn.recordArtifact({ label: "core.md", content: "core memory\n", parents: ["episodes/1.md"] });
  await txn.recordProjection({ name: "context", adapter: "concat", inputs: ["core.md", "episodes/1.md"], config: { output: "context.md" } });
  await txn.assertComplete(["episodes/1.md", "core.md"]);
  const first = await txn.commit({ message: "first build" });

  // Read it back, at any later time, by ref, oid prefix or HEAD~N.
  const view = await store.view("main");
  assert.equal(await view.text("core.md"), "core memory\n");
  assert.deepEqual((await view.lineage("core.md")).map((l) => l.label), ["core.md", "episodes/1.md"]);
  assert.equal(await store.resolve(first.snapshotOid.slice(0, 8)), first.snapshotOid);

  // Release it: materialized once under .snap/releases/prod/<oid>/, switched by one symlink swap.
  const site = join(work, "site");
  await store.release({ rev: "main", name: "prod", target: site });

  // A second build, a diff, a release, and a revert (a pointer swap: no rebuild).
  const txn2 = await store.begin({ pipeline: "main", inherit: true });
  await txn2.recordArtifact({ label: "core.md", content: "core memory v2\n", parents: ["episodes/1.md"] });
  await txn2.commit();
  const diff = await store.diff("main~1", "main");
  assert.deepEqual(diff.changed.map((c) => c.label), ["core.md"]);
  await store.release({ rev: "main", name: "prod" });
  const back = await store.revert({ name: "prod" });
  assert.equal(back.snapshotOid, first.snapshotOid);

  // Errors are typed: test err.code, never the message.
  try {
    await store.resolve("no-such-ref");
  } catch (err) {
    assert.ok(isSnapError(err, "rev_not_found"));
  }
  assert.equal((await store.fsck()).ok, true);
  await store.close();
  // #endregion
  return first.snapshotOid;
}
