import { mkdir, readFile, readdir, rm, stat, utimes, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { isSnapError, type SnapError } from "@snap/schema";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { OWNER_FILE, acquireLock, nodeFs, readLockHolder, selfIdentity, withLock } from "../src/index.js";
import { delay, fixture, spawnNode, tempDir } from "./helpers.js";

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir("snap-lock-"));
});
afterEach(async () => {
  await cleanup();
});

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

describe("acquireLock basics", () => {
  it("creates a missing parent directory (no ENOENT-on-realpath trap) and writes the owner record", async () => {
    const lockPath = join(dir, "deep", "store", "lock");
    const lock = await acquireLock(lockPath);
    const owner = JSON.parse(await readFile(join(lockPath, OWNER_FILE), "utf8"));
    expect(owner).toMatchObject({ pid: process.pid, host: hostname(), generation: 1 });
    expect(owner.process_start).toBe(selfIdentity().process_start);
    expect(owner.token).toMatch(/^[0-9a-f]{32}$/);
    expect(Date.parse(owner.acquired_at)).not.toBeNaN();
    const holder = await readLockHolder(lockPath);
    expect(holder?.token).toBe(owner.token);
    expect(holder?.age_ms).toBeGreaterThanOrEqual(0);
    lock.assertHeld();
    await lock.release();
    await expect(stat(lockPath)).rejects.toMatchObject({ code: "ENOENT" });
    expect(await readLockHolder(lockPath)).toBeNull();
    expect(() => lock.assertHeld()).toThrow(expect.objectContaining({ code: "lock_not_held" }));
    await lock.release(); // idempotent
  });

  it("generation is persisted in <lock>.gen and increases on every acquisition", async () => {
    const lockPath = join(dir, "lock");
    const gens: number[] = [];
    for (let i = 0; i < 5; i++) await withLock(lockPath, async (l) => void gens.push(l.generation));
    expect(gens).toEqual([1, 2, 3, 4, 5]);
    expect(await readFile(`${lockPath}.gen`, "utf8")).toBe("5\n");
  });

  it("same-process contenders queue instead of failing (proper-lockfile is not reentrant)", async () => {
    const lockPath = join(dir, "lock");
    let inside = 0;
    let maxInside = 0;
    let counter = 0;
    const gens = await Promise.all(
      Array.from({ length: 20 }, () =>
        withLock(lockPath, async (l) => {
          inside++;
          maxInside = Math.max(maxInside, inside);
          const v = counter;
          await delay(1);
          counter = v + 1;
          inside--;
          return l.generation;
        }),
      ),
    );
    expect(maxInside).toBe(1);
    expect(counter).toBe(20);
    expect(new Set(gens).size).toBe(20);
  });

  it("an in-process waiter times out with lock_timeout naming this process", async () => {
    const lockPath = join(dir, "lock");
    const lock = await acquireLock(lockPath);
    const err = await expectCode(acquireLock(lockPath, { timeoutMs: 50 }), "lock_timeout");
    expect((err.data.holder as { pid: number }).pid).toBe(process.pid);
    expect(err.message).toContain("this process");
    await lock.release();
    await (await acquireLock(lockPath, { timeoutMs: 50 })).release(); // queue left clean
  });

  it("an aborted wait rejects with interrupted", async () => {
    const lockPath = join(dir, "lock");
    const lock = await acquireLock(lockPath);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 30);
    await expectCode(acquireLock(lockPath, { signal: ac.signal }), "interrupted");
    await lock.release();
  });

  it("rejects a staleMs below 2 s with invalid_argument", async () => {
    await expectCode(acquireLock(join(dir, "lock"), { staleMs: 100 }), "invalid_argument");
  });
});

