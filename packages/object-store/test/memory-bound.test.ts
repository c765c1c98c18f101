/**
 * Bounded memory for any size: a child process streams 1 GiB of generated data (nothing is
 * checked in) into a store built from dist/, and reports its RSS before the put (baseline:
 * node + zod + the store, ~60 MB on its own) and its peak during the put (sampled every
 * 20 ms, and getrusage's maxRSS).
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { assertBuilt } from "./built.js";
import { objectPath } from "../src/index.js";

const run = promisify(execFile);
const GiB = 1024 * 1024 * 1024;
const MiB = 1024 * 1024;
const fixture = join(import.meta.dirname, "fixtures", "rss-put.mjs");

interface RssReport {
  oid: string;
  size: number;
  baselineRss: number;
  peakRssSampled: number;
  maxRssKiB: number;
  ms: number;
}

let root: string;
beforeEach(async () => {
  assertBuilt();
  root = await mkdtemp(join(tmpdir(), "snap-os-rss-"));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function putInChild(kind: "reuse" | "readable"): Promise<RssReport> {
  const dir = join(root, "objects");
  const { stdout } = await run(process.execPath, [fixture, dir, String(GiB), kind], { timeout: 90_000 });
  const report = JSON.parse(stdout.trim()) as RssReport;
  expect(report.size).toBe(GiB);
  expect((await stat(objectPath(dir, report.oid))).size).toBe(GiB);
  const peak = Math.max(report.peakRssSampled, report.maxRssKiB * 1024);
  console.log(
    `1 GiB putStream (${kind}): ${report.ms} ms, baseline RSS ${(report.baselineRss / MiB).toFixed(1)} MiB, peak ${(peak / MiB).toFixed(1)} MiB, growth ${((peak - report.baselineRss) / MiB).toFixed(1)} MiB`,
  );
  return report;
}

describe("streaming put memory bound", () => {
  it("a 1 GiB streamed put adds less than 16 MiB to the process's RSS (the store holds one chunk at a time)", async () => {
    const r = await putInChild("reuse");
    const peak = Math.max(r.peakRssSampled, r.maxRssKiB * 1024);
    expect(peak - r.baselineRss).toBeLessThan(16 * MiB);
    expect(peak).toBeLessThan(r.baselineRss + 64 * MiB);
  });

  it("a 1 GiB put from a Readable that allocates every chunk stays bounded (< 128 MiB over baseline, a GC's worth of garbage)", async () => {
    const r = await putInChild("readable");
    const peak = Math.max(r.peakRssSampled, r.maxRssKiB * 1024);
    expect(peak - r.baselineRss).toBeLessThan(128 * MiB);
  });
});
