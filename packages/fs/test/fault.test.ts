import { readFile, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { isSnapError } from "@snap/schema";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type FaultFs, FsyncBatch, appendDurable, createFaultFs, isTmpName, publishFile } from "../src/index.js";
import { tempDir } from "./helpers.js";

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir("snap-fault-"));
});
afterEach(async () => {
  await cleanup();
});

const names = async (d: string) => (await readdir(d)).sort();
const finalNames = async (d: string) => (await names(d)).filter((n) => !isTmpName(n));

/** Runs `work` against a fresh seam on a fresh sub-directory, once per crash boundary. */
async function everyBoundary(
  setup: (ffs: FaultFs, root: string) => Promise<void>,
  work: (ffs: FaultFs, root: string, acked: string[]) => Promise<void>,
  check: (root: string, acked: string[], k: number) => Promise<void>,
): Promise<number> {
  // Dry run: learn how many mutating operations the workload makes.
  const probeRoot = join(dir, "probe");
  const probe = await createFaultFs({ root: probeRoot });
  await setup(probe, probeRoot);
  const before = probe.mutations;
  await work(probe, probeRoot, []);
  const total = probe.mutations - before;
  for (let k = 0; k <= total; k++) {
    const root = join(dir, `k${k}`);
    const ffs = await createFaultFs({ root });
    await setup(ffs, root);
    ffs.failAfter(k);
    const acked: string[] = [];
    try {
      await work(ffs, root, acked);
    } catch (err) {
      if (!isSnapError(err, "fault_injected")) throw err;
    }
    expect(ffs.stopped).toBe(k < total);
    await ffs.powerLoss();
    await check(root, acked, k);
  }
  return total;
}

