import { mkdir, readdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { isSnapError } from "@snap/schema";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FsyncBatch, createFaultFs, isTmpName, nodeFs, pathExists, removeFile, removeFiles, removeTree, type FaultFs } from "../src/index.js";
import { tempDir } from "./helpers.js";

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir("snap-remove-"));
});
afterEach(async () => {
  await cleanup();
});

const exists = (p: string) => nodeFs.lstat(p).then(
  () => true,
  () => false,
);

/** A seam that counts syncDir calls per directory. */
function countingSeam(): { fs: typeof nodeFs; syncs: string[] } {
  const syncs: string[] = [];
  return { fs: { ...nodeFs, syncDir: (p: string) => (syncs.push(p), nodeFs.syncDir(p)) }, syncs };
}

describe("pathExists", () => {
  it("is true for a file, a directory and a dangling symlink, false for a missing path or one under a file, and rethrows other errors", async () => {
    await writeFile(join(dir, "f"), "x");
    await mkdir(join(dir, "d"));
    await symlink(join(dir, "nowhere"), join(dir, "dangling"));
    expect(await pathExists(join(dir, "f"))).toBe(true);
    expect(await pathExists(join(dir, "d"))).toBe(true);
    expect(await pathExists(join(dir, "dangling"))).toBe(true);
    expect(await pathExists(join(dir, "missing"))).toBe(false);
    expect(await pathExists(join(dir, "f", "under-a-file"))).toBe(false);
    const denied = { ...nodeFs, lstat: async () => Promise.reject(Object.assign(new Error("EACCES"), { code: "EACCES" })) };
    await expect(pathExists(join(dir, "f"), denied)).rejects.toMatchObject({ code: "EACCES" });
  });
});

describe("removeFiles / removeFile", () => {
  it("unlinks every path, reports missing ones, and fsyncs each parent directory once", async () => {
    await mkdir(join(dir, "a"));
    await mkdir(join(dir, "b"));
    const paths = [join(dir, "a", "1"), join(dir, "a", "2"), join(dir, "b", "3")];
    for (const p of paths) await writeFile(p, "x");
    const { fs, syncs } = countingSeam();
    const result = await removeFiles([...paths, join(dir, "a", "nope"), join(dir, "nodir", "x")], { fs });
    expect(result.removed).toEqual(paths);
    expect(result.missing).toEqual([join(dir, "a", "nope"), join(dir, "nodir", "x")]);
    expect(syncs.sort()).toEqual([join(dir, "a"), join(dir, "b")]);
    for (const p of paths) expect(await exists(p)).toBe(false);
    expect(await removeFile(join(dir, "a", "gone"), { fs })).toBe(false);
  });

  it("durability batch hands the directories to the batch; never fsyncs nothing; batch without one is refused", async () => {
    await writeFile(join(dir, "f"), "x");
    await writeFile(join(dir, "g"), "x");
    const batch = new FsyncBatch();
    const { fs, syncs } = countingSeam();
    expect(await removeFile(join(dir, "f"), { fs, durability: "batch", batch })).toBe(true);
    expect(syncs).toEqual([]);
    expect(batch.pendingDirs).toBe(1);
    expect(await removeFile(join(dir, "g"), { fs, durability: "never" })).toBe(true);
    expect(syncs).toEqual([]);
    await expect(removeFile(join(dir, "h"), { durability: "batch" })).rejects.toMatchObject({ code: "invalid_argument" });
    await expect(removeFile(join(dir, "h"), { durability: "sometimes" as never })).rejects.toMatchObject({ code: "invalid_argument" });
  });

  it("an unlink error stops the removal, but what was unlinked is made durable before it is rethrown", async () => {
    await writeFile(join(dir, "f"), "x");
    await mkdir(join(dir, "adir"));
    const { fs, syncs } = countingSeam();
    await expect(removeFiles([join(dir, "f"), join(dir, "adir"), join(dir, "later")], { fs })).rejects.toMatchObject({ code: expect.stringMatching(/^(EISDIR|EPERM)$/) });
    expect(await exists(join(dir, "f"))).toBe(false);
    expect(await exists(join(dir, "adir"))).toBe(true);
    expect(syncs).toEqual([dir]);
  });

  it("power loss at every operation boundary: a removal whose promise resolved stays removed; others leave the file whole or gone", async () => {
    const prepare = async (root: string): Promise<FaultFs> => {
      await mkdir(join(root, "x"), { recursive: true });
      await mkdir(join(root, "y"));
      await writeFile(join(root, "x", "1"), "one");
      await writeFile(join(root, "x", "2"), "two");
      await writeFile(join(root, "y", "3"), "three");
      return createFaultFs({ root });
    };
    const targets = (root: string) => [join(root, "x", "1"), join(root, "x", "2"), join(root, "y", "3")];
    const probeRoot = join(dir, "probe");
    const probe = await prepare(probeRoot);
    await removeFiles(targets(probeRoot), { fs: probe });
    const total = probe.mutations;
    expect(total).toBeGreaterThanOrEqual(3);
    for (let k = 0; k <= total; k++) {
      const root = join(dir, `k${k}`);
      const ffs = await prepare(root);
      ffs.failAfter(k);
      let resolved = false;
      try {
        await removeFiles(targets(root), { fs: ffs });
        resolved = true;
      } catch (err) {
        if (!isSnapError(err, "fault_injected")) throw err;
      }
      expect(resolved, `k=${k}`).toBe(k >= total);
      await ffs.powerLoss();
      for (const p of targets(root)) {
        const present = await exists(p);
        if (resolved) expect(present, `k=${k} ${p}`).toBe(false);
        else if (present) expect((await nodeFs.readFile(p)).length, `k=${k} ${p}`).toBeGreaterThan(0);
      }
    }
  });
});

