import { mkdir, readFile, stat, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { isSnapError, type SnapError } from "@snap/schema";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { KeyedMutex, acquireLock, createFaultFs, nodeFs, withLock } from "../src/index.js";
import { decideGeneration } from "../src/lock-generation.js";
import { bootTimeMs } from "../src/process-identity.js";
import { fixture, spawnNode, tempDir } from "./helpers.js";

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir("snap-lockgen-"));
});
afterEach(async () => {
  await cleanup();
});

const thisBoot = () => nodeFs.bootId?.() as string;

async function expectCode(p: Promise<unknown>, code: string): Promise<SnapError> {
  try {
    await p;
  } catch (err) {
    expect(isSnapError(err), String(err)).toBe(true);
    expect((err as SnapError).code).toBe(code);
    return err as SnapError;
  }
  throw new Error(`expected ${code}, but it resolved`);
}

/** What the files look like after a power loss undid the last writes: an older L.gen, and an
 * L.gen-boot naming the boot before (every boot id differs from the current one). */
/** Power losses simulated so far: each one is a boot of its own, as real ones are. */
let powerLosses = 0;

/**
 * L.gen and L.gen-boot as a power loss leaves them: an older generation, written in an earlier
 * boot. Each call names a different earlier boot. (When two calls wrote identical bytes, a
 * process that had planned its generation from the first call's files, and acquired the lock
 * after the second, found "the same files" and kept a plan older than acquisitions made in
 * between: an ABA no real power loss can produce, since every holder and planner of the earlier
 * boot died with it and boot ids do not repeat.)
 */
async function simulateLostWrites(lockPath: string, olderGeneration: string): Promise<void> {
  await writeFile(`${lockPath}.gen`, olderGeneration);
  await writeFile(`${lockPath}.gen-boot`, `linux:the-boot-before-power-loss-${++powerLosses}\n`);
}

describe("the generation rule (decideGeneration)", () => {
  const nowMs = 1_763_000_000_000;
  it("a new store starts at 1 and creates L.gen durably; the same boot counts up by one", () => {
    expect(decideGeneration({ last: "absent", recordedBoot: undefined, currentBoot: "b", nowMs })).toMatchObject({
      generation: 1,
      create: true,
      recordBoot: "b",
    });
    expect(decideGeneration({ last: 41, recordedBoot: "b", currentBoot: "b", nowMs })).toMatchObject({
      generation: 42,
      create: false,
      recordBoot: undefined,
    });
  });

  it("another boot, no boot id, or an unreadable L.gen jump to max(last + 1, now in microseconds)", () => {
    const floor = nowMs * 1000;
    expect(decideGeneration({ last: 41, recordedBoot: "a", currentBoot: "b", nowMs }).generation).toBe(floor);
    expect(decideGeneration({ last: floor + 7, recordedBoot: "a", currentBoot: "b", nowMs }).generation).toBe(floor + 8);
    expect(decideGeneration({ last: 41, recordedBoot: "unknown", currentBoot: undefined, nowMs })).toMatchObject({
      generation: floor,
      recordBoot: undefined,
    });
    expect(decideGeneration({ last: "unreadable", recordedBoot: "a", currentBoot: "b", nowMs }).generation).toBe(floor);
    // L.gen deleted while L.gen-boot survived: not a new store.
    expect(decideGeneration({ last: "absent", recordedBoot: "b", currentBoot: "b", nowMs })).toMatchObject({
      generation: floor,
      create: true,
    });
  });

  it("refuses a malformed L.gen under the current boot and any generation past Number.MAX_SAFE_INTEGER", () => {
    expect(() => decideGeneration({ last: "unreadable", recordedBoot: "b", currentBoot: "b", nowMs })).toThrow(
      expect.objectContaining({ code: "internal" }),
    );
    const max = Number.MAX_SAFE_INTEGER;
    expect(decideGeneration({ last: max - 1, recordedBoot: "b", currentBoot: "b", nowMs }).generation).toBe(max);
    expect(() => decideGeneration({ last: max, recordedBoot: "b", currentBoot: "b", nowMs })).toThrow(
      expect.objectContaining({ code: "internal" }),
    );
    expect(() => decideGeneration({ last: max, recordedBoot: "a", currentBoot: "b", nowMs })).toThrow(
      expect.objectContaining({ code: "internal" }),
    );
  });
});