describe("takeover of dead and stale holders", () => {
  async function plantLock(lockPath: string, owner: Record<string, unknown> | null, ageMs = 0) {
    await mkdir(lockPath, { recursive: true });
    if (owner) await writeFile(join(lockPath, OWNER_FILE), JSON.stringify(owner));
    const t = new Date(Date.now() - ageMs);
    await utimes(lockPath, t, t);
  }
  const ownerBase = { generation: 7, acquired_at: new Date().toISOString(), token: "ab".repeat(16) };

  it("a holder on this host whose pid was reused (other start time) is taken over at once", async () => {
    const lockPath = join(dir, "lock");
    const me = selfIdentity();
    const fake = { ...ownerBase, pid: process.pid, host: me.host, process_start: "linux:x:1" };
    if (!me.process_start.startsWith("linux:")) return; // start times only checkable on Linux
    fake.process_start = `${me.process_start.split(":").slice(0, 2).join(":")}:1`;
    await plantLock(lockPath, fake);
    const t0 = Date.now();
    const lock = await acquireLock(lockPath, { timeoutMs: 2_000 });
    expect(Date.now() - t0).toBeLessThan(1_000);
    await lock.release();
  });

  it("a holder on another host with a fresh heartbeat is waited for; after staleMs it is taken over", async () => {
    const lockPath = join(dir, "lock");
    const foreign = { ...ownerBase, pid: 4242, host: "some-other-host", process_start: "approx:x" };
    await plantLock(lockPath, foreign, 0);
    const err = await expectCode(acquireLock(lockPath, { timeoutMs: 100, staleMs: 2_000 }), "lock_timeout");
    expect(err.data.holder).toMatchObject({ pid: 4242, host: "some-other-host" });
    const t = new Date(Date.now() - 3_000);
    await utimes(lockPath, t, t);
    const lock = await acquireLock(lockPath, { timeoutMs: 1_000, staleMs: 2_000 });
    lock.assertHeld();
    await lock.release();
  });

  it("an empty lock directory (an older acquirer killed after its mkdir, a holder killed mid-release) is replaced at once", async () => {
    const lockPath = join(dir, "lock");
    await plantLock(lockPath, null, 0); // fresh mtime: judged by age it would be waited for
    const t0 = Date.now();
    const lock = await acquireLock(lockPath, { timeoutMs: 5_000, staleMs: 30_000 });
    expect(Date.now() - t0).toBeLessThan(1_000);
    expect((await readLockHolder(lockPath))?.token).toBe(JSON.parse(await readFile(join(lockPath, OWNER_FILE), "utf8")).token);
    await lock.release();
  });

  it("a lock directory holding something but no readable owner record is taken over only once stale", async () => {
    const lockPath = join(dir, "lock");
    await plantLock(lockPath, null, 0);
    await writeFile(join(lockPath, OWNER_FILE), '{"pid": 12'); // foreign or torn: nobody to ask
    const err = await expectCode(acquireLock(lockPath, { timeoutMs: 100, staleMs: 2_000 }), "lock_timeout");
    expect(err.data.holder).toBeNull();
    const t = new Date(Date.now() - 5_000);
    await utimes(lockPath, t, t);
    await (await acquireLock(lockPath, { timeoutMs: 1_000, staleMs: 2_000 })).release();
  });

  it("a SIGKILLed holder is taken over immediately, not after the stale timeout", async () => {
    const lockPath = join(dir, "lock");
    const child = spawnNode(fixture("lock-holder.mjs"), [lockPath, "30000"]);
    const ev = await child.waitFor((e) => e.event === "acquired");
    const err = await expectCode(acquireLock(lockPath, { timeoutMs: 200 }), "lock_timeout");
    expect((err.data.holder as { pid: number }).pid).toBe(child.proc.pid);
    expect(err.data.age_ms).toEqual(expect.any(Number));
    expect(err.message).toContain(`pid ${child.proc.pid}`);
    expect(err.hint).toBeTruthy();
    child.proc.kill("SIGKILL");
    await child.exited;
    const t0 = Date.now();
    const lock = await acquireLock(lockPath, { timeoutMs: 5_000, staleMs: 30_000 });
    expect(Date.now() - t0).toBeLessThan(1_000);
    expect(lock.generation).toBe((ev.generation as number) + 1);
    await lock.release();
  });

  it("an alive holder that stops heartbeating (SIGSTOP) is taken over after staleMs, and then sees itself compromised", async () => {
    const lockPath = join(dir, "lock");
    const child = spawnNode(fixture("lock-holder.mjs"), [lockPath, "2000"]);
    try {
      await child.waitFor((e) => e.event === "acquired");
      child.proc.kill("SIGSTOP");
      const stoppedAt = Date.now();
      // Alive and recently heartbeating: not taken over yet.
      await expectCode(acquireLock(lockPath, { timeoutMs: 300, staleMs: 2_000 }), "lock_timeout");
      const lock = await acquireLock(lockPath, { timeoutMs: 10_000, staleMs: 2_000 });
      // Its last heartbeat was at most one update interval (1 s) before SIGSTOP.
      expect(Date.now() - stoppedAt).toBeGreaterThanOrEqual(900);
      child.proc.kill("SIGCONT");
      const ev = await child.waitFor((e) => e.event === "compromised", 5_000);
      expect(ev.code).toBe("lock_compromised");
      await child.waitFor((e) => e.event === "onCompromised", 5_000);
      // The old holder's release must not remove the new holder's lock.
      child.proc.stdin.write("release\n");
      await child.waitFor((e) => e.event === "released");
      lock.assertHeld();
      expect((await readLockHolder(lockPath))?.pid).toBe(process.pid);
      await lock.release();
    } finally {
      child.proc.kill("SIGKILL");
    }
  });
});

