import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { isSnapError } from "@snap/schema";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createFaultFs, nodeFs } from "../src/index.js";
import { tempDir } from "./helpers.js";

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir("snap-blocking-"));
});
afterEach(async () => {
  await cleanup();
});

describe("SeamFile.blocking (append + datasync on the calling thread)", () => {
  it("nodeFs: present on append-mode files only; appends at the end and reports the size", async () => {
    const p = join(dir, "log");
    const w = await nodeFs.open(p, "w");
    expect(w.blocking).toBeUndefined();
    await w.write(Buffer.from("head\n"));
    await w.close();
    const r = await nodeFs.open(p, "r");
    expect(r.blocking).toBeUndefined();
    await r.close();
    const a = await nodeFs.open(p, "a");
    const b = a.blocking!;
    expect(b.size()).toBe(5);
    b.append(Buffer.from("one\n"));
    await a.write(Buffer.from("two\n")); // async and blocking calls share the fd
    b.append(Buffer.from("three\n"));
    b.datasync();
    expect(b.size()).toBe(5 + 4 + 4 + 6);
    await a.close();
    expect(await readFile(p, "utf8")).toBe("head\none\ntwo\nthree\n");
  });

  it("fault seam: blocking appends are tearable writes, datasync fixes the durable content, power loss drops the rest", async () => {
    const root = join(dir, "root");
    const ffs = await createFaultFs({ root });
    const p = join(root, "log");
    const f = await ffs.open(p, "a");
    const b = f.blocking!;
    expect(b).toBeDefined();
    b.append(Buffer.from("acked-1\n"));
    b.datasync();
    b.append(Buffer.from("lost-2\n"));
    expect(ffs.counts.datasync).toBe(1);
    expect(ffs.log.filter((o) => o.sync === true).map((o) => o.kind)).toEqual(["write", "datasync", "write"]);
    await ffs.syncDir(root);
    await ffs.powerLoss();
    expect(await readFile(p, "utf8")).toBe("acked-1\n");
  });

  it("fault seam: tearLastWrite keeps a prefix of the last blocking append", async () => {
    const root = join(dir, "root");
    const ffs = await createFaultFs({ root });
    const p = join(root, "log");
    const f = await ffs.open(p, "a");
    f.blocking!.append(Buffer.from("whole\n"));
    f.blocking!.datasync();
    f.blocking!.append(Buffer.from("torn-record\n"));
    await ffs.tearLastWrite(4);
    expect(await readFile(p, "utf8")).toBe("whole\ntorn");
    // the handle is from before the crash
    expect(() => f.blocking!.append(Buffer.from("x"))).toThrow(/before a simulated crash/);
  });

  it("fault seam: failAfter refuses blocking calls before they touch the disk", async () => {
    const root = join(dir, "root");
    const ffs = await createFaultFs({ root });
    const p = join(root, "log");
    const f = await ffs.open(p, "a");
    ffs.failAfter(1);
    f.blocking!.append(Buffer.from("one\n"));
    let caught: unknown;
    try {
      f.blocking!.datasync();
    } catch (err) {
      caught = err;
    }
    expect(isSnapError(caught) && caught.code === "fault_injected").toBe(true);
    expect(() => f.blocking!.append(Buffer.from("two\n"))).toThrow();
    await f.close();
    expect(await readFile(p, "utf8")).toBe("one\n");
  });

  it("a seam without a sync facet offers no blocking calls", async () => {
    const root = join(dir, "root");
    const ffs = await createFaultFs({ root, base: { ...nodeFs } });
    const f = await ffs.open(join(root, "log"), "a");
    expect(f.blocking).toBeUndefined();
    await f.close();
  });

  it("nodeFs: r+ files write and read in place; each call refuses the other mode", async () => {
    const p = join(dir, "seg");
    const w = await nodeFs.open(p, "w");
    await w.write(Buffer.alloc(16)); // a preallocated run of NULs
    await w.close();
    const f = await nodeFs.open(p, "r+");
    const b = f.blocking!;
    b.writeAt(Buffer.from("abc\n"), 4);
    b.datasync();
    expect(b.size()).toBe(16); // an overwrite: no size change
    const buf = Buffer.alloc(8);
    expect(b.readAt(buf, 0, 8, 2)).toBe(8);
    expect(buf).toEqual(Buffer.from([0, 0, 0x61, 0x62, 0x63, 0x0a, 0, 0]));
    expect(b.readAt(buf, 0, 8, 12)).toBe(4); // short only at end of file
    expect(() => b.append(Buffer.from("x"))).toThrow(/opened with "r\+"/);
    await f.close();
    const a = await nodeFs.open(p, "a");
    expect(() => a.blocking!.writeAt(Buffer.from("x"), 0)).toThrow(/opened with "a"/);
    await a.close();
    expect((await readFile(p)).subarray(4, 8).toString()).toBe("abc\n");
  });

  it("fault seam: a blocking overwrite is tearable (the old bytes come back) and lost at power loss until synced", async () => {
    const root = join(dir, "root");
    const ffs = await createFaultFs({ root });
    const p = join(root, "seg");
    const w = await ffs.open(p, "w");
    await w.write(Buffer.alloc(12));
    await w.datasync();
    await w.close();
    await ffs.syncDir(root);
    const f = await ffs.open(p, "r+");
    f.blocking!.writeAt(Buffer.from("one\n"), 0);
    f.blocking!.datasync();
    f.blocking!.writeAt(Buffer.from("two\n"), 4);
    expect(ffs.log.filter((o) => o.sync === true).map((o) => o.kind)).toEqual(["write", "datasync", "write"]);
    await ffs.tearLastWrite(2);
    expect(await readFile(p)).toEqual(Buffer.concat([Buffer.from("one\ntw"), Buffer.alloc(6)]));
    const g = await ffs.open(p, "r+");
    g.blocking!.writeAt(Buffer.from("six\n"), 4);
    await ffs.powerLoss();
    expect(await readFile(p)).toEqual(Buffer.concat([Buffer.from("one\n"), Buffer.alloc(8)]));
  });
});
