import { readFile, readdir, stat, writeFile, mkdir } from "node:fs/promises";
import { closeSync, openSync, writeSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { writeAllSync } from "../src/seam.js";
import { type FsSeam, type FsSyncFacet, FsyncBatch, isTmpName, nodeFs, publishFile, publishTmpFile, tmpNameIn, appendDurable, createFaultFs, ensureDir } from "../src/index.js";
import { tempDir } from "./helpers.js";

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir("snap-publish-"));
});
afterEach(async () => {
  await cleanup();
});

describe("publishFile", () => {
  it("no-clobber creates a new file, then returns 'exists' and never overwrites it", async () => {
    const p = join(dir, "obj");
    expect(await publishFile(p, Buffer.from("first"))).toBe("created");
    expect(await publishFile(p, Buffer.from("second"))).toBe("exists");
    expect(await readFile(p, "utf8")).toBe("first");
    expect(await readdir(dir)).toEqual(["obj"]); // tmp removed in both cases
  });

  it("replace returns 'created' then 'replaced' and swaps the content", async () => {
    const p = join(dir, "ref");
    expect(await publishFile(p, Buffer.from("a"), { mode: "replace" })).toBe("created");
    expect(await publishFile(p, Buffer.from("b"), { mode: "replace" })).toBe("replaced");
    expect(await readFile(p, "utf8")).toBe("b");
    expect(await readdir(dir)).toEqual(["ref"]);
  });

  it("replace is atomic: a concurrent reader only ever sees one whole version", async () => {
    const p = join(dir, "ref");
    const version = (i: number) => Buffer.alloc(64 * 1024 + i, String.fromCharCode(97 + (i % 26)));
    await publishFile(p, version(0), { mode: "replace", durability: "never" });
    let done = false;
    let reads = 0;
    const reader = (async () => {
      while (!done) {
        const got = await readFile(p);
        const i = got.length - 64 * 1024;
        expect(got.equals(version(i))).toBe(true);
        reads++;
      }
    })();
    for (let i = 1; i < 150; i++) await publishFile(p, version(i), { mode: "replace", durability: "never" });
    done = true;
    await reader;
    expect(reads).toBeGreaterThan(0);
  });

  it("fileMode is applied to the new file", async () => {
    const p = join(dir, "ro");
    await publishFile(p, Buffer.from("x"), { fileMode: 0o444 });
    expect((await stat(p)).mode & 0o777).toBe(0o444);
  });

  it("removes its temporary file when the link/rename fails, and rethrows", async () => {
    const failing: FsSeam = {
      ...nodeFs,
      link: async () => {
        throw Object.assign(new Error("EIO: injected"), { code: "EIO" });
      },
    };
    await expect(publishFile(join(dir, "x"), Buffer.from("x"), { fs: failing })).rejects.toMatchObject({ code: "EIO" });
    await mkdir(join(dir, "isdir"));
    await expect(publishFile(join(dir, "isdir"), Buffer.from("x"), { mode: "replace" })).rejects.toBeTruthy();
    expect(await readdir(dir)).toEqual(["isdir"]);
  });

  it("falls back to rename-if-absent where hard links are not supported", async () => {
    const noLinks: FsSeam = {
      ...nodeFs,
      link: async () => {
        throw Object.assign(new Error("EPERM: no hard links"), { code: "EPERM" });
      },
    };
    expect(await publishFile(join(dir, "a"), Buffer.from("1"), { fs: noLinks })).toBe("created");
    expect(await publishFile(join(dir, "a"), Buffer.from("2"), { fs: noLinks })).toBe("exists");
    expect(await readFile(join(dir, "a"), "utf8")).toBe("1");
    expect(await readdir(dir)).toEqual(["a"]);
  });

  it("durability 'batch' without a batch is an invalid_argument (and leaves no tmp)", async () => {
    await expect(publishFile(join(dir, "a"), Buffer.from("1"), { durability: "batch" })).rejects.toMatchObject({
      code: "invalid_argument",
    });
    expect((await readdir(dir)).filter(isTmpName)).toEqual([]);
  });

  it("publishTmpFile publishes an already written temporary file", async () => {
    const tmp = tmpNameIn(dir, "stream");
    await writeFile(tmp, "streamed");
    expect(await publishTmpFile(tmp, join(dir, "obj"))).toBe("created");
    expect(await readdir(dir)).toEqual(["obj"]);
  });

  it("tmp names are marked as debris and unique", () => {
    const a = tmpNameIn(dir, "x/y");
    const b = tmpNameIn(dir, "x/y");
    expect(a).not.toBe(b);
    const base = a.slice(dir.length + 1);
    expect(isTmpName(base)).toBe(true);
    expect(base).not.toContain("/");
    expect(isTmpName("objects")).toBe(false);
  });
});