describe("acquisition is one rename of a directory that already holds its owner record", () => {
  // The test-only hook stops a child's acquisition for good at a point; the child is then
  // SIGKILLed exactly there. Before this design the lock was mkdir + owner.json: a kill between
  // the two left an ownerless directory that every acquirer waited out for staleMs.
  for (const point of ["spare-ready", "renamed"] as const) {
    it(`a holder SIGKILLed at "${point}" is not waited out: the next acquirer gets the lock at once, with a higher generation`, async () => {
      const lockPath = join(dir, "lock");
      const before = await acquireLock(lockPath);
      const g0 = before.generation;
      await before.release();
      const child = spawnNode(fixture("lock-pause.mjs"), [lockPath, point]);
      const ev = await child.waitFor((e) => e.event === "lock-test-pause" || e.event === "acquired-without-pausing");
      expect(ev).toMatchObject({ event: "lock-test-pause", point, pid: child.proc.pid });
      const holder = await readLockHolder(lockPath);
      if (point === "renamed") {
        // The lock exists, and it names the child from its first instant.
        expect(holder?.pid).toBe(child.proc.pid);
        expect(holder?.generation).toBe(g0 + 1);
        // Alive: waited for, with its pid and age in the error.
        const err = await expectCode(acquireLock(lockPath, { timeoutMs: 150, staleMs: 30_000 }), "lock_timeout");
        expect((err.data.holder as { pid: number }).pid).toBe(child.proc.pid);
        expect(err.data.age_ms).toEqual(expect.any(Number));
      } else {
        // Only the child's spare exists; the lock is free.
        expect(holder).toBeNull();
        const spares = (await readdir(dir)).filter((n) => n.startsWith(`lock.spare-${child.proc.pid}-`));
        expect(spares).toHaveLength(1);
      }
      child.proc.kill("SIGKILL");
      await child.exited;
      const t0 = Date.now();
      const lock = await acquireLock(lockPath, { timeoutMs: 10_000, staleMs: 30_000 });
      expect(Date.now() - t0).toBeLessThan(1_000);
      expect(lock.generation).toBeGreaterThan(g0);
      expect((await readLockHolder(lockPath))?.pid).toBe(process.pid);
      await lock.release();
      // The next process to make a spare removes the dead child's; its own goes at exit.
      const other = spawnNode(fixture("lock-counter.mjs"), [lockPath, join(dir, "counter"), "1", "0"]);
      expect((await other.exited).code, other.stderr()).toBe(0);
      const left = (await readdir(dir)).filter((n) => n.startsWith("lock.spare-"));
      expect(left.every((n) => n.startsWith(`lock.spare-${process.pid}-`)), left.join(",")).toBe(true);
    });
  }

  it("an acquire + release creates no inode: the owner record is rewritten in this process's spare directory", async () => {
    const lockPath = join(dir, "lock");
    const inodes = new Set<number>();
    const gens: number[] = [];
    for (let i = 0; i < 5; i++) {
      const lock = await acquireLock(lockPath);
      inodes.add((await stat(join(lockPath, OWNER_FILE))).ino);
      inodes.add((await stat(lockPath)).ino);
      const owner = JSON.parse(await readFile(join(lockPath, OWNER_FILE), "utf8"));
      expect(owner.generation).toBe(lock.generation);
      gens.push(lock.generation);
      await lock.release();
      await expect(stat(lockPath)).rejects.toMatchObject({ code: "ENOENT" });
    }
    expect(inodes.size).toBe(2); // one directory, one owner.json, every time
    expect(gens).toEqual([1, 2, 3, 4, 5]);
  });

  it("a generation planned before the rename is kept only if no acquisition happened in between; otherwise the attempt repeats", async () => {
    const lockPath = join(dir, "lock");
    await (await acquireLock(lockPath)).release(); // L.gen = 1
    // A seam without a sync facet (the lock then goes through it): before the first rename of
    // a spare into place, another "process" acquires and releases (L.gen moves to 41).
    let sneaked = false;
    const seam = {
      ...nodeFs,
      async rename(from: string, to: string) {
        if (!sneaked && to === lockPath && from.includes(".spare-")) {
          sneaked = true;
          await writeFile(`${lockPath}.gen`, "41\n");
        }
        return nodeFs.rename(from, to);
      },
    };
    const lock = await acquireLock(lockPath, { fs: seam });
    expect(sneaked).toBe(true);
    expect(lock.generation).toBe(42);
    expect(JSON.parse(await readFile(join(lockPath, OWNER_FILE), "utf8")).generation).toBe(42);
    expect(await readFile(`${lockPath}.gen`, "utf8")).toBe("42\n");
    await lock.release();
  });
});

