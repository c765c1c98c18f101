import { spawn, type ChildProcess } from "node:child_process";
import { lstat, readdir, readFile, realpath } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { openSnapshotStore } from "../src/index.js";
import { build, newStore, type Fixture } from "./store-fixture.js";

const FIXTURE = fileURLToPath(new URL("./fixtures/release-loop.mjs", import.meta.url));
const ONCE = fileURLToPath(new URL("./fixtures/release-once.mjs", import.meta.url));
const CYCLES = Number(process.env.SNAP_CRASH_CYCLES ?? 500);
const RENAME_CYCLES = Number(process.env.SNAP_CRASH_RENAME_CYCLES ?? 160);
const fixtures: Fixture[] = [];
afterAll(async () => {
  for (const f of fixtures) await f.cleanup();
});

function files(tag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (let f = 0; f < 20; f++) out[`d${f % 3}/f${f}.txt`] = `version=${tag}\n`;
  return out;
}

/** The tag every served file carries; throws on a mix or an incomplete tree. */
async function servedTag(target: string): Promise<string> {
  const root = await realpath(target);
  const tags = new Set<string>();
  let count = 0;
  for (const d of await readdir(root)) {
    for (const f of await readdir(join(root, d))) {
      count++;
      tags.add(await readFile(join(root, d, f), "utf8"));
    }
  }
  if (count !== 20 || tags.size !== 1) throw new Error(`served tree is mixed or incomplete: ${count} files, ${tags.size} versions`);
  return [...tags][0] as string;
}

interface Warm {
  child: ChildProcess;
  loaded: Promise<void>;
}

function spawnWarm(args: string[], swap?: string): Warm {
  const env = swap === undefined ? process.env : { ...process.env, SNAP_RELEASE_SWAP: swap };
  const child = spawn(process.execPath, [FIXTURE, ...args], { stdio: ["pipe", "pipe", "pipe"], env });
  let err = "";
  child.stderr?.on("data", (d) => (err += String(d)));
  const loaded = new Promise<void>((resolve, reject) => {
    child.stdout?.once("data", () => resolve());
    child.once("exit", (code, signal) => reject(new Error(`fixture died before loading (${code ?? signal}): ${err}`)));
  });
  loaded.catch(() => undefined);
  return { child, loaded };
}

/** Starts a loaded child, kills it `delayMs` after it opened the store, waits for its death. */
async function runUntilKilled(warm: Warm, seed: number, delayMs: number): Promise<void> {
  await warm.loaded;
  const { child } = warm;
  let err = "";
  child.stderr?.on("data", (d) => (err += String(d)));
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on("data", (d) => {
      if (String(d).includes("ready")) setTimeout(() => child.kill("SIGKILL"), delayMs);
    });
    child.once("exit", (code, signal) => (signal === "SIGKILL" ? resolve() : reject(new Error(`fixture exited ${code}: ${err}`))));
    child.stdin?.write(`go ${seed}\n`);
  });
}

/**
 * One lane: its own store and target; `cycles` kill-check-recover rounds with a warm child pool.
 * `swap: "rename"`: the target is a real directory switched by two renames; between them it
 * does not exist, so before recovery it may be absent (never mixed, never incomplete).
 */