describe("fault seam model", () => {
  it("a new file survives power loss only after fsync of the file AND of its directory", async () => {
    const ffs = await createFaultFs({ root: dir });
    const f = await ffs.open(join(dir, "a"), "wx");
    await f.write(Buffer.from("hello"));
    await f.sync();
    await f.close();
    await ffs.powerLoss();
    expect(await names(dir)).toEqual([]); // name not durable
    const g = await ffs.open(join(dir, "b"), "wx");
    await g.write(Buffer.from("hello"));
    await ffs.syncDir(dir);
    await g.close();
    await ffs.powerLoss();
    expect(await readFile(join(dir, "b"), "utf8")).toBe(""); // name durable, data not
    const h = await ffs.open(join(dir, "b"), "r+");
    await h.write(Buffer.from("durable"), 0);
    await h.datasync();
    await h.write(Buffer.from(" lost"), 7);
    await h.close();
    await ffs.powerLoss();
    expect(await readFile(join(dir, "b"), "utf8")).toBe("durable");
  });

  it("files present when the seam is created are durable; unlinks and renames without a directory fsync are undone", async () => {
    await writeFile(join(dir, "old"), "old content");
    const ffs = await createFaultFs({ root: dir });
    await ffs.unlink(join(dir, "old"));
    await ffs.mkdir(join(dir, "sub"));
    await ffs.powerLoss();
    expect(await names(dir)).toEqual(["old"]);
    expect(await readFile(join(dir, "old"), "utf8")).toBe("old content");
    await ffs.rename(join(dir, "old"), join(dir, "new"));
    await ffs.powerLoss();
    expect(await names(dir)).toEqual(["old"]);
    await ffs.rename(join(dir, "old"), join(dir, "new"));
    await ffs.syncDir(dir);
    await ffs.powerLoss();
    expect(await names(dir)).toEqual(["new"]);
    expect(await readFile(join(dir, "new"), "utf8")).toBe("old content");
  });

  it("a renamed directory's contents follow it; a directory created without a parent fsync vanishes with its files", async () => {
    const ffs = await createFaultFs({ root: dir });
    await ffs.mkdir(join(dir, "d"));
    await ffs.writeFile(join(dir, "d", "x"), Buffer.from("x"), "wx");
    const f = await ffs.open(join(dir, "d", "x"), "r");
    await f.sync();
    await f.close();
    await ffs.syncDir(join(dir, "d"));
    await ffs.powerLoss();
    expect(await names(dir)).toEqual([]);
    await ffs.mkdir(join(dir, "d"));
    await ffs.syncDir(dir);
    await ffs.writeFile(join(dir, "d", "x"), Buffer.from("x"), "wx");
    await (await ffs.open(join(dir, "d", "x"), "r")).sync();
    await ffs.syncDir(join(dir, "d"));
    await ffs.rename(join(dir, "d"), join(dir, "e"));
    await ffs.syncDir(dir);
    await ffs.powerLoss();
    expect(await names(dir)).toEqual(["e"]);
    expect(await readFile(join(dir, "e", "x"), "utf8")).toBe("x");
  });

  it("hard links share durable content and stay linked after power loss", async () => {
    const ffs = await createFaultFs({ root: dir });
    const f = await ffs.open(join(dir, "a"), "wx");
    await f.write(Buffer.from("shared"));
    await f.sync();
    await f.close();
    await ffs.link(join(dir, "a"), join(dir, "b"));
    await ffs.syncDir(dir);
    await ffs.powerLoss();
    expect(await readFile(join(dir, "b"), "utf8")).toBe("shared");
    const { ino: ia } = await ffs.stat(join(dir, "a"));
    const { ino: ib } = await ffs.stat(join(dir, "b"));
    expect(ia).toBe(ib);
  });

  it("failAfter(k) lets k mutating operations run and refuses every later one; reads still work", async () => {
    const ffs = await createFaultFs({ root: dir });
    ffs.failAfter(2);
    await ffs.writeFile(join(dir, "a"), Buffer.from("a"), "wx");
    await ffs.syncDir(dir);
    await expect(ffs.writeFile(join(dir, "b"), Buffer.from("b"), "wx")).rejects.toMatchObject({ code: "fault_injected" });
    await expect(ffs.unlink(join(dir, "a"))).rejects.toMatchObject({ code: "fault_injected" });
    expect(ffs.stopped).toBe(true);
    expect((await ffs.readFile(join(dir, "a"))).toString()).toBe("a");
    expect(await names(dir)).toEqual(["a"]); // the refused op never touched the disk
    expect(ffs.log.map((o) => o.kind)).toEqual(["writeFile", "syncDir"]);
    ffs.failAfter(null);
    await ffs.unlink(join(dir, "a"));
  });

  it("handles opened before a crash are dead afterwards", async () => {
    const ffs = await createFaultFs({ root: dir });
    const f = await ffs.open(join(dir, "a"), "wx");
    await ffs.powerLoss();
    await expect(f.write(Buffer.from("x"))).rejects.toMatchObject({ code: "fault_injected" });
    await f.close();
  });

  it("counts fsyncs, fdatasyncs, directory fsyncs and ops by kind", async () => {
    const ffs = await createFaultFs({ root: dir });
    await publishFile(join(dir, "a"), Buffer.from("a"), { fs: ffs });
    expect(ffs.counts).toMatchObject({ fsync: 1, syncDir: 1, datasync: 0 });
    expect(ffs.counts.ops).toMatchObject({ open: 1, write: 1, fsync: 1, link: 1, unlink: 1, syncDir: 1 });
    ffs.resetCounts();
    expect(ffs.counts.fsync).toBe(0);
    expect(ffs.log).toEqual([]);
  });
});