describe("generations on the real filesystem", () => {
  it("after a simulated power loss rewound L.gen to an older value, the next generation is still higher than every one handed out, and a safe integer", async () => {
    const lockPath = join(dir, "lock");
    const gens: number[] = [];
    for (let i = 0; i < 5; i++) await withLock(lockPath, async (l) => void gens.push(l.generation));
    expect(gens).toEqual([1, 2, 3, 4, 5]);
    expect((await readFile(`${lockPath}.gen-boot`, "utf8")).trim()).toBe(thisBoot());

    await simulateLostWrites(lockPath, "2\n");
    const before = Date.now() * 1000;
    for (let i = 0; i < 3; i++) await withLock(lockPath, async (l) => void gens.push(l.generation));
    expect(gens[5]).toBeGreaterThanOrEqual(before);
    expect(gens.slice(5)).toEqual([gens[5], gens[5]! + 1, gens[5]! + 2]); // dense again within this boot
    for (const g of gens) expect(Number.isSafeInteger(g)).toBe(true);
    for (let i = 1; i < gens.length; i++) expect(gens[i]).toBeGreaterThan(gens[i - 1]!);
    expect(await readFile(`${lockPath}.gen`, "utf8")).toBe(`${gens.at(-1)}\n`);
    expect((await readFile(`${lockPath}.gen-boot`, "utf8")).trim()).toBe(thisBoot());
  });

  it("an L.gen emptied or zeroed by a crash (data never reached the disk) is replaced by a clean number above the clock", async () => {
    const lockPath = join(dir, "lock");
    await (await acquireLock(lockPath)).release();
    await simulateLostWrites(lockPath, "\0".repeat(4096));
    const before = Date.now() * 1000;
    const lock = await acquireLock(lockPath);
    expect(lock.generation).toBeGreaterThanOrEqual(before);
    await lock.release();
    expect(await readFile(`${lockPath}.gen`, "utf8")).toBe(`${lock.generation}\n`);
    await simulateLostWrites(lockPath, "");
    const next = await acquireLock(lockPath);
    expect(next.generation).toBeGreaterThan(lock.generation);
    await next.release();
  });

  it("a malformed L.gen under the current boot is refused with internal, and leaves no lock behind", async () => {
    const lockPath = join(dir, "lock");
    await (await acquireLock(lockPath)).release();
    await writeFile(`${lockPath}.gen`, "not a number\n");
    await expectCode(acquireLock(lockPath), "internal");
    await expect(stat(lockPath)).rejects.toMatchObject({ code: "ENOENT" });
    await writeFile(`${lockPath}.gen`, `${Number.MAX_SAFE_INTEGER - 1}\n`);
    const last = await acquireLock(lockPath);
    expect(last.generation).toBe(Number.MAX_SAFE_INTEGER);
    await last.release();
    await expectCode(acquireLock(lockPath), "internal");
    await expect(stat(lockPath)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("once L.gen exists an acquire + release fsyncs nothing (and the first one fsyncs only L.gen's creation)", async () => {
    const root = join(dir, "store");
    const ffs = await createFaultFs({ root });
    const lockPath = join(root, "lock");
    await (await acquireLock(lockPath, { fs: ffs })).release();
    expect(ffs.counts.fsync + ffs.counts.datasync).toBe(1); // the tmp file of the first L.gen
    expect(ffs.counts.syncDir).toBe(1); // its directory
    ffs.resetCounts();
    for (let i = 0; i < 5; i++) await (await acquireLock(lockPath, { fs: ffs })).release();
    expect(ffs.counts).toMatchObject({ fsync: 0, datasync: 0, syncDir: 0 });
  });
});

describe("lock directories left by a power loss", () => {
  it("an ownerless lock directory older than this boot is taken over at once, not after staleMs", async () => {
    const lockPath = join(dir, "lock");
    await mkdir(lockPath);
    const beforeBoot = new Date(bootTimeMs() - 60_000);
    await utimes(lockPath, beforeBoot, beforeBoot);
    const t0 = Date.now();
    const lock = await acquireLock(lockPath, { timeoutMs: 5_000, staleMs: 30_000 });
    expect(Date.now() - t0).toBeLessThan(1_000);
    await lock.release();
  });
});

describe("generations across crashes and processes", () => {
  it("power loss (fault seam) at every operation boundary of a run of acquisitions never hands a generation out twice", async () => {
    const lockPath = (root: string) => join(root, "store", "lock");
    const run = async (fs: Awaited<ReturnType<typeof createFaultFs>>, root: string, out: number[]) => {
      for (let i = 0; i < 4; i++) {
        const lock = await acquireLock(lockPath(root), { fs, timeoutMs: 1_000 });
        out.push(lock.generation);
        await lock.release();
        // The kernel's background writeback, at its worst for us: L.gen-boot (naming the
        // current boot) reaches the disk, L.gen's newer values do not.
        const boot = await fs.open(`${lockPath(root)}.gen-boot`, "r");
        await boot.sync();
        await boot.close();
        await fs.syncDir(join(root, "store"));
      }
    };
    // The store directory exists (durably) before the seam starts: like L.gen, everything
    // else in a store vanishes if the store directory itself was never made durable.
    const dry = await tempDir("snap-lockgen-dry-");
    await mkdir(join(dry.dir, "store"));
    const dryFs = await createFaultFs({ root: dry.dir });
    await run(dryFs, dry.dir, []);
    const total = dryFs.mutations;
    await dry.cleanup();
    expect(total).toBeGreaterThan(10);
    for (let k = 0; k <= total; k++) {
      await mkdir(join(dir, `k${k}`, "store"), { recursive: true });
      const ffs = await createFaultFs({ root: join(dir, `k${k}`) });
      const handedOut: number[] = [];
      // Two rounds of: run until the fault, lose power (a new boot for the seam), recover.
      for (let round = 0; round < 2; round++) {
        ffs.failAfter(round === 0 ? k : null);
        await run(ffs, ffs.root, handedOut).catch((err: SnapError) => expect(err.code).toBe("fault_injected"));
        await ffs.powerLoss();
        // The lock directory's name can survive (its parent was fsynced with L.gen's
        // creation) without owner.json (never fsynced): an empty directory, which the next
        // acquisition's rename replaces at once. Left in place on purpose.
      }
      for (let i = 1; i < handedOut.length; i++) {
        expect(handedOut[i], `k=${k}: ${handedOut.join(",")}`).toBeGreaterThan(handedOut[i - 1]!);
      }
      for (const g of handedOut) expect(Number.isSafeInteger(g)).toBe(true);
    }
  });

  it("processes contending while lost writes are simulated in between: generations strictly increase in lock order", async () => {
    const lockPath = join(dir, "store", "lock");
    const counter = join(dir, "counter");
    const n = 15;
    const children = Array.from({ length: 4 }, () =>
      spawnNode(fixture("lock-counter.mjs"), [lockPath, counter, String(n), "1"]),
    );
    const mine: Array<{ generation: number; start: number; end: number }> = [];
    const done = Promise.all(children.map((c) => c.exited));
    let finished = false;
    void done.then(() => (finished = true));
    while (!finished) {
      // Under the lock (as after a real power loss, no holder runs meanwhile): L.gen rewound.
      await withLock(
        lockPath,
        async (l) => {
          const start = Date.now();
          await simulateLostWrites(lockPath, "3\n");
          mine.push({ generation: l.generation, start, end: Date.now() });
        },
        { timeoutMs: 60_000 },
      );
      await new Promise((r) => setTimeout(r, 15));
    }
    const results = await done;
    for (const [i, r] of results.entries()) expect(r.code, children[i]?.stderr()).toBe(0);
    expect(Number(await readFile(counter, "utf8"))).toBe(4 * n);
    const all = [...mine, ...children.flatMap((c) => c.lines.filter(Boolean).map((l) => JSON.parse(l)))];
    expect(all.length).toBe(4 * n + mine.length);
    expect(mine.length).toBeGreaterThan(1);
    // Unique, and in generation order the critical sections follow each other in time: the
    // generation increases in lock order although L.gen was rewound again and again.
    const byGen = [...all].sort((a, b) => a.generation - b.generation);
    for (let i = 1; i < byGen.length; i++) {
      expect(byGen[i]!.generation).toBeGreaterThan(byGen[i - 1]!.generation);
      expect(byGen[i]!.start).toBeGreaterThanOrEqual(byGen[i - 1]!.end);
      expect(Number.isSafeInteger(byGen[i]!.generation)).toBe(true);
    }
  });
});

describe("KeyedMutex", () => {
  it("is exported: FIFO per key, independent keys do not wait for each other", async () => {
    const m = new KeyedMutex();
    const order: string[] = [];
    const r1 = await m.acquire("a", 1_000, () => new Error("timeout"));
    const p2 = m.acquire("a", 1_000, () => new Error("timeout")).then((r) => (order.push("a2"), r));
    const p3 = m.acquire("a", 1_000, () => new Error("timeout")).then((r) => (order.push("a3"), r));
    const rb = await m.acquire("b", 1_000, () => new Error("timeout"));
    order.push("b");
    r1();
    (await p2)();
    (await p3)();
    rb();
    expect(order).toEqual(["b", "a2", "a3"]);
    expect(m.isHeld("a")).toBe(false);
  });
});