describe("FsyncBatch and appendDurable on the real filesystem", () => {
  it("FsyncBatch.flush reports what it synced and empties the batch", async () => {
    const batch = new FsyncBatch();
    for (let i = 0; i < 3; i++) await publishFile(join(dir, `f${i}`), Buffer.from("x"), { durability: "batch", batch });
    expect(await batch.flush()).toEqual({ files: 3, dirs: 1 });
    expect(await batch.flush()).toEqual({ files: 0, dirs: 0 });
  });

  it("appendDurable writes each record whole, in order", async () => {
    const f = await nodeFs.open(join(dir, "log"), "a");
    await appendDurable(f, Buffer.from("one\n"));
    await appendDurable(f, Buffer.from("two\n"), { sync: "none" });
    await f.close();
    expect(await readFile(join(dir, "log"), "utf8")).toBe("one\ntwo\n");
  });
});

describe("publishFile's synchronous path (nodeFs.sync, durability never/batch, small buffers)", () => {
  it("no-clobber on an existing name returns 'exists', leaves the old bytes and no tmp (EEXIST from link)", async () => {
    const p = join(dir, "obj");
    expect(await publishFile(p, Buffer.from("first"), { durability: "never" })).toBe("created");
    expect(await publishFile(p, Buffer.from("second"), { durability: "never" })).toBe("exists");
    expect(await readFile(p, "utf8")).toBe("first");
    expect(await readdir(dir)).toEqual(["obj"]);
  });

  it("writeFileExcl refuses an existing name with EEXIST and leaves it alone", async () => {
    const p = join(dir, "taken");
    await writeFile(p, "mine");
    expect(() => nodeFs.sync?.writeFileExcl(p, Buffer.from("theirs"))).toThrow(expect.objectContaining({ code: "EEXIST" }));
    expect(await readFile(p, "utf8")).toBe("mine");
  });

  it("short writes are looped over until every byte is written; a zero-byte write is EIO, not a hang", async () => {
    const data = Buffer.from("0123456789abcdef");
    const fd = openSync(join(dir, "short"), "wx");
    try {
      const calls: number[] = [];
      writeAllSync(fd, data, 0, (f, d, off, len, pos) => {
        calls.push(off);
        return writeSync(f, d, off, Math.min(len, 3), pos); // at most 3 bytes per call
      });
      expect(calls).toEqual([0, 3, 6, 9, 12, 15]);
      expect(() => writeAllSync(fd, data, 0, () => 0)).toThrow(expect.objectContaining({ code: "EIO" }));
    } finally {
      closeSync(fd);
    }
    expect(await readFile(join(dir, "short"), "utf8")).toBe("0123456789abcdef");
  });

  it("a failing sync call removes the tmp file and rethrows; the async path is used above syncMax and for 'always'", async () => {
    const calls: string[] = [];
    const facet = nodeFs.sync as FsSyncFacet;
    const seam: FsSeam = {
      ...nodeFs,
      sync: {
        ...facet,
        link: () => {
          calls.push("sync link");
          throw Object.assign(new Error("EIO: injected"), { code: "EIO" });
        },
      },
      link: async (a, b) => {
        calls.push("async link");
        await nodeFs.link(a, b);
      },
    };
    await expect(publishFile(join(dir, "x"), Buffer.from("x"), { fs: seam, durability: "never" })).rejects.toMatchObject({ code: "EIO" });
    expect(await readdir(dir)).toEqual([]);
    expect(await publishFile(join(dir, "big"), Buffer.alloc(65 * 1024), { fs: seam, durability: "never" })).toBe("created");
    expect(await publishFile(join(dir, "small"), Buffer.from("s"), { fs: seam, durability: "never", syncMax: 0 })).toBe("created");
    expect(await publishFile(join(dir, "durable"), Buffer.from("d"), { fs: seam })).toBe("created");
    expect(calls).toEqual(["sync link", "async link", "async link", "async link"]);
    expect((await readdir(dir)).sort()).toEqual(["big", "durable", "small"]);
  });

  it("a seam spread from nodeFs has no sync facet, so its overrides are never bypassed", () => {
    expect(nodeFs.sync).toBeDefined();
    expect({ ...nodeFs }.sync).toBeUndefined();
  });
});

