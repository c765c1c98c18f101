import { createHash } from "node:crypto";
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, stat, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { nodeFs } from "@snap/fs";
import { objectPath, openObjectStore, type ObjectStore } from "../src/index.js";
import { bytesOf, collect, expectCode, sha256 } from "./contract.js";
import { debrisUnder } from "./fs-debris.js";

let root: string;
let dir: string;
const opened: ObjectStore[] = [];

async function open(fsync: "always" | "batch" | "never" = "never", extra: Record<string, unknown> = {}): Promise<ObjectStore> {
  const store = await openObjectStore({ dir, fsync, ...extra });
  opened.push(store);
  return store;
}

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "snap-os-fs-"));
  dir = join(root, "objects");
});
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
  await rm(root, { recursive: true, force: true });
});

describe("fs backend: on-disk format", () => {
  it("stores a blob raw at <dir>/<2 hex>/<62 hex>, read-only, so sha256sum of the file is its oid", async () => {
    const store = await open("always");
    const data = bytesOf(5000, 3);
    const { oid } = await store.putBytes(data);
    const path = join(dir, oid.slice(0, 2), oid.slice(2));
    expect(objectPath(dir, oid)).toBe(path);
    const onDisk = await readFile(path);
    expect(createHash("sha256").update(onDisk).digest("hex")).toBe(oid);
    expect(Buffer.compare(onDisk, data)).toBe(0);
    expect((await stat(path)).mode & 0o777).toBe(0o444);
    expect((await readdir(dir)).sort()).toEqual([oid.slice(0, 2), "tmp"].sort());
  });

  it("stores a structured object as its canonical JSON bytes", async () => {
    const store = await open();
    const { oid } = await store.putObject({ type: "note", schema_version: 1, z: 1, a: [true, null] });
    expect(await readFile(objectPath(dir, oid), "utf8")).toBe('{"a":[true,null],"schema_version":1,"type":"note","z":1}');
  });

  it("objects survive closing and reopening, in every fsync mode", async () => {
    const oids: string[] = [];
    for (const mode of ["always", "batch", "never"] as const) {
      const store = await open(mode);
      oids.push((await store.putBytes(`in ${mode} mode`)).oid);
      oids.push((await store.putStream(Readable.from([bytesOf(70_000, oids.length)]))).oid);
      await store.close();
    }
    const again = await open();
    expect(await collect(again.list())).toEqual([...oids].sort());
    expect((await again.verify()).corrupt).toEqual([]);
  });

  it("streamed puts stage in <dir>/tmp (or tmpDir) and leave nothing there", async () => {
    const staging = join(root, "staging");
    const store = await open("always", { tmpDir: staging });
    const data = bytesOf(2_000_000, 4);
    const { oid } = await store.putStream(Readable.from([data.subarray(0, 1_000_000), data.subarray(1_000_000)]));
    expect(oid).toBe(sha256(data));
    expect(await readdir(staging)).toEqual([]);
    expect(await debrisUnder(dir)).toEqual([]);
  });

  it("putFile streams a file into the store", async () => {
    const store = await open();
    const file = join(root, "input.bin");
    const data = bytesOf(3 * 1024 * 1024 + 1, 8);
    await writeFile(file, data);
    expect(await store.putFile(file)).toEqual({ oid: sha256(data), size: data.length, created: true, repaired: false });
    await expectCode(store.putFile(join(root, "missing.bin")), "invalid_argument");
  });

  it("the memory backend also reads files with putFile (nothing in the API needs a local store)", async () => {
    const store = await openObjectStore({ backend: "memory" });
    const file = join(root, "input.txt");
    await mkdir(root, { recursive: true });
    await writeFile(file, "from disk");
    expect((await store.putFile(file)).oid).toBe(sha256("from disk"));
    expect(store.backendKind).toBe("memory");
  });
});

