import { spawn } from "node:child_process";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { openSnapshotStore } from "../src/index.js";
import { newStore, type Fixture } from "./store-fixture.js";

const COMMITTER = fileURLToPath(new URL("./fixtures/commit-loop.mjs", import.meta.url));
const CYCLES = Math.max(5, Math.round(Number(process.env.SNAP_CRASH_CYCLES ?? 500) / 25));
let fx: Fixture;
afterAll(async () => {
  await fx?.cleanup();
});

describe("build commit crash safety", () => {
  it(`SIGKILL during builds and commits (${CYCLES} cycles): the run ref and the branch always move together, history stays complete, gc clears the dead leases`, async () => {
    fx = await newStore();
    await fx.store.close();
    for (let i = 0; i < CYCLES; i++) {
      await new Promise<void>((resolve, reject) => {
        const c = spawn(process.execPath, [COMMITTER, fx.dir, "main", "1000000"], { stdio: ["ignore", "pipe", "pipe"] });
        let err = "";
        c.stderr.on("data", (d) => (err += String(d)));
        setTimeout(() => c.kill("SIGKILL"), 300 + Math.floor(Math.random() * 400));
        c.on("exit", (code, signal) => (signal === "SIGKILL" ? resolve() : reject(new Error(`committer exited ${code}: ${err}`))));
      });
      const store = await openSnapshotStore({ dir: fx.dir, fsync: "never" });
      try {
        const runs = await store.runs({ pipeline: "main" });
        if (runs.length > 0) {
          // The newest run is the branch head: never a run ref without its branch move, or the reverse.
          const newest = runs[runs.length - 1] as (typeof runs)[number];
          expect(await store.resolve("main")).toBe(newest.snapshot_oid);
          expect((await store.log("main")).length).toBe(runs.length);
        }
      } finally {
        await store.close();
      }
    }
    const store = await openSnapshotStore({ dir: fx.dir, fsync: "never" });
    const report = await store.gc({ graceMs: 0 });
    expect(report.leases).toBe(0);
    expect(await readdir(join(fx.dir, "leases"))).toEqual([]);
    const check = await store.fsck();
    expect(check.problems).toEqual([]);
    await store.close();
  }, 300_000);
});