describe("nodeFs.readFile", () => {
  it("reads small files (sync path), large files (async path), empty files and procfs files whole", async () => {
    const small = Buffer.alloc(1000, 1);
    const large = Buffer.alloc(200 * 1024, 2);
    await writeFile(join(dir, "s"), small);
    await writeFile(join(dir, "l"), large);
    await writeFile(join(dir, "e"), "");
    expect((await nodeFs.readFile(join(dir, "s"))).equals(small)).toBe(true);
    expect((await nodeFs.readFile(join(dir, "l"))).equals(large)).toBe(true);
    expect((await nodeFs.readFile(join(dir, "e"))).length).toBe(0);
    if (process.platform === "linux") expect((await nodeFs.readFile("/proc/self/status")).toString()).toContain("Pid:");
    await expect(nodeFs.readFile(join(dir, "missing"))).rejects.toMatchObject({ code: "ENOENT" });
    expect(nodeFs.sync?.readFileUpTo(join(dir, "l"), 64 * 1024)).toBeUndefined();
  });
});

describe("ensureDir and the sync facet's statIfExists / readAt", () => {
  it("creates a directory once and makes its name durable per mode, whoever created it", async () => {
    const fs = await createFaultFs({ root: join(dir, "fault") });
    const target = join(dir, "fault", "d");
    await ensureDir(target, { fs });
    await ensureDir(target, { fs }); // exists: no error, the parent is fsynced again
    expect(fs.log.filter((op) => op.kind === "syncDir").map((op) => op.path)).toEqual([join(dir, "fault"), join(dir, "fault")]);
    fs.resetCounts();
    const batch = new FsyncBatch({ fs });
    await ensureDir(join(dir, "fault", "e"), { fs, durability: "batch", batch });
    expect(fs.counts.syncDir).toBe(0);
    expect(batch.pendingDirs).toBe(1);
    await ensureDir(join(dir, "fault", "f"), { fs, durability: "never" });
    expect(fs.counts.syncDir).toBe(0);
    await expect(ensureDir(join(dir, "fault", "missing", "g"), { fs })).rejects.toMatchObject({ code: "ENOENT" });
    await expect(ensureDir(join(dir, "fault", "h"), { fs, durability: "batch" })).rejects.toMatchObject({ code: "invalid_argument" });
    expect((await stat(target)).isDirectory()).toBe(true);
  });

  it("statIfExists returns undefined for a missing name or a non-directory on the way; readAt reads a range, short only at the end", async () => {
    const facet = nodeFs.sync as FsSyncFacet;
    const file = join(dir, "f");
    await writeFile(file, "0123456789");
    expect(facet.statIfExists(file)?.size).toBe(10);
    expect(facet.statIfExists(join(dir, "nope"))).toBeUndefined();
    expect(facet.statIfExists(join(file, "under-a-file"))).toBeUndefined();
    expect(facet.readAt(file, 2, 3).toString()).toBe("234");
    expect(facet.readAt(file, 8, 5).toString()).toBe("89");
    expect(facet.readAt(file, 10, 4).byteLength).toBe(0);
    expect(() => facet.readAt(join(dir, "nope"), 0, 1)).toThrow(/ENOENT/);
  });
});