describe("publishFile under power loss at every operation boundary", () => {
  const data = (i: number) => Buffer.alloc(1000 + i * 777, String.fromCharCode(65 + i));

  it("durability always: every acknowledged file is intact, no final name holds partial content", async () => {
    const total = await everyBoundary(
      async () => undefined,
      async (ffs, root, acked) => {
        for (let i = 0; i < 3; i++) {
          await publishFile(join(root, `f${i}`), data(i), { fs: ffs, durability: "always" });
          acked.push(`f${i}`);
        }
      },
      async (root, acked) => {
        for (const name of acked) expect((await readFile(join(root, name))).equals(data(Number(name.slice(1))))).toBe(true);
        for (const name of await finalNames(root)) {
          expect((await readFile(join(root, name))).equals(data(Number(name.slice(1)))), name).toBe(true);
        }
      },
    );
    expect(total).toBeGreaterThanOrEqual(3 * 6);
  });

  it("durability always, mode replace: the final name holds the old or the new content, never a mix; acknowledged means new", async () => {
    const oldData = Buffer.from("old version\n");
    const newData = Buffer.alloc(5000, "n");
    await everyBoundary(
      async (ffs, root) => {
        await publishFile(join(root, "ref"), oldData, { fs: ffs });
      },
      async (ffs, root, acked) => {
        await publishFile(join(root, "ref"), newData, { fs: ffs, mode: "replace" });
        acked.push("ref");
      },
      async (root, acked) => {
        const got = await readFile(join(root, "ref"));
        if (acked.length > 0) expect(got.equals(newData)).toBe(true);
        else expect(got.equals(oldData) || got.equals(newData)).toBe(true);
      },
    );
  });

  it("durability batch (synchronous fast path): files acknowledged by a flush are intact after power loss at every boundary, including replaces", async () => {
    const newRef = Buffer.alloc(3000, "n");
    const total = await everyBoundary(
      async (ffs, root) => {
        await publishFile(join(root, "ref"), Buffer.from("old ref\n"), { fs: ffs });
      },
      async (ffs, root, acked) => {
        const batch = new FsyncBatch({ fs: ffs });
        const pending: string[] = [];
        for (let i = 0; i < 3; i++) {
          await publishFile(join(root, `f${i}`), data(i), { fs: ffs, durability: "batch", batch });
          pending.push(`f${i}`);
        }
        await publishFile(join(root, "ref"), newRef, { fs: ffs, durability: "batch", batch, mode: "replace" });
        pending.push("ref");
        await batch.flush(); // commit point
        acked.push(...pending);
        await publishFile(join(root, "f3"), data(3), { fs: ffs, durability: "batch", batch }); // never flushed
      },
      async (root, acked) => {
        for (const name of acked) {
          const got = await readFile(join(root, name));
          expect(got.equals(name === "ref" ? newRef : data(Number(name.slice(1)))), name).toBe(true);
        }
        // Unacknowledged names may be missing, or present with unsynced (empty) data: the
        // batch contract (readers verify content); but never another file's bytes.
        for (const name of await finalNames(root)) {
          const got = await readFile(join(root, name));
          const want = name === "ref" ? [newRef, Buffer.from("old ref\n")] : [data(Number(name.slice(1)))];
          expect(got.length === 0 || want.some((w) => got.equals(w)), name).toBe(true);
        }
      },
    );
    expect(total).toBeGreaterThanOrEqual(4 * 3 + 5);
    // The puts before the flush went through the synchronous facet, every call of them.
    const ffs = await createFaultFs({ root: join(dir, "probe-sync") });
    await publishFile(join(ffs.root, "a"), data(0), { fs: ffs, durability: "batch", batch: new FsyncBatch({ fs: ffs }) });
    expect(ffs.log.map((op) => [op.kind, op.sync])).toEqual([
      ["writeFile", true],
      ["link", true],
      ["unlink", true],
    ]);
  });

  it("a crash tearing the synchronous path's tmp write never leaves partial content under a final name", async () => {
    const ffs0 = await createFaultFs({ root: join(dir, "count") });
    await publishFile(join(ffs0.root, "a"), data(2), { fs: ffs0, durability: "never" });
    expect(ffs0.log[0]).toMatchObject({ kind: "writeFile", sync: true });
    for (const keep of [0, 1, 500, data(2).length - 1]) {
      const root = join(dir, `tear${keep}`);
      const ffs = await createFaultFs({ root });
      ffs.failAfter(1); // the tmp write runs, the link is refused: the process "dies" there
      await expect(publishFile(join(root, "a"), data(2), { fs: ffs, durability: "never" })).rejects.toMatchObject({
        code: "fault_injected",
      });
      await ffs.tearLastWrite(keep);
      expect(await finalNames(root)).toEqual([]);
    }
  });

  it("durability never: acknowledged files can vanish after power loss", async () => {
    const ffs = await createFaultFs({ root: dir });
    for (let i = 0; i < 3; i++) await publishFile(join(dir, `f${i}`), data(i), { fs: ffs, durability: "never" });
    expect(await finalNames(dir)).toEqual(["f0", "f1", "f2"]);
    expect(ffs.counts.fsync + ffs.counts.syncDir).toBe(0);
    await ffs.powerLoss();
    expect(await names(dir)).toEqual([]);
  });
});

