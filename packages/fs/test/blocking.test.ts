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
});