describe("removeTree", () => {
  it("removes a directory tree whole (renamed aside first), never following symlinks", async () => {
    const outside = join(dir, "outside");
    await mkdir(outside);
    await writeFile(join(outside, "keep"), "must survive");
    const tree = join(dir, "t");
    await mkdir(join(tree, "sub", "deep"), { recursive: true });
    await writeFile(join(tree, "a"), "a");
    await writeFile(join(tree, "sub", "deep", "b"), "b");
    await symlink(outside, join(tree, "sub", "link-to-outside"));
    const { fs, syncs } = countingSeam();
    expect(await removeTree(tree, { fs })).toBe(true);
    expect(await exists(tree)).toBe(false);
    expect(syncs).toEqual([dir]);
    expect((await readdir(dir)).sort()).toEqual(["outside"]); // no .tmp-rm debris
    expect(await nodeFs.readFile(join(outside, "keep"))).toEqual(Buffer.from("must survive"));
    expect(await removeTree(tree, { fs })).toBe(false);
  });

  it("removes a single file or a symlink itself", async () => {
    await writeFile(join(dir, "f"), "x");
    await mkdir(join(dir, "d"));
    await symlink(join(dir, "d"), join(dir, "l"));
    expect(await removeTree(join(dir, "f"))).toBe(true);
    expect(await removeTree(join(dir, "l"))).toBe(true);
    expect((await readdir(dir)).sort()).toEqual(["d"]);
  });

  it("power loss at every boundary: the tree is whole under its name or gone from it, never half; a resolved removal stays", async () => {
    const prepare = async (root: string): Promise<FaultFs> => {
      await mkdir(join(root, "t", "s"), { recursive: true });
      await writeFile(join(root, "t", "a"), "a");
      await writeFile(join(root, "t", "s", "b"), "b");
      return createFaultFs({ root });
    };
    const probeRoot = join(dir, "probe");
    const probe = await prepare(probeRoot);
    await removeTree(join(probeRoot, "t"), { fs: probe });
    const total = probe.mutations;
    for (let k = 0; k <= total; k++) {
      const root = join(dir, `k${k}`);
      const ffs = await prepare(root);
      ffs.failAfter(k);
      let resolved = false;
      try {
        await removeTree(join(root, "t"), { fs: ffs });
        resolved = true;
      } catch (err) {
        if (!isSnapError(err, "fault_injected")) throw err;
      }
      await ffs.powerLoss();
      const present = await exists(join(root, "t"));
      if (resolved) expect(present, `k=${k}`).toBe(false);
      if (present) {
        expect((await readdir(join(root, "t"))).sort(), `k=${k}`).toEqual(["a", "s"]);
        expect(await readdir(join(root, "t", "s")), `k=${k}`).toEqual(["b"]);
      }
      // Anything else left is recognizable staging debris.
      for (const name of await readdir(root)) if (name !== "t") expect(isTmpName(name), `k=${k} ${name}`).toBe(true);
    }
  });
});
