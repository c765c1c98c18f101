// The README's usage example, run as a test.
import { mkdir, readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { FsyncBatch, appendDurable, createFaultFs, nodeFs, publishFile, withLock } from "../src/index.js";
import { tempDir } from "./helpers.js";

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir("snap-readme-"));
});
afterEach(async () => {
  await cleanup();
});

it("the README usage example runs as written", async () => {
  const store = join(dir, ".snap");
  for (const d of ["objects/ab", "refs/heads", "journal"]) await mkdir(join(store, d), { recursive: true });
  const bytes = Buffer.from("blob");
  const oid = "ab".padEnd(64, "0");
  const files: Array<[string, Buffer]> = [["ab/x1", Buffer.from("1")], ["ab/x2", Buffer.from("2")]];

  await withLock(`${store}/lock`, async (lock) => {
    await publishFile(`${store}/objects/ab/cdef`, bytes);
    await publishFile(`${store}/refs/heads/main`, Buffer.from(`${oid}\n`), { mode: "replace" });
    const batch = new FsyncBatch();
    for (const [name, data] of files) await publishFile(`${store}/objects/${name}`, data, { durability: "batch", batch });
    lock.assertHeld();
    await batch.flush();
    const log = await nodeFs.open(`${store}/journal/log`, "a");
    await appendDurable(log, Buffer.from(`\n${JSON.stringify({ lg: lock.generation })}\n`));
    await log.close();
  });
  expect(await readFile(`${store}/refs/heads/main`, "utf8")).toBe(`${oid}\n`);
  expect((await readdir(`${store}/objects/ab`)).sort()).toEqual(["cdef", "x1", "x2"]);
  expect(await readFile(`${store}/journal/log`, "utf8")).toBe('\n{"lg":1}\n');

  const ffs = await createFaultFs({ root: join(dir, "t") });
  ffs.failAfter(3);
  await publishFile(`${join(dir, "t")}/a`, bytes, { fs: ffs }).catch(() => {});
  await ffs.powerLoss();
  expect(await readdir(join(dir, "t"))).toEqual([]);
});
