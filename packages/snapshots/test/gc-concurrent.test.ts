import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { newStore, type Fixture } from "./store-fixture.js";

const COMMITTER = fileURLToPath(new URL("./fixtures/commit-loop.mjs", import.meta.url));
let fx: Fixture;
afterAll(async () => {
  await fx?.cleanup();
});

function committer(dir: string, pipeline: string, count: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [COMMITTER, dir, pipeline, String(count)], { stdio: ["ignore", "pipe", "pipe"] });
    let err = "";
    c.stderr.on("data", (d) => (err += String(d)));
    c.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`committer ${pipeline} exited ${code}: ${err}`))));
  });
}

describe("gc concurrently with commits in real processes", () => {
  it("gc with no grace period, running over and over while two processes commit and abort builds, never removes anything a ref or an in-flight build needs", async () => {
    fx = await newStore();
    let done = false;
    const writers = Promise.all([committer(fx.dir, "alpha", 30), committer(fx.dir, "beta", 30)]).finally(() => {
      done = true;
    });
    let rounds = 0;
    let removed = 0;
    while (!done) {
      const report = await fx.store.gc({ graceMs: 0 });
      removed += report.objects_removed.length;
      rounds++;
      await new Promise((r) => setTimeout(r, 25)); // let the committers at the lock (it is not a fair queue across processes)
    }
    await writers;
    const final = await fx.store.gc({ graceMs: 0 });
    removed += final.objects_removed.length;
    expect(rounds).toBeGreaterThan(1);
    expect(removed).toBeGreaterThan(0); // aborted builds' objects were collected
    const check = await fx.store.fsck();
    expect(check.problems).toEqual([]);
    // every run of both pipelines is complete and readable
    const runs = await fx.store.runs();
    expect(runs).toHaveLength(2 * 24);
    for (const r of runs) {
      const view = await fx.store.view(r.snapshot_oid);
      for (const label of await view.labels()) await view.content(label);
    }
  }, 240_000);
});
