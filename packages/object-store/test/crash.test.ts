/**
 * Crash safety under SIGKILL: writer processes (fixtures/crash-writer.mjs, importing the
 * built dist/) put objects with fsync "always" and print each oid after its put resolves;
 * the test kills them at random moments, cycle after cycle, on one store. Afterwards every
 * acknowledged oid must be present and intact, verify() must find no corruption, and
 * staging debris must never show up as an object. SNAP_CRASH_CYCLES raises the cycle count.
 */
import { spawn } from "node:child_process";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assertBuilt } from "./built.js";
import { openObjectStore, PACK_DIR_NAME, readPackIndexFile } from "../src/index.js";
import { collect, sha256 } from "./contract.js";
import { debrisUnder } from "./fs-debris.js";

const CYCLES = Number(process.env.SNAP_CRASH_CYCLES ?? 16);
const WRITERS = 2;
const fixture = join(import.meta.dirname, "fixtures", "crash-writer.mjs");

let root: string;
beforeAll(async () => {
  assertBuilt();
  root = await mkdtemp(join(tmpdir(), "snap-os-crash-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Runs one writer until it has printed `afterOids` oids plus a random delay, then SIGKILLs it. */
function runAndKill(dir: string, seed: number, killAfterMs: number, mode: "always" | "pack"): Promise<{ oids: string[]; finished: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fixture, dir, String(seed), "5000", mode], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    let timer: NodeJS.Timeout | undefined;
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (d: string) => {
      out += d;
      // Start the kill clock at the first acknowledged put: the kill lands in the put loop.
      if (timer === undefined) timer = setTimeout(() => child.kill("SIGKILL"), killAfterMs);
    });
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      if (timer) clearTimeout(timer);
      if (signal !== "SIGKILL" && code !== 0) return reject(new Error(`writer exited ${code}: ${err}`));
      const lines = out.split("\n");
      lines.pop(); // an unterminated last line was cut by the kill: not acknowledged
      const finished = lines[lines.length - 1] === "done";
      resolve({ oids: lines.filter((l) => l !== "done"), finished });
    });
  });
}

describe.each(["always", "pack"] as const)("crash safety (SIGKILL), writers in %s mode", (mode) => {
  it(`every acknowledged object survives ${CYCLES} cycles of ${WRITERS} writers killed at random moments`, async () => {
    const dir = join(root, `objects-${mode}`);
    const acknowledged = new Set<string>();
    let killed = 0;
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      const runs = await Promise.all(
        Array.from({ length: WRITERS }, (_, w) => runAndKill(dir, cycle * WRITERS + w + 1, 20 + Math.floor(Math.random() * 400), mode)),
      );
      for (const r of runs) {
        if (!r.finished) killed++;
        for (const oid of r.oids) acknowledged.add(oid);
      }
    }
    expect(killed).toBeGreaterThan(0);
    expect(acknowledged.size).toBeGreaterThan(CYCLES);

    const store = await openObjectStore({ dir, fsync: "always" });
    try {
      const listed = new Set(await collect(store.list()));
      for (const oid of acknowledged) {
        expect(listed.has(oid)).toBe(true);
        expect(sha256(await store.getBytes(oid))).toBe(oid);
      }
      for (const oid of listed) expect(oid).toMatch(/^[0-9a-f]{64}$/);
      const result = await store.verify();
      expect(result.corrupt).toEqual([]);
      expect(result.checked).toBe(listed.size);
      // Debris from killed puts may exist, is never an object, and is removable.
      const debris = await debrisUnder(dir);
      await store.cleanTmp({ olderThanMs: 0 });
      expect(await debrisUnder(dir)).toEqual([]);
      expect(new Set(await collect(store.list()))).toEqual(listed);
      // Every pack that was published is whole: a killed pack write leaves only a tmp file.
      const packDir = join(dir, PACK_DIR_NAME);
      const packs = mode === "pack" ? (await readdir(packDir)).filter((n) => n.endsWith(".pack")) : [];
      for (const name of packs) await readPackIndexFile(join(packDir, name)); // throws object_corrupt on a damaged one
      if (mode === "pack") expect(packs.length).toBeGreaterThan(CYCLES);
      console.log(
        `crash test (${mode}): ${packs.length} packs, ${CYCLES} cycles, ${killed} writers killed, ${acknowledged.size} acknowledged oids, ${listed.size} objects, ${debris.length} tmp debris files cleaned`,
      );
    } finally {
      await store.close();
    }
  });
});