describe("FsyncBatch through the fault seam", () => {
  it("flush fsyncs every file once, then every directory once; nothing is durable before flush", async () => {
    const ffs = await createFaultFs({ root: dir });
    const batch = new FsyncBatch({ fs: ffs });
    for (let i = 0; i < 5; i++) await publishFile(join(dir, `f${i}`), Buffer.from(`v${i}`), { fs: ffs, durability: "batch", batch });
    expect(ffs.counts.fsync + ffs.counts.syncDir).toBe(0);
    expect([batch.pendingFiles, batch.pendingDirs]).toEqual([5, 1]);
    ffs.resetCounts();
    expect(await batch.flush()).toEqual({ files: 5, dirs: 1 });
    expect(ffs.counts.fsync).toBe(5);
    expect(ffs.counts.syncDir).toBe(1);
    const kinds = ffs.log.map((o) => o.kind);
    expect(kinds.lastIndexOf("fsync")).toBeLessThan(kinds.indexOf("syncDir")); // files before dirs
    await ffs.powerLoss();
    expect(await finalNames(dir)).toEqual(["f0", "f1", "f2", "f3", "f4"]);
    for (let i = 0; i < 5; i++) expect(await readFile(join(dir, `f${i}`), "utf8")).toBe(`v${i}`);
  });

  it("a failed flush has nothing still running once it rejects (no fsync lands after a simulated crash)", async () => {
    const ffs = await createFaultFs({ root: dir });
    const batch = new FsyncBatch({ fs: ffs, concurrency: 8 });
    for (let i = 0; i < 20; i++) await publishFile(join(dir, `f${i}`), Buffer.from(`v${i}`), { fs: ffs, durability: "batch", batch });
    ffs.failAfter(3);
    await expect(batch.flush()).rejects.toMatchObject({ code: "fault_injected" });
    const after = ffs.mutations;
    ffs.failAfter(null); // as powerLoss() does: a straggler would now succeed and be counted
    await new Promise((r) => setTimeout(r, 50));
    expect(ffs.mutations).toBe(after);
    expect(batch.pendingFiles).toBe(20); // and everything stays pending for the next flush
  });

  it("without flush, batched files vanish on power loss", async () => {
    const ffs = await createFaultFs({ root: dir });
    const batch = new FsyncBatch({ fs: ffs });
    await publishFile(join(dir, "f"), Buffer.from("v"), { fs: ffs, durability: "batch", batch });
    await ffs.powerLoss();
    expect(await names(dir)).toEqual([]);
  });

  it("a failed flush keeps every entry pending, and a later flush makes them durable", async () => {
    const ffs = await createFaultFs({ root: dir });
    const batch = new FsyncBatch({ fs: ffs, concurrency: 1 });
    for (let i = 0; i < 3; i++) await publishFile(join(dir, `f${i}`), Buffer.from(`v${i}`), { fs: ffs, durability: "batch", batch });
    ffs.failAfter(2); // two file fsyncs succeed, the third fails
    await expect(batch.flush()).rejects.toMatchObject({ code: "fault_injected" });
    expect([batch.pendingFiles, batch.pendingDirs]).toEqual([3, 1]);
    ffs.failAfter(null);
    await batch.flush();
    expect([batch.pendingFiles, batch.pendingDirs]).toEqual([0, 0]);
    await ffs.powerLoss();
    expect(await finalNames(dir)).toEqual(["f0", "f1", "f2"]);
  });
});

