import { spawn } from "node:child_process";
import { lstat, readdir, readFile, realpath } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { openSnapshotStore } from "../src/index.js";
import { build, newStore, type Fixture } from "./store-fixture.js";

const FIXTURE = fileURLToPath(new URL("./fixtures/release-loop.mjs", import.meta.url));
const ONCE = fileURLToPath(new URL("./fixtures/release-once.mjs", import.meta.url));
const CYCLES = Number(process.env.SNAP_CRASH_CYCLES ?? 500);
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

function runUntilKilled(args: string[], delayMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [FIXTURE, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let err = "";
    child.stderr.on("data", (d) => (err += String(d)));
    child.stdout.once("data", () => setTimeout(() => child.kill("SIGKILL"), delayMs));
    child.on("exit", (code, signal) => (signal === "SIGKILL" ? resolve() : reject(new Error(`fixture exited ${code}: ${err}`))));
  });
}

describe("release crash safety", () => {
  it(`SIGKILL at random points of a release (${CYCLES} cycles) leaves the old or the new release serving, never a mix; recovery finishes or rolls back`, async () => {
    const fx = await newStore();
    fixtures.push(fx);
    const target = join(fx.root, "site");
    await build(fx.store, files("a"));
    await build(fx.store, files("b"));
    await fx.store.release({ name: "prod", target });
    await fx.store.close();
    const outcomes = { finished: 0, rolledBack: 0, clean: 0 };
    for (let i = 0; i < CYCLES; i++) {
      const t0 = Date.now();
      await runUntilKilled([fx.dir, target, String(i + 1)], Math.floor(Math.random() * 200));
      if (process.env.SNAP_CRASH_DEBUG && Date.now() - t0 > 1500) console.log("slow cycle", i, Date.now() - t0);
      // Whatever was killed where: the target serves one complete release.
      const before = await servedTag(target);
      const tStart = Date.now();
      const store = await openSnapshotStore({ dir: fx.dir, fsync: "never" });
      try {
        const rec = await store.recover();
        outcomes.finished += rec.finished.length;
        outcomes.rolledBack += rec.rolledBack.length;
        if (rec.finished.length + rec.rolledBack.length === 0) outcomes.clean++;
        const after = await servedTag(target);
        if (process.env.SNAP_CRASH_DEBUG && Date.now() - tStart > 500) console.log("slow recover", i, Date.now() - tStart, rec);
        expect(after).toBe(before);
        // The release ref agrees with what is served.
        const view = await store.view("prod");
        expect(await view.text("d0/f0.txt")).toBe(after);
        await expect(lstat(join(fx.dir, "releases", "prod", "pending.json"))).rejects.toThrow();
      } finally {
        await store.close();
      }
    }
    expect(outcomes.finished + outcomes.rolledBack + outcomes.clean).toBe(CYCLES);
    console.log(`crash cycles: ${CYCLES}`, outcomes);
    const final = await openSnapshotStore({ dir: fx.dir, fsync: "never" });
    expect((await final.fsck()).ok).toBe(true);
    await final.close();
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
