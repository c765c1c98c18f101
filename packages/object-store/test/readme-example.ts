import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = await mkdtemp(join(tmpdir(), "snap-os-readme-"));
// #region readme
import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { isSnapError } from "@snap/schema";
import { openObjectStore } from "../src/index.js";

const store = await openObjectStore({ dir: join(root, "objects"), fsync: "batch" });

// A blob is stored raw: its oid is the sha256 of its bytes (`sha256sum` of the file).
const { oid, created } = await store.putBytes("hello, snap\n");
assert.equal(oid, "edbfeaa1da28f7d6bab174af128632fded084eb19eeee9a637a335e9bdb9d3ad"); // printf "hello, snap\n" | sha256sum
assert.equal(created, true);
assert.equal((await store.putBytes("hello, snap\n")).created, false); // deduplicated

// Streams are hashed while they are written: bounded memory for any size.
const big = await store.putStream(Readable.from([Buffer.alloc(1 << 20, 1), Buffer.alloc(1 << 20, 2)]));
assert.equal(big.size, 2 << 20);

// Structured objects: canonical JSON with `type` and `schema_version`, validated by the
// @snap/schema schema registered for their type (when there is one), on write and on read.
const note = await store.putObject({ type: "note", schema_version: 1, text: "built on CI" });
assert.deepEqual(await store.getObject(note.oid), { type: "note", schema_version: 1, text: "built on CI" });

// Every read is verified; a streaming read fails before its last chunk if the bytes are bad.
assert.equal((await store.getBytes(oid)).toString(), "hello, snap\n");
let streamed = 0;
for await (const chunk of await store.getStream(big.oid)) streamed += chunk.length;
assert.equal(streamed, 2 << 20);

// Errors are typed: test `err.code`, never the message.
await assert.rejects(store.getBytes("0".repeat(64)), (err) => isSnapError(err, "object_not_found"));

await store.flush(); // batch mode: everything put so far is durable now
const report = await store.verify(); // re-hash everything
assert.deepEqual(report.corrupt, []);
await store.close();
// #endregion
await rm(root, { recursive: true, force: true });
export { oid };