async function crashLane(cycles: number, lane: number, swap?: "rename"): Promise<{ finished: number; rolledBack: number; clean: number; gaps: number }> {
  const fx = await newStore();
  fixtures.push(fx);
  const target = join(fx.root, "site");
  const a = await build(fx.store, files(`a${lane}`));
  const b = await build(fx.store, files(`b${lane}`));
  await fx.store.release({ name: "prod", target, ...(swap === undefined ? {} : { swap }) });
  await fx.store.close();
  const args = [fx.dir, target, a.snapshotOid, b.snapshotOid];
  const outcomes = { finished: 0, rolledBack: 0, clean: 0, gaps: 0 };
  let next = spawnWarm(args, swap);
  for (let i = 0; i < cycles; i++) {
    let current = next;
    // A sibling package being rebuilt meanwhile (its dist/ briefly missing) keeps a child from
    // loading at all: no cycle is lost, so wait and load a fresh one.
    for (let attempt = 0; ; attempt++) {
      try {
        await current.loaded;
        break;
      } catch (err) {
        if (attempt >= 30 || !String((err as Error).message).includes("ERR_MODULE_NOT_FOUND")) throw err;
        await new Promise((r) => setTimeout(r, 2000));
        current = spawnWarm(args, swap);
      }
    }
    next = spawnWarm(args, swap);
    await runUntilKilled(current, lane * 100_000 + i + 1, Math.floor(Math.random() * 120));
    // Whatever was killed where: the target serves one complete release (rename mode: or,
    // killed between its two renames, none).
    const absent = swap === "rename" && (await lstat(target).then(() => false, () => true));
    if (absent) outcomes.gaps++;
    const before = absent ? null : await servedTag(target);
    if (swap === "rename" && !absent) expect((await lstat(target)).isDirectory()).toBe(true);
    const store = await openSnapshotStore({ dir: fx.dir, fsync: "never", refsDurability: "none" });
    try {
      const rec = await store.recover();
      outcomes.finished += rec.finished.length;
      outcomes.rolledBack += rec.rolledBack.length;
      if (rec.finished.length + rec.rolledBack.length === 0) outcomes.clean++;
      const after = await servedTag(target);
      if (before !== null) expect(after).toBe(before);
      // The release ref agrees with what is served, and nothing is left pending.
      const view = await store.view("prod");
      expect(await view.text("d0/f0.txt")).toBe(after);
      await expect(lstat(join(fx.dir, "releases", "prod", "pending.json"))).rejects.toThrow();
      if (swap === "rename") {
        // Only the marker is left beside the target: no staged or old copy.
        const debris = (await readdir(fx.root)).filter((n) => n.startsWith(".snap-swap-") && !n.endsWith(".json"));
        expect(debris).toEqual([]);
      }
    } finally {
      await store.close();
    }
  }
  next.child.kill("SIGKILL");
  const final = await openSnapshotStore({ dir: fx.dir, fsync: "never" });
  const report = await final.fsck();
  expect(report.problems).toEqual([]);
  await final.close();
  return outcomes;
}

describe("release crash safety", () => {
  it(`SIGKILL at random points of a release (${CYCLES} cycles) leaves the old or the new release serving, never a mix; recovery finishes or rolls back`, async () => {
    const lanes = 2;
    const per = Math.ceil(CYCLES / lanes);
    const results = await Promise.all(Array.from({ length: lanes }, (_, lane) => crashLane(per, lane)));
    const total = results.reduce((acc, r) => ({ finished: acc.finished + r.finished, rolledBack: acc.rolledBack + r.rolledBack, clean: acc.clean + r.clean, gaps: acc.gaps + r.gaps }));
    expect(total.finished + total.rolledBack + total.clean).toBe(per * lanes);
    console.log(`crash cycles: ${per * lanes}`, total);
  }, 600_000);

  it(`rename mode (no symlinks): SIGKILL at random points (${RENAME_CYCLES} cycles) never leaves a mixed target; recovery finishes or rolls back`, async () => {
    const lanes = 2;
    const per = Math.ceil(RENAME_CYCLES / lanes);
    const results = await Promise.all(Array.from({ length: lanes }, (_, lane) => crashLane(per, lane + 10, "rename")));
    const total = results.reduce((acc, r) => ({ finished: acc.finished + r.finished, rolledBack: acc.rolledBack + r.rolledBack, clean: acc.clean + r.clean, gaps: acc.gaps + r.gaps }));
    expect(total.finished + total.rolledBack + total.clean).toBe(per * lanes);
    // The kills landed inside releases: some were recovered, not every cycle was clean.
    expect(total.finished + total.rolledBack).toBeGreaterThan(0);
    console.log(`rename-mode crash cycles: ${per * lanes}`, total);
  }, 600_000);

  it("concurrent releases of one name from two processes are serialized: one linear chain of releases", async () => {
    const fx = await newStore();
    fixtures.push(fx);
    const a = await build(fx.store, files("a"));
    const b = await build(fx.store, files("b"));
    const target = join(fx.root, "site");
    await fx.store.release({ name: "prod", target, rev: a.snapshotOid });
    const run = () =>
      new Promise<void>((resolve, reject) => {
        const c = spawn(process.execPath, [ONCE, fx.dir, target, "8", a.snapshotOid, b.snapshotOid], { stdio: ["ignore", "pipe", "pipe"] });
        let err = "";
        c.stderr.on("data", (d) => (err += String(d)));
        c.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(err))));
      });
    await Promise.all([run(), run()]);
    let cur: string | null | undefined = await fx.store.context.refs.read("refs/releases/prod");
    const chain = new Set<string>();
    while (cur) {
      expect(chain.has(cur)).toBe(false);
      chain.add(cur);
      cur = ((await fx.store.context.objects.getObject(cur)) as unknown as { previous_release_oid: string | null }).previous_release_oid;
    }
    expect(chain.size).toBe(1 + 16);
    await servedTag(target);
  }, 120_000);
});
