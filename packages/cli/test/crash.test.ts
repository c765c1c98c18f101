/**
 * Ctrl-C (SIGINT) and SIGKILL during commit, release and gc leave the store consistent:
 * `snap fsck` is clean afterwards, `snap doctor` finds no corruption, the interrupted command
 * succeeds when run again, and a release target serves one complete snapshot, never a mix.
 * Each kill lands while the operation is under way (its lease, materialization directory or
 * lock is on disk).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collect, parseJson, snap, startSnap, tempDir, type SnapResult } from "./snap.js";

const FILES = Number(process.env.SNAP_CLI_CRASH_FILES ?? 300);
const tmp = tempDir("snap-cli-crash-");
afterAll(() => tmp.cleanup());
const project = tmp.dir;
const store = join(project, ".snap");
let version = 0;

function writeTree(v: number): void {
  for (let i = 0; i < FILES; i++) {
    const dir = join(project, "big", `d${i % 20}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `f${i}.txt`), `version ${v} file ${i}\n${"x".repeat(1500)}\n`);
  }
  writeFileSync(join(project, "big", "VERSION"), `${v}\n`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(pred: () => boolean, exited: () => boolean, timeoutMs = 60_000): Promise<boolean> {
  const start = Date.now();
  while (Date.now() - start < timeoutMs) {
    if (pred()) return true;
    if (exited()) return false;
    await sleep(5);
  }
  return false;
}

const run = (...args: string[]) => snap(args, { cwd: project });

/** Start `snap ARGS`, wait for `underWay`, then send `signal` after `extraMs`. */
async function interrupt(args: string[], signal: NodeJS.Signals, underWay: () => boolean, extraMs: number): Promise<{ result: SnapResult; landed: boolean }> {
  const child = startSnap(args, { cwd: project });
  let exited = false;
  child.on("exit", () => (exited = true));
  const done = collect(child);
  const landed = await until(underWay, () => exited);
  if (landed) await sleep(extraMs);
  const stillRunning = !exited;
  if (stillRunning) child.kill(signal);
  landings.push(landed && stillRunning);
  return { result: await done, landed: landed && stillRunning };
}

/** How many kills landed while the operation was under way (the last test checks most did). */
const landings: boolean[] = [];

function expectInterrupted(result: SnapResult, signal: NodeJS.Signals): void {
  if (signal === "SIGKILL") {
    expect(result.signal).toBe("SIGKILL");
  } else if (result.code === 0) {
    // The signal raced the command's last step and lost: the command completed, and said so
    // with its normal --json result (the store checks that follow still apply).
    expect(result.signal).toBeNull();
    expect(() => JSON.parse(result.stdout)).not.toThrow();
  } else {
    expect(result.code, result.stderr).toBe(130);
    const doc = parseJson<{ error: { code: string; data: { signal: string } } }>(result, "cli_error");
    expect(doc.error.code).toBe("interrupted");
  }
}

async function expectConsistent(): Promise<void> {
  const fsck = await run("fsck", "--json");
  const report = parseJson<{ ok: boolean; corrupt: unknown[]; missing: unknown[]; dangling_refs: unknown[] }>(fsck, "fsck_report");
  expect(report, JSON.stringify(report).slice(0, 800)).toMatchObject({ ok: true });
  expect(fsck.code).toBe(0);
  const doctor = await run("doctor", "--json");
  expect(parseJson<{ ok: boolean }>(doctor, "doctor_report").ok).toBe(true);
}

const lease = () => existsSync(join(store, "leases")) && readdirSync(join(store, "leases")).length > 0;
const lockHeld = () => existsSync(join(store, "snapshots.lock", "owner.json"));

describe.each(["SIGINT", "SIGKILL"] as const)("%s", (signal) => {
  beforeAll(async () => {
    if (!existsSync(store)) {
      expect((await run("init")).code).toBe(0);
      writeTree(version);
      const c = await run("commit", "big", "-m", `v${version}`);
      expect(c.code, c.stderr).toBe(0);
    }
  });

  it("during commit: nothing half-committed, fsck clean, the commit succeeds when re-run", async () => {
    const head = parseJson<{ snapshot: { snapshot_oid: string } }>(await run("show", "HEAD", "--json"), "show_result").snapshot.snapshot_oid;
    writeTree(++version);
    const { result, landed } = await interrupt(["commit", "big", "--json"], signal, lease, 50);
    if (landed) expectInterrupted(result, signal);
    await expectConsistent();
    const after = parseJson<{ snapshot: { snapshot_oid: string; parent_snapshot_oids: string[] } }>(await run("show", "HEAD", "--json"), "show_result").snapshot;
    // the branch either did not move, or moved to a complete snapshot whose parent is the old head
    if (after.snapshot_oid !== head) expect(after.parent_snapshot_oids).toEqual([head]);
    const again = await run("commit", "big", "--json");
    expect(again.code, again.stderr).toBe(0);
    expect((await run("cat", "HEAD:VERSION")).stdout).toBe(`${version}\n`);
  });

  it("during release: the target serves one complete snapshot, fsck clean, the release succeeds when re-run", async () => {
    const name = `crash-${signal.toLowerCase()}`;
    const target = join(project, `www-${name}`);
    const first = await run("release", "HEAD~1", "--to", name, "--target", target);
    expect(first.code, first.stderr).toBe(0);
    const before = readFileSync(join(target, "VERSION"), "utf8");
    const headOid = parseJson<{ snapshot: { snapshot_oid: string } }>(await run("show", "HEAD", "--json"), "show_result").snapshot.snapshot_oid;
    const materializing = () => existsSync(join(store, "releases", name, headOid));
    const { result, landed } = await interrupt(["release", "HEAD", "--to", name, "--json"], signal, materializing, 20);
    if (landed) expectInterrupted(result, signal);
    // whatever is served is one whole snapshot: every file carries the VERSION's number
    const served = readFileSync(join(target, "VERSION"), "utf8").trim();
    expect([before.trim(), String(version)]).toContain(served);
    const sample = readFileSync(join(target, "d7", "f7.txt"), "utf8");
    expect(sample.startsWith(`version ${served} file 7\n`)).toBe(true);
    await expectConsistent();
    const again = await run("release", "HEAD", "--to", name, "--json");
    expect(again.code, again.stderr).toBe(0);
    expect(readFileSync(join(target, "VERSION"), "utf8")).toBe(`${version}\n`);
  });

  it("during gc: no reachable object is lost, fsck clean, gc succeeds when re-run", async () => {
    // garbage: two more versions, then prune their older runs
    writeTree(++version);
    expect((await run("commit", "big")).code).toBe(0);
    const { result, landed } = await interrupt(["gc", "--keep-runs", "1", "--grace", "0", "--json"], signal, lockHeld, 20);
    if (landed) expectInterrupted(result, signal);
    await expectConsistent();
    const again = await run("gc", "--keep-runs", "1", "--grace", "0", "--json");
    expect(again.code, again.stderr).toBe(0);
    parseJson(again, "gc_report");
    await expectConsistent();
    expect((await run("cat", "HEAD:VERSION")).stdout).toBe(`${version}\n`);
  });
});

describe("the kills", () => {
  it("landed while the operations were under way (else the tests above proved little)", () => {
    expect(landings).toHaveLength(6);
    expect(landings.filter(Boolean).length, JSON.stringify(landings)).toBeGreaterThanOrEqual(5);
  });
});