describe("compromise", () => {
  it("onCompromised is called (never thrown from a timer) when the lock is taken from under us; assertHeld then throws", async () => {
    const lockPath = join(dir, "lock");
    const seen: SnapError[] = [];
    const lock = await acquireLock(lockPath, {
      staleMs: 3_000,
      onCompromised: (e) => {
        seen.push(e);
        throw new Error("a throwing callback must not crash the process");
      },
    });
    // Someone removes the lock by hand and another process takes it.
    await rm(lockPath, { recursive: true });
    await mkdir(lockPath);
    const intruder = { pid: 1, host: "elsewhere", process_start: "approx:x", generation: 99, acquired_at: "x", token: "cd".repeat(16) };
    await writeFile(join(lockPath, OWNER_FILE), JSON.stringify(intruder));
    for (let i = 0; i < 40 && seen.length === 0; i++) await delay(100);
    expect(seen).toHaveLength(1);
    expect(seen[0]?.code).toBe("lock_compromised");
    expect(lock.compromised).toBe(true);
    expect(() => lock.assertHeld()).toThrow(expect.objectContaining({ code: "lock_compromised" }));
    await lock.release(); // resolves, and leaves the intruder's lock alone
    expect(JSON.parse(await readFile(join(lockPath, OWNER_FILE), "utf8")).token).toBe(intruder.token);
  });
});

describe("cross-process exclusion", () => {
  it("8 processes x N acquisitions: no lost update, unique increasing generations, short waits", async () => {
    const lockPath = join(dir, "store", "lock");
    const counter = join(dir, "counter");
    const procs = 8;
    const n = Number(process.env.SNAP_LOCK_ROUNDS ?? 25);
    const children = Array.from({ length: procs }, () =>
      spawnNode(fixture("lock-counter.mjs"), [lockPath, counter, String(n), "1"]),
    );
    const results = await Promise.all(children.map((c) => c.exited));
    for (const [i, r] of results.entries()) expect(r.code, children[i]?.stderr()).toBe(0);
    expect(Number(await readFile(counter, "utf8"))).toBe(procs * n);
    const all: Array<{ generation: number; waitMs: number; start: number; end: number }> = [];
    for (const c of children) {
      const recs = c.lines.filter(Boolean).map((l) => JSON.parse(l));
      expect(recs).toHaveLength(n);
      const gens = recs.map((r) => r.generation);
      expect([...gens].sort((a, b) => a - b)).toEqual(gens); // increasing within a process
      all.push(...recs);
    }
    const gens = all.map((r) => r.generation).sort((a, b) => a - b);
    expect(gens).toEqual(Array.from({ length: procs * n }, (_, i) => i + 1)); // unique, gap-free
    // Ordered by generation, critical sections never overlap in time.
    const byGen = [...all].sort((a, b) => a.generation - b.generation);
    for (let i = 1; i < byGen.length; i++) {
      expect(byGen[i]!.start).toBeGreaterThanOrEqual(byGen[i - 1]!.end);
    }
    // No 1 s retry floor (proper-lockfile #118): the median wait is far below a second.
    const waits = all.map((r) => r.waitMs).sort((a, b) => a - b);
    expect(waits[Math.floor(waits.length / 2)]).toBeLessThan(500);
  });

  it("several processes racing to break one stale lock never hold it together (#121)", async () => {
    const lockPath = join(dir, "lock");
    const counter = join(dir, "counter");
    for (let round = 0; round < 3; round++) {
      await mkdir(lockPath);
      const stale = { pid: 999_999, host: "gone-host", process_start: "approx:x", generation: 0, acquired_at: "x", token: `${round}`.repeat(32) };
      await writeFile(join(lockPath, OWNER_FILE), JSON.stringify(stale));
      const t = new Date(Date.now() - 120_000);
      await utimes(lockPath, t, t);
      const children = Array.from({ length: 6 }, () =>
        spawnNode(fixture("lock-counter.mjs"), [lockPath, counter, "1", "20"]),
      );
      const results = await Promise.all(children.map((c) => c.exited));
      for (const [i, r] of results.entries()) expect(r.code, children[i]?.stderr()).toBe(0);
      const recs = children.map((c) => JSON.parse(c.lines[0] as string)).sort((a, b) => a.start - b.start);
      for (let i = 1; i < recs.length; i++) expect(recs[i].start).toBeGreaterThanOrEqual(recs[i - 1].end);
    }
    expect(Number(await readFile(counter, "utf8"))).toBe(18);
  });
});