describe("FsyncBatch: concurrent flushes", () => {
  it("a flush called while another runs resolves only after the first flush's files are durable", async () => {
    const ffs = await createFaultFs({ root: dir });
    const batch = new FsyncBatch({ fs: ffs, concurrency: 1 });
    for (let i = 0; i < 4; i++) await publishFile(join(dir, `f${i}`), Buffer.from(`v${i}`), { fs: ffs, durability: "batch", batch });
    const first = batch.flush();
    // The second flush starts while the first is still fsyncing; it has nothing of its own.
    const second = batch.flush();
    await second;
    // Power loss right after the second flush resolved: the first flush's files must be durable.
    await ffs.powerLoss();
    expect(await finalNames(dir)).toEqual(["f0", "f1", "f2", "f3"]);
    await first;
  });
});

describe("appendDurable under the fault seam", () => {
  const records = Array.from({ length: 5 }, (_, i) => Buffer.from(`\n{"seq":${i},"pad":"${"x".repeat(i * 13)}"}\n`));
  const all = Buffer.concat(records);

  it("power loss at every boundary: every resolved append survives, the file is a prefix of what was written", async () => {
    await everyBoundary(
      async (ffs, root) => {
        await ffs.writeFile(join(root, "log"), Buffer.alloc(0), "wx");
        await ffs.syncDir(root);
      },
      async (ffs, root, acked) => {
        const f = await ffs.open(join(root, "log"), "a");
        for (const [i, r] of records.entries()) {
          await appendDurable(f, r);
          acked.push(String(i));
        }
        await f.close();
      },
      async (root, acked) => {
        const got = await readFile(join(root, "log"));
        const durable = Buffer.concat(records.slice(0, acked.length));
        expect(got.subarray(0, durable.length).equals(durable)).toBe(true);
        expect(all.subarray(0, got.length).equals(got)).toBe(true);
      },
    );
  });

  it("tearLastWrite(k) leaves exactly the synced records plus the first k bytes of the torn one, for every k", async () => {
    const torn = Buffer.from('\n{"seq":9,"payload":"torn"}\n');
    for (let k = 0; k <= torn.length; k++) {
      const root = join(dir, `t${k}`);
      const ffs = await createFaultFs({ root });
      const f = await ffs.open(join(root, "log"), "ax");
      for (const r of records.slice(0, 3)) await appendDurable(f, r);
      await appendDurable(f, torn, { sync: "none" });
      await ffs.tearLastWrite(k);
      const got = await readFile(join(root, "log"));
      expect(got.equals(Buffer.concat([...records.slice(0, 3), torn.subarray(0, k)]))).toBe(true);
      await expect(f.write(Buffer.from("x"))).rejects.toMatchObject({ code: "fault_injected" });
    }
  });

  it("tearing an overwrite in the middle of a file keeps the old bytes after the torn prefix", async () => {
    const ffs = await createFaultFs({ root: dir });
    const f = await ffs.open(join(dir, "f"), "wx");
    await f.write(Buffer.from("0123456789"), 0);
    await f.sync();
    await f.write(Buffer.from("abcdefghijkl"), 4);
    await ffs.tearLastWrite(3);
    expect(await readFile(join(dir, "f"), "utf8")).toBe("0123abc789");
    await ffs.powerLoss();
    expect(await names(dir)).toEqual([]); // the name was never made durable
  });

  it("tearLastWrite without an un-synced write is an invalid_argument", async () => {
    const ffs = await createFaultFs({ root: dir });
    await expect(ffs.tearLastWrite(0)).rejects.toMatchObject({ code: "invalid_argument" });
  });
});
