/**
 * The fast paths: putStream hashes a chunk while the thread pool writes it (and starts
 * writeback early with fsync "always"), small puts and reads go through the seam's
 * synchronous facet. Each keeps the store's guarantees: same oids, bounded memory, the
 * producer's buffer released before the next chunk is asked for, crash safety.
 */
import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createFaultFs, type FsSeam, nodeFs } from "@snap/fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createMemoryBackend, type ObjectBackend, openObjectStore, type StagedObject } from "../src/index.js";
import { bytesOf, sha256 } from "./contract.js";

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "snap-os-pipe-"));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const CHUNK = 64 * 1024;

/** A producer that refills ONE buffer for every chunk, and checks nothing is in flight when asked again. */
function reusingSource(chunks: number, state: { inFlight: number; maxInFlight: number; askedWhileBusy: number }) {
  const buf = Buffer.allocUnsafe(CHUNK);
  const expected = createHash("sha256");
  async function* generate() {
    for (let i = 0; i < chunks; i++) {
      if (state.inFlight > 0) state.askedWhileBusy++;
      buf.fill(i & 0xff);
      buf.writeUInt32LE(i, 0);
      expected.update(buf);
      yield buf;
    }
  }
  return { source: generate(), digest: () => expected.digest("hex") };
}

/** Wraps a backend so its staged writes are slow and counted. */
function countingBackend(inner: ObjectBackend, state: { inFlight: number; maxInFlight: number }): ObjectBackend {
  return Object.assign(Object.create(inner) as ObjectBackend, {
    async stage(): Promise<StagedObject> {
      const staged = await inner.stage();
      return {
        async write(chunk: Uint8Array) {
          state.inFlight++;
          state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
          try {
            await new Promise((r) => setTimeout(r, 1)); // a write that takes a while
            await staged.write(chunk);
          } finally {
            state.inFlight--;
          }
        },
        commit: (oid, mode) => staged.commit(oid, mode),
        abort: () => staged.abort(),
      };
    },
  });
}

describe("putStream pipelining", () => {
  it("hashes while writing, yet holds one chunk: a producer reusing its buffer gets the right oid, and is never asked for the next chunk while a write is in flight", async () => {
    const state = { inFlight: 0, maxInFlight: 0, askedWhileBusy: 0 };
    const store = await openObjectStore({ backend: countingBackend(createMemoryBackend(), state) });
    const { source, digest } = reusingSource(40, state);
    const result = await store.putStream(source);
    expect(result.oid).toBe(digest());
    expect(result.size).toBe(40 * CHUNK);
    expect(state.maxInFlight).toBe(1);
    expect(state.askedWhileBusy).toBe(0);
    expect(sha256(await store.getBytes(result.oid))).toBe(result.oid);
    await store.close();
  });

  it("fs backend, fsync always: early writeback runs during the stream, the oid is the same, and the object survives power loss", async () => {
    const caseRoot = join(root, "wb");
    const fs = await createFaultFs({ root: caseRoot });
    const dir = join(caseRoot, "objects");
    const store = await openObjectStore({ dir, fsync: "always", fs, writebackEvery: 4 * CHUNK });
    const state = { inFlight: 0, maxInFlight: 0, askedWhileBusy: 0 };
    const { source, digest } = reusingSource(32, state);
    fs.resetCounts();
    const result = await store.putStream(source);
    expect(result.oid).toBe(digest());
    expect(fs.counts.datasync).toBeGreaterThanOrEqual(1); // background writeback happened
    expect(fs.counts.datasync).toBeLessThanOrEqual(8); // at most one per 4 chunks
    expect(fs.counts.fsync).toBe(1); // and the one fsync that makes it durable, after the last write
    await store.close();
    await fs.powerLoss();
    const again = await openObjectStore({ dir, fsync: "never" });
    expect(sha256(await again.getBytes(result.oid))).toBe(result.oid);
    await again.close();
  });

  it("a failing background writeback fails the put and publishes nothing", async () => {
    const failing: FsSeam = {
      ...nodeFs,
      async open(path, flags, mode) {
        const f = await nodeFs.open(path, flags, mode);
        return Object.assign(Object.create(f) as typeof f, {
          write: (d: Uint8Array, p?: number) => f.write(d, p),
          datasync: async () => {
            throw Object.assign(new Error("EIO: injected"), { code: "EIO" });
          },
        });
      },
    };
    const dir = join(root, "objects");
    const store = await openObjectStore({ dir, fsync: "always", fs: failing, writebackEvery: CHUNK });
    const chunks = Array.from({ length: 8 }, (_, i) => bytesOf(CHUNK, i));
    await expect(store.putStream(chunks)).rejects.toMatchObject({ code: "EIO" });
    expect(await store.has(sha256(Buffer.concat(chunks)))).toBe(false);
    await store.close();
  });

  it("putFile reads ahead one chunk and stores the same oid as putBytes", async () => {
    const dir = join(root, "objects");
    const store = await openObjectStore({ dir, fsync: "never" });
    const data = bytesOf(3 * 1024 * 1024 + 17, 9);
    const file = join(root, "in.bin");
    await nodeFs.writeFile(file, data, "wx");
    const viaFile = await store.putFile(file);
    expect(viaFile.oid).toBe(sha256(data));
    expect((await store.putBytes(data)).created).toBe(false);
    await store.close();
  });
});

describe("small puts and reads through the seam's synchronous facet", () => {
  it("the fault seam sees every call of a small put in batch mode (sync), and of a get", async () => {
    const caseRoot = join(root, "sync");
    const fs = await createFaultFs({ root: caseRoot });
    const store = await openObjectStore({ dir: join(caseRoot, "objects"), fsync: "batch", fs });
    fs.resetCounts();
    const { oid } = await store.putBytes("x");
    // The fan-out mkdir (async, once per prefix per process) aside, the put is three sync calls.
    expect(fs.log.filter((op) => op.kind !== "mkdir").map((op) => [op.kind, op.sync === true])).toEqual([
      ["writeFile", true],
      ["link", true],
      ["unlink", true],
    ]);
    fs.resetCounts();
    expect((await store.getBytes(oid)).toString()).toBe("x");
    expect(fs.counts.ops).toEqual({ readFile: 1 }); // readFileUpTo through the facet
    await store.close();
  });

  it("a seam without a sync facet gets every call asynchronously, with the same results", async () => {
    const plain: FsSeam = { ...nodeFs }; // spreading nodeFs drops its (non-enumerable) facet
    expect(plain.sync).toBeUndefined();
    const store = await openObjectStore({ dir: join(root, "objects"), fsync: "batch", fs: plain });
    const { oid } = await store.putBytes("async all the way");
    expect((await store.getBytes(oid)).toString()).toBe("async all the way");
    await store.close();
  });
});
