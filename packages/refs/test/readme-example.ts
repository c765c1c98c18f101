// The README's usage example (test/readme.test.ts checks the README shows exactly this region).
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
// #region readme
import assert from "node:assert/strict";
import { openJournal } from "@snap/journal";
import { openRefs } from "../src/index.js";

const dir = await mkdtemp(join(tmpdir(), "snap-refs-example-")); // a store: HEAD, refs/, journal/
const journal = await openJournal({ dir: join(dir, "journal"), lockPath: join(dir, "lock") });
const refs = await openRefs({ dir, journal });

const a = "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb";
const b = "3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d";

await refs.setSymbolic("HEAD", "refs/heads/main");
// Create the branch through HEAD: the update applies to the ref HEAD points at.
await refs.transaction([{ ref: "HEAD", expect: "absent", set: a }], { reason: "first build" });
assert.equal(await refs.resolve("HEAD"), a);

// Several refs, all or nothing, compare-and-swap checked under the store lock.
await refs.transaction(
  [
    { ref: "refs/heads/main", expect: a, set: b },
    { ref: "refs/runs/main/run-2", expect: "absent", set: b },
  ],
  { reason: "second build" },
);

// A stale expectation is refused with the value actually found.
try {
  await refs.transaction([{ ref: "refs/heads/main", expect: a, set: a }]);
  assert.fail("expected ref_expect_mismatch");
} catch (err) {
  assert.equal((err as { code?: string }).code, "ref_expect_mismatch");
  assert.deepEqual((err as { data: { expected: string; found: string } }).data.found, b);
}

// The reflog comes from the journal (and outlives the ref).
const log = await refs.log("refs/heads/main");
assert.deepEqual(
  log.map((e) => [e.old, e.new, e.reason]),
  [
    [a, b, "second build"],
    [null, a, "first build"],
  ],
);
assert.deepEqual((await refs.list("refs/runs/")).map((r) => r.name), ["refs/runs/main/run-2"]);
assert.equal((await refs.verify()).ok, true);
await journal.close();
// #endregion

export const head = await refs.read("refs/heads/main");
