import { mkdir, readdir, readlink, symlink } from "node:fs/promises";
import { join } from "node:path";
import { isSnapError } from "@snap/schema";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FsyncBatch, createFaultFs, nodeFs, swapSymlink } from "../src/index.js";
import { tempDir } from "./helpers.js";

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir("snap-symlink-"));
});
afterEach(async () => {
  await cleanup();
});

const readLinkOrNull = (p: string) => readlink(p).catch((err: { code?: string }) => (err.code === "ENOENT" ? null : Promise.reject(err)));

/**
 * Runs swapSymlink once to learn its operation count N, then once per boundary k = 0..N on a
 * fresh directory: fail after k operations, power loss, check the link.
 */
async function everyBoundary(existed: boolean): Promise<number> {
  const prepare = async (root: string) => {
    await mkdir(join(root, "old"), { recursive: true });
    await mkdir(join(root, "new"));
    if (existed) await symlink("old", join(root, "cur"));
    return createFaultFs({ root }); // what exists now is durable
  };
  const probeRoot = join(dir, "probe");
  const probe = await prepare(probeRoot);
  await swapSymlink(join(probeRoot, "cur"), "new", { fs: probe });
  const total = probe.mutations;
  for (let k = 0; k <= total; k++) {
    const root = join(dir, `k${k}`);
    const ffs = await prepare(root);
    ffs.failAfter(k);
    let resolved = false;
    try {
      await swapSymlink(join(root, "cur"), "new", { fs: ffs });
      resolved = true;
    } catch (err) {
      if (!isSnapError(err, "fault_injected")) throw err;
    }
    expect(resolved).toBe(k >= total);
    await ffs.powerLoss();
    const now = await readLinkOrNull(join(root, "cur"));
    if (resolved) expect(now, `k=${k}`).toBe("new");
    else if (existed) expect(["old", "new"], `k=${k}`).toContain(now);
    else expect([null, "new"], `k=${k}`).toContain(now);
    // Never a link to the temporary name, and no temporary link survives.
    expect((await readdir(root)).sort(), `k=${k}`).toEqual(now === null ? ["new", "old"] : ["cur", "new", "old"]);
  }
  return total;
}

describe("swapSymlink", () => {
  it("replaces a link atomically on the real filesystem, and creates one that is absent", async () => {
    await mkdir(join(dir, "a"));
    await mkdir(join(dir, "b"));
    await swapSymlink(join(dir, "cur"), join(dir, "a"));
    expect(await nodeFs.readlink(join(dir, "cur"))).toBe(join(dir, "a"));
    await swapSymlink(join(dir, "cur"), "b");
    expect(await readlink(join(dir, "cur"))).toBe("b");
    expect((await readdir(dir)).sort()).toEqual(["a", "b", "cur"]);
    expect((await nodeFs.lstat(join(dir, "cur"))).isSymbolicLink()).toBe(true);
  });

  it("uses the given tmpPath, refuses one in another directory, and cleans it up when the rename fails", async () => {
    await mkdir(join(dir, "sub"));
    await expect(swapSymlink(join(dir, "cur"), "x", { tmpPath: join(dir, "sub", "t") })).rejects.toMatchObject({ code: "invalid_argument" });
    // rename onto a non-empty directory fails: the tmp link is removed, the directory kept.
    await mkdir(join(dir, "busy"));
    await mkdir(join(dir, "busy", "inside"));
    await expect(swapSymlink(join(dir, "busy"), "x", { tmpPath: join(dir, ".my-tmp") })).rejects.toBeTruthy();
    expect((await readdir(dir)).sort()).toEqual(["busy", "sub"]);
  });

  it("durability batch adds the directory to the batch; batch without one is refused", async () => {
    await expect(swapSymlink(join(dir, "cur"), "x", { durability: "batch" })).rejects.toMatchObject({ code: "invalid_argument" });
    const ffs = await createFaultFs({ root: dir });
    const batch = new FsyncBatch({ fs: ffs });
    await swapSymlink(join(dir, "cur"), "x", { fs: ffs, durability: "batch", batch });
    expect(batch.pendingDirs).toBe(1);
    expect(ffs.counts.syncDir).toBe(0);
    await batch.flush();
    await ffs.powerLoss();
    expect(await readlink(join(dir, "cur"))).toBe("x");
  });

  it("power loss at every boundary: the link names the old or the new destination, never missing, never the tmp; new once resolved", async () => {
    const total = await everyBoundary(true);
    expect(total).toBe(3); // symlink, rename, syncDir
  });

  it("power loss at every boundary, link absent before: absent or new; new once resolved", async () => {
    expect(await everyBoundary(false)).toBe(3);
  });
});

describe("fault seam: symlinks", () => {
  it("a new symlink is durable once its directory is fsynced; one present at creation survives", async () => {
    await symlink("there", join(dir, "pre"));
    const ffs = await createFaultFs({ root: dir });
    await ffs.symlink("t1", join(dir, "l1"));
    expect(await ffs.readlink(join(dir, "l1"))).toBe("t1");
    expect(ffs.counts.ops.symlink).toBe(1);
    await ffs.powerLoss();
    expect((await readdir(dir)).sort()).toEqual(["pre"]);
    expect(await readlink(join(dir, "pre"))).toBe("there");
    await ffs.symlink("t2", join(dir, "l2"));
    await ffs.syncDir(dir);
    await ffs.unlink(join(dir, "pre")); // not made durable: comes back
    await ffs.powerLoss();
    expect((await readdir(dir)).sort()).toEqual(["l2", "pre"]);
    expect(await readlink(join(dir, "l2"))).toBe("t2");
  });

  it("failAfter refuses symlink like any mutating call", async () => {
    const ffs = await createFaultFs({ root: dir });
    ffs.failAfter(0);
    await expect(ffs.symlink("t", join(dir, "l"))).rejects.toMatchObject({ code: "fault_injected" });
    expect(await readdir(dir)).toEqual([]);
  });
});