describe("fs backend: staging debris", () => {
  it("`.tmp-*` debris and foreign names are never listed or verified as objects", async () => {
    const store = await open();
    const { oid } = await store.putBytes("real");
    const fan = join(dir, oid.slice(0, 2));
    await writeFile(join(fan, ".tmp-f-123-1-deadbeef"), "half an obj");
    await writeFile(join(dir, "tmp", ".tmp-stream-123-2-cafebabe"), "half a stream");
    await writeFile(join(fan, "short"), "not an object name");
    await writeFile(join(fan, oid.slice(2).toUpperCase()), "upper case is not an oid");
    await mkdir(join(dir, "zz"));
    await writeFile(join(dir, "zz", "a".repeat(62)), "not a fan-out dir");
    expect(await collect(store.list())).toEqual([oid]);
    expect(await store.verify()).toMatchObject({ checked: 1, corrupt: [] });
  });

  it("cleanTmp removes only `.tmp-*` files older than the threshold, in staging and fan-out dirs", async () => {
    const store = await open();
    const { oid } = await store.putBytes("keep me");
    const fan = join(dir, oid.slice(0, 2));
    const old = [join(fan, ".tmp-f-1-1-00000000"), join(dir, "tmp", ".tmp-stream-1-2-00000000")];
    const young = [join(fan, ".tmp-f-1-3-00000000"), join(dir, "tmp", ".tmp-stream-1-4-00000000")];
    for (const p of [...old, ...young]) await writeFile(p, "debris");
    const twoHoursAgo = (Date.now() - 2 * 3600_000) / 1000;
    for (const p of old) await utimes(p, twoHoursAgo, twoHoursAgo);
    await writeFile(join(dir, "tmp", "not-tmp-name"), "kept: not ours");
    await utimes(join(dir, "tmp", "not-tmp-name"), twoHoursAgo, twoHoursAgo);
    expect(await store.cleanTmp({ olderThanMs: 3600_000 })).toEqual({ removed: 2 });
    expect((await debrisUnder(dir)).length).toBe(2);
    expect(await readdir(join(dir, "tmp"))).toContain("not-tmp-name");
    expect(await store.cleanTmp()).toEqual({ removed: 0 }); // default: older than 1 h
    expect(await store.cleanTmp({ olderThanMs: 0 })).toEqual({ removed: 2 });
    expect(Buffer.from(await store.getBytes(oid)).toString()).toBe("keep me");
  });
});

describe("fs backend: durability modes and options", () => {
  it("batch mode: puts are visible at once and flush() makes them durable; close() flushes", async () => {
    const store = await open("batch");
    const oids: string[] = [];
    for (let i = 0; i < 100; i++) oids.push((await store.putBytes(`batched ${i}`)).oid);
    expect(await collect(store.list())).toEqual([...oids].sort());
    await store.flush();
    await store.flush(); // nothing pending: fine
    oids.push((await store.putBytes("after flush")).oid);
    await store.close();
    const again = await open();
    expect((await collect(again.list())).length).toBe(101);
  });

  it("resolvePrefix reads only the fan-out directory its prefix selects", async () => {
    const readdirs: string[] = [];
    const seam = { ...nodeFs, readdir: (p: string) => (readdirs.push(p), nodeFs.readdir(p)) };
    const store = await open("never", { fs: seam });
    const oids: string[] = [];
    for (let i = 0; i < 200; i++) oids.push((await store.putBytes(`object ${i}`)).oid);
    readdirs.length = 0;
    const target = oids[17] as string;
    expect(await store.resolvePrefix(target.slice(0, 10))).toBe(target);
    expect(readdirs).toEqual([join(dir, target.slice(0, 2))]);
    // A prefix whose fan-out directory does not exist: not found, still one readdir.
    const missing = ["00", "01", "02", "03", "04"].find((f) => !oids.some((o) => o.startsWith(f))) as string;
    readdirs.length = 0;
    await expectCode(store.resolvePrefix(`${missing}ab`), "object_not_found");
    expect(readdirs).toEqual([join(dir, missing)]);
  });

  it("a fan-out directory removed behind the store's back is recreated", async () => {
    const store = await open();
    const { oid } = await store.putBytes("first");
    await rm(join(dir, oid.slice(0, 2)), { recursive: true, force: true });
    expect((await store.putBytes("first")).created).toBe(true);
    expect(await store.has(oid)).toBe(true);
  });

  it("a repair replaces a corrupt read-only object file atomically, keeping it read-only", async () => {
    const store = await open("always");
    const { oid } = await store.putBytes("original");
    const path = objectPath(dir, oid);
    await chmod(path, 0o644);
    await writeFile(path, "");
    await chmod(path, 0o444);
    expect(await store.putBytes("original")).toEqual({ oid, created: true, repaired: true });
    expect(await readFile(path, "utf8")).toBe("original");
    expect((await stat(path)).mode & 0o777).toBe(0o444);
    expect(await debrisUnder(dir)).toEqual([]);
  });

  it("bad options are refused before anything is written", async () => {
    await expectCode(openObjectStore({}), "invalid_argument");
    await expectCode(openObjectStore({ dir, fsync: "sometimes" as never }), "invalid_argument");
    await expectCode(openObjectStore({ backend: "s3" as never }), "invalid_argument");
    await expect(stat(dir)).rejects.toMatchObject({ code: "ENOENT" });
  });
});
