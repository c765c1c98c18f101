import { mkdir, readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isTmpName } from "../src/index.js";
import { content } from "./fixtures/content.mjs";
import { delay, fixture, spawnNode, tempDir } from "./helpers.js";

const CYCLES = Number(process.env.SNAP_CRASH_CYCLES ?? 12);

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir("snap-crash-"));
});
afterAll(async () => {
  await cleanup();
});

describe("SIGKILL during publishFile", () => {
  // Even cycles publish with durability "always" (async path), odd ones with "never" (the
  // synchronous fast path through nodeFs.sync): a kill mid-call must be as harmless in both.
  it(`${CYCLES} children killed at random moments: every reported file is intact, no final name is partial`, async () => {
    let reportedTotal = 0;
    let debrisTotal = 0;
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      const out = join(dir, `c${cycle}`);
      await mkdir(out);
      const child = spawnNode(fixture("publish-loop.mjs"), [out, String(cycle), cycle % 2 ? "never" : "always"]);
      // Once it publishes, let it run for a random while, then kill it mid-flight.
      for (let i = 0; i < 300 && child.lines.length === 0; i++) await delay(10);
      await delay(Math.floor(Math.random() * 1_500));
      child.proc.kill("SIGKILL");
      const { signal } = await child.exited;
      expect(signal, child.stderr()).toBe("SIGKILL");
      await delay(20); // let the last stdout chunk arrive
      // What the child acknowledged (a line is printed only after publishFile resolved).
      const latest = new Map<string, number>();
      for (const line of child.lines) {
        const [kind, name, version] = line.split(" ");
        if ((kind === "N" || kind === "R") && name && version) latest.set(name, Number(version));
      }
      reportedTotal += latest.size;
      for (const [name, version] of latest) {
        const got = await readFile(join(out, name));
        if (name.startsWith("n")) expect(got.equals(content(name, 0)), name).toBe(true);
        else {
          // A replace after the last acknowledged one may have committed before the kill:
          // the name holds that version or a later one of the same name, always whole.
          const [, v] = /^[^:]+:(\d+):/.exec(got.toString("latin1")) ?? [];
          expect(Number(v)).toBeGreaterThanOrEqual(version);
          expect(got.equals(content(name, Number(v))), name).toBe(true);
        }
      }
      for (const name of await readdir(out)) {
        if (isTmpName(name)) {
          debrisTotal++;
          continue;
        }
        const got = await readFile(join(out, name));
        const [, v] = /^[^:]+:(\d+):/.exec(got.toString("latin1")) ?? [];
        expect(v, `${name} has no header: partial content under a final name`).toBeDefined();
        expect(got.equals(content(name, Number(v))), `${name} is partial`).toBe(true);
      }
    }
    expect(reportedTotal).toBeGreaterThan(CYCLES * 5);
    console.log(`crash cycles: ${CYCLES}, acknowledged files checked: ${reportedTotal}, tmp debris: ${debrisTotal}`);
  });
});
