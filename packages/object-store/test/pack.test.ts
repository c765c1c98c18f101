/**
 * Packed objects (FORMAT.md, "Packs"): what a packing store writes, when other instances
 * and processes see it, how deletes rewrite packs, and what a damaged pack does. The whole
 * store contract also runs over packs (contract-fs.test.ts), as do power loss at every
 * boundary (fault.test.ts) and SIGKILL storms (crash.test.ts).
 */
import { spawn } from "node:child_process";
import { mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assertBuilt } from "./built.js";
import { objectPath, openObjectStore, PACK_DIR_NAME, readPackIndexFile } from "../src/index.js";
import { encodePack, packChecksumMatches } from "../src/pack.js";
import { bytesOf, collect, expectCode, sha256 } from "./contract.js";
import { existsSync } from "node:fs";
import { parseVersioned, verifyReportSchema } from "@snap/schema";

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "snap-os-pack-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

let n = 0;
const freshDir = (): string => join(root, `objects-${++n}`);
const packsIn = async (dir: string): Promise<string[]> =>
  (await readdir(join(dir, PACK_DIR_NAME)).catch(() => [] as string[])).filter((name) => name.endsWith(".pack")).sort();

describe("pack format", () => {
  it("encodes objects sorted by oid, names the file by its trailer, and reads back the same index", async () => {
    const objects: [string, Buffer][] = [bytesOf(10, 1), bytesOf(0, 2), bytesOf(5000, 3)].map((b) => [sha256(b), b]);
    const pack = encodePack(objects);
    expect(pack.entries.map((e) => e.oid)).toEqual(objects.map(([oid]) => oid).sort());
    expect(packChecksumMatches(pack.bytes)).toBe(true);
    const path = join(root, `${pack.name}.pack`);
    await writeFile(path, pack.bytes);
    const entries = await readPackIndexFile(path);
    expect(entries).toEqual(pack.entries);
    for (const e of entries) expect(sha256(pack.bytes.subarray(e.offset, e.offset + e.length))).toBe(e.oid);
    const flipped = Buffer.from(pack.bytes);
    flipped[20] = (flipped[20] as number) ^ 1;
    expect(packChecksumMatches(flipped)).toBe(false);
  });

  it("refuses packing with fsync \"always\" and bad limits", async () => {
    await expectCode(openObjectStore({ dir: freshDir(), fsync: "always", pack: true }), "invalid_argument");
    await expectCode(openObjectStore({ dir: freshDir(), fsync: "batch", pack: { maxObjectBytes: 0 } }), "invalid_argument");
    await expectCode(openObjectStore({ dir: freshDir(), fsync: "batch", pack: { maxPackBytes: 1.5 } }), "invalid_argument");
  });
});

describe("a packing store", () => {
  it("keeps small puts in memory until flush, then writes one pack; large objects stay loose", async () => {
    const dir = freshDir();
    const store = await openObjectStore({ dir, fsync: "batch", pack: { maxObjectBytes: 64 * 1024 } });
    const small: string[] = [];
    for (let i = 0; i < 300; i++) small.push((await store.putBytes(bytesOf(100 + i, i + 1))).oid);
    const large = (await store.putBytes(bytesOf(100_000, 999))).oid;
    const streamed = (await store.putStream([bytesOf(50, 7)])).oid; // streams are always loose
    expect(await packsIn(dir)).toEqual([]);
    expect(existsSync(objectPath(dir, large))).toBe(true);
    expect(existsSync(objectPath(dir, streamed))).toBe(true);
    // This process sees the pending objects; another instance does not, yet.
    expect(sha256(await store.getBytes(small[7] as string))).toBe(small[7]);
    expect((await store.stat(small[7] as string))?.size).toBe(107);
    const other = await openObjectStore({ dir, fsync: "never" });
    expect(await other.has(small[7] as string)).toBe(false);
    expect(await collect(store.list())).toEqual([...small, large, streamed].sort());

    await store.flush();
    const packs = await packsIn(dir);
    expect(packs.length).toBe(1);
    const entries = await readPackIndexFile(join(dir, PACK_DIR_NAME, packs[0] as string));
    expect(entries.map((e) => e.oid).sort()).toEqual([...small].sort());
    // Now every instance sees them: has, stat (the pack's mtime), get, list (each oid once), prefixes.
    const packMtime = (await stat(join(dir, PACK_DIR_NAME, packs[0] as string))).mtimeMs;
    for (const oid of small) expect(await other.has(oid)).toBe(true);
    expect(await other.stat(small[0] as string)).toEqual({ size: 100, mtimeMs: packMtime });
    expect(sha256(await other.getBytes(small[299] as string))).toBe(small[299]);
    const streamedBack: Buffer[] = [];
    for await (const chunk of await other.getStream(small[5] as string)) streamedBack.push(chunk as Buffer);
    expect(sha256(Buffer.concat(streamedBack))).toBe(small[5]);
    expect(await collect(other.list())).toEqual([...small, large, streamed].sort());
    const oid = small[42] as string;
    expect(await other.resolvePrefix(oid.slice(0, 12))).toBe(oid);
    expect(await collect(other.list({ prefix: oid.slice(0, 3) }))).toContain(oid);
    expect((await other.verify()).corrupt).toEqual([]);
    // A put of content that is already packed is not written again.
    expect((await other.putBytes(bytesOf(100, 1))).created).toBe(false);
    await other.close();
    await store.close();
    expect((await packsIn(dir)).length).toBe(1);
  });

  it("writes a pack before flush once maxPackBytes are pending, and hands out copies of pending bytes", async () => {
    const dir = freshDir();
    const store = await openObjectStore({ dir, fsync: "never", pack: { maxPackBytes: 10_000 } });
    for (let i = 0; i < 25; i++) await store.putBytes(bytesOf(1000, i + 1));
    expect((await packsIn(dir)).length).toBe(2); // after the 10th and the 20th put
    const oid = (await store.putBytes("pending")).oid;
    const got = await store.getBytes(oid);
    got.fill(0); // the caller's copy, not the store's
    expect((await store.getBytes(oid)).toString()).toBe("pending");
    await store.close();
    expect((await packsIn(dir)).length).toBe(3);
    const reader = await openObjectStore({ dir, fsync: "never" });
    expect((await collect(reader.list())).length).toBe(26);
    await reader.close();
  });

  it("deleteMany rewrites a pack without the deleted objects; a reader holding the old pack's index still reads the survivors", async () => {
    const dir = freshDir();
    const writer = await openObjectStore({ dir, fsync: "batch", pack: true });
    const oids: string[] = [];
    for (let i = 0; i < 40; i++) oids.push((await writer.putBytes(bytesOf(200, i + 1))).oid);
    await writer.flush();
    const [before] = await packsIn(dir);
    const reader = await openObjectStore({ dir, fsync: "never" });
    expect(sha256(await reader.getBytes(oids[0] as string))).toBe(oids[0]); // loads the index, opens the pack

    const doomed = oids.slice(0, 10);
    const missing = sha256("never stored");
    const result = await writer.deleteMany([...doomed, missing]);
    expect(result.removed.sort()).toEqual([...doomed].sort());
    expect(result.missing).toEqual([missing]);
    await writer.flush();
    const after = await packsIn(dir);
    expect(after.length).toBe(1);
    expect(after[0]).not.toBe(before);
    const entries = await readPackIndexFile(join(dir, PACK_DIR_NAME, after[0] as string));
    expect(entries.map((e) => e.oid).sort()).toEqual(oids.slice(10).sort());

    for (const oid of oids.slice(10)) expect(sha256(await reader.getBytes(oid))).toBe(oid);
    for (const oid of doomed) expect(await reader.has(oid)).toBe(false);
    expect(await collect(reader.list())).toEqual(oids.slice(10).sort());
    // Deleting the rest leaves no pack at all.
    expect((await writer.deleteMany(oids.slice(10))).removed.length).toBe(30);
    expect(await packsIn(dir)).toEqual([]);
    expect(await collect(reader.list())).toEqual([]);
    await reader.close();
    await writer.close();
  });

  it("a damaged pack hides only its own objects; readPackIndexFile names it", async () => {
    const dir = freshDir();
    const store = await openObjectStore({ dir, fsync: "batch", pack: true });
    const good = (await store.putBytes("good")).oid;
    await store.flush();
    const bad = encodePack([[sha256("lost"), Buffer.from("lost")]]);
    const damaged = Buffer.from(bad.bytes);
    damaged.write("XXXX", 0, "latin1"); // bad magic
    const badPath = join(dir, PACK_DIR_NAME, `${bad.name}.pack`);
    await writeFile(badPath, damaged);
    const reader = await openObjectStore({ dir, fsync: "never" });
    expect(await reader.has(good)).toBe(true);
    await expectCode(reader.getBytes(sha256("lost")), "object_not_found");
    expect(await collect(reader.list())).toEqual([good]);
    await expectCode(readPackIndexFile(badPath), "object_corrupt");
    // verify cannot check what it cannot read, and says so: not ok, naming the pack.
    const verified = await reader.verify();
    expect(verified.corrupt).toEqual([]);
    expect(verified.damaged).toEqual([{ name: `pack/${bad.name}.pack`, reason: expect.stringMatching(/bad magic/) }]);
    expect(verified.report.ok).toBe(false);
    expect(parseVersioned(verifyReportSchema, verified.report).damaged_packs).toEqual([{ pack: `pack/${bad.name}.pack`, reason: expect.stringMatching(/bad magic/) }]);
    // Truncated after publication (a disk that lies): the same.
    await writeFile(badPath, bad.bytes.subarray(0, bad.bytes.length - 5));
    await expectCode(readPackIndexFile(badPath), "object_corrupt");
    await reader.close();
    await store.close();
  });

  it("several processes packing into one store at once: every object each acknowledged is there, intact", async () => {
    assertBuilt();
    const dir = freshDir();
    const fixture = join(import.meta.dirname, "fixtures", "crash-writer.mjs");
    const runs = await Promise.all(
      [1, 2, 3, 4].map(
        (seed) =>
          new Promise<string[]>((resolve, reject) => {
            const child = spawn(process.execPath, [fixture, dir, String(seed), "300", "pack"], { stdio: ["ignore", "pipe", "pipe"] });
            let out = "";
            let err = "";
            child.stdout.on("data", (d: Buffer) => (out += d.toString()));
            child.stderr.on("data", (d: Buffer) => (err += d.toString()));
            child.on("exit", (code) => (code === 0 ? resolve(out.split("\n").filter((l) => /^[0-9a-f]{64}$/.test(l))) : reject(new Error(err))));
          }),
      ),
    );
    const acknowledged = new Set(runs.flat());
    expect(runs.every((r) => r.length === 300)).toBe(true);
    const store = await openObjectStore({ dir, fsync: "never" });
    const listed = new Set(await collect(store.list()));
    for (const oid of acknowledged) expect(listed.has(oid)).toBe(true);
    const result = await store.verify();
    expect(result.corrupt).toEqual([]);
    expect(result.checked).toBe(listed.size);
    expect((await packsIn(dir)).length).toBeGreaterThanOrEqual(4);
    await store.close();
  });
});
