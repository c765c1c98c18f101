/**
 * Ctrl-C (SIGINT) and SIGKILL during commit, release and gc leave the store consistent:
 * `snap fsck` is clean afterwards, `snap doctor` finds no corruption, the interrupted command
 * succeeds when run again, and a release target serves one complete snapshot, never a mix.
 * Each kill lands while the operation is under way (its lease, materialization directory or
 * lock is on disk).
 *
 * SIGINT is a clean stop, not a crash: before the commit point the command reports
 * error[interrupted] (the --json error document) with exit 130 and leaves no build lease, no
 * held lock and no pending release behind; past it, the command finishes with its result.
 * Then SIGINT at random moments over a command's whole run (seeded: SNAP_CLI_CRASH_SEED
 * replays one) must always end in one of those two outcomes with refs at their old or new
 * value, and a second SIGINT ends the command at once, still with exit 130.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PACK_DIR_NAME, readPackIndexFile } from "@snap/object-store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collect, parseJson, snap, startSnap, tempDir, type SnapResult } from "./snap.js";

const SEED = Number(process.env.SNAP_CLI_CRASH_SEED ?? Date.now() % 1_000_000);
/** mulberry32: the random moments are reproducible from SEED (printed on failure). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = prng(SEED);

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
    const doc = parseJson<{ error: { code: string; hint?: string; data: { signal: string } } }>(result, "cli_error");
    expect(doc.error.code).toBe("interrupted");
    expect(doc.error.hint).toMatch(/\S/);
  }
}

/**
 * After a clean stop (exit 130 on SIGINT), the command let go of everything it held: a crash
 * would leave its build lease, the lock's owner record or a pending release intent behind.
 */
async function expectStoppedCleanly(): Promise<void> {
  expect(lease(), "a build lease survived the interrupted command").toBe(false);
  expect(lockHeld(), "the lock is still held after the interrupted command").toBe(false);
  const doctor = parseJson<{ checks: { name: string; status: string; detail: string }[] }>(await run("doctor", "--json"), "doctor_report");
  const check = (name: string) => doctor.checks.find((c) => c.name === name);
  expect(check("releases")?.status, check("releases")?.detail).toBe("ok");
  expect(check("lock")?.detail).toBe("not held");
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
    if (signal === "SIGINT" && result.code === 130) await expectStoppedCleanly();
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
    if (signal === "SIGINT" && result.code === 130) await expectStoppedCleanly();
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
    if (signal === "SIGINT" && result.code === 130) await expectStoppedCleanly();
    await expectConsistent();
    const again = await run("gc", "--keep-runs", "1", "--grace", "0", "--json");
    expect(again.code, again.stderr).toBe(0);
    parseJson(again, "gc_report");
    await expectConsistent();
    expect((await run("cat", "HEAD:VERSION")).stdout).toBe(`${version}\n`);
  });
});

/** Every ref and its value (`snap refs --json`). */
async function refValues(): Promise<Map<string, string>> {
  const doc = parseJson<{ refs: { ref: string; oid: string | null }[] }>(await run("refs", "--json"), "refs_list");
  return new Map(doc.refs.map((r) => [r.ref, r.oid ?? ""]));
}

/** Distinct objects in the store, loose and packed. */
async function objectCount(): Promise<number> {
  const oids = new Set<string>();
  const objects = join(store, "objects");
  for (const fan of readdirSync(objects)) {
    if (/^[0-9a-f]{2}$/.test(fan)) for (const name of readdirSync(join(objects, fan))) if (/^[0-9a-f]{62}$/.test(name)) oids.add(fan + name);
  }
  const packs = join(objects, PACK_DIR_NAME);
  for (const name of existsSync(packs) ? readdirSync(packs) : []) {
    if (name.endsWith(".pack")) for (const e of await readPackIndexFile(join(packs, name))) oids.add(e.oid);
  }
  return oids.size;
}

/** How long `args` takes uninterrupted, so that the random moments cover its whole run. */
async function duration(args: string[]): Promise<number> {
  const start = Date.now();
  const r = await run(...args);
  expect(r.code, r.stderr).toBe(0);
  return Date.now() - start;
}

/** `snap ARGS` with `signal` `delayMs` after the spawn (and a second one `againMs` later). */
async function signalAt(args: string[], signal: NodeJS.Signals, delayMs: number, againMs?: number): Promise<SnapResult> {
  const child = startSnap(args, { cwd: project });
  let exited = false;
  child.on("exit", () => (exited = true));
  const done = collect(child);
  await sleep(delayMs);
  if (!exited) child.kill(signal);
  if (againMs !== undefined) {
    await sleep(againMs);
    if (!exited) child.kill(signal);
  }
  return done;
}

/** What the random moments produced (printed after the tests). */
const outcomes: Record<string, number> = {};
afterAll(() => console.log(`SIGINT at random moments (seed ${SEED}): ${JSON.stringify(outcomes)}`));

/**
 * Exit 0 with the command's own document, or exit 130 with the interrupted error document. A
 * SIGINT during node's own start-up, before bin.js has run its first line, takes the signal's
 * default action (the process dies by SIGINT, having printed nothing and touched nothing):
 * the callers check that case like an interruption (nothing moved).
 */
function outcomeOf(r: SnapResult, type: string): "completed" | "interrupted" {
  const tally = (what: string) => (outcomes[what] = (outcomes[what] ?? 0) + 1);
  if (r.code === 0) {
    parseJson(r, type);
    tally("completed");
    return "completed";
  }
  if (r.signal === "SIGINT") {
    expect(r.stdout, "a process that died by SIGINT had printed").toBe("");
    expect(r.stderr).toBe("");
    tally("before start-up");
    return "interrupted";
  }
  tally("interrupted");
  expect(r.signal, r.stderr).toBeNull();
  expect(r.code, r.stderr).toBe(130);
  expect(parseJson<{ error: { code: string } }>(r, "cli_error").error.code).toBe("interrupted");
  return "interrupted";
}

describe(`SIGINT and SIGKILL at random moments (seed ${SEED})`, () => {
  const ROUNDS = Number(process.env.SNAP_CLI_CRASH_ROUNDS ?? 4);

  it("commit: exit 130 with the error document and the branch unmoved, or exit 0 with the branch at a child of the old head", async () => {
    writeTree(++version);
    const span = await duration(["commit", "big", "--json"]);
    for (let round = 0; round < ROUNDS; round++) {
      writeTree(++version);
      const before = await refValues();
      const delay = Math.floor(random() * span * 1.1);
      const r = await signalAt(["commit", "big", "--json"], "SIGINT", delay);
      const what = outcomeOf(r, "commit_result");
      const after = await refValues();
      const branch = "refs/heads/main";
      if (what === "interrupted") {
        expect(after, `delay ${delay} ms of ${span} (seed ${SEED})`).toEqual(before);
        expect(lease()).toBe(false);
      } else {
        const doc = JSON.parse(r.stdout) as { snapshot_oid: string; parent_snapshot_oids: string[] };
        expect(after.get(branch)).toBe(doc.snapshot_oid);
        expect(doc.parent_snapshot_oids).toEqual([before.get(branch)]);
      }
      await expectConsistent();
      expect((await run("commit", "big")).code).toBe(0);
    }
  });

  it("release: exit 130 leaves the old release serving and its ref unmoved, or exit 0 serves the new one", async () => {
    const name = "random";
    const target = join(project, "www-random");
    expect((await run("release", "HEAD~1", "--to", name, "--target", target)).code).toBe(0);
    let serving = "HEAD~1";
    const span = await duration(["release", "HEAD", "--to", name, "--json"]);
    for (let round = 0; round < ROUNDS; round++) {
      // alternate between two snapshots, each a fresh materialization (older ones are pruned by gc)
      const next = serving === "HEAD" ? "HEAD~1" : "HEAD";
      const expected = parseJson<{ snapshot: { snapshot_oid: string } }>(await run("show", next, "--json"), "show_result").snapshot.snapshot_oid;
      const before = await refValues();
      const delay = Math.floor(random() * span * 1.1);
      const r = await signalAt(["release", next, "--to", name, "--json"], "SIGINT", delay);
      const what = outcomeOf(r, "release_result");
      const after = await refValues();
      if (what === "interrupted") {
        expect(after.get(`refs/releases/${name}`), `delay ${delay} ms of ${span} (seed ${SEED})`).toBe(before.get(`refs/releases/${name}`));
        await expectStoppedCleanly();
      } else {
        expect((JSON.parse(r.stdout) as { snapshot_oid: string }).snapshot_oid).toBe(expected);
        serving = next;
      }
      // the target serves one whole snapshot: every file agrees with VERSION
      const served = readFileSync(join(target, "VERSION"), "utf8").trim();
      expect(readFileSync(join(target, "d7", "f7.txt"), "utf8").startsWith(`version ${served} file 7\n`)).toBe(true);
      await expectConsistent();
    }
  });

  it("gc: exit 130 removes nothing, or exit 0 with its report; fsck clean either way", async () => {
    const span = await duration(["gc", "--grace", "0", "--json"]);
    for (let round = 0; round < ROUNDS; round++) {
      writeTree(++version);
      expect((await run("commit", "big")).code).toBe(0);
      // garbage to sweep: the previous runs' refs go (--keep-runs 1); their snapshots stay reachable through parents
      const objects = await objectCount();
      const delay = Math.floor(random() * span * 1.1);
      const r = await signalAt(["gc", "--keep-runs", "1", "--grace", "0", "--json"], "SIGINT", delay);
      const what = outcomeOf(r, "gc_report");
      if (what === "interrupted") {
        expect(await objectCount(), `delay ${delay} ms of ${span} (seed ${SEED})`).toBe(objects);
        expect(lockHeld()).toBe(false);
      }
      await expectConsistent();
    }
  });

  it("SIGKILL at random moments of commit, release and gc: refs at their old or new value, fsck clean, each re-runs", async () => {
    const name = "random-kill";
    const target = join(project, "www-random-kill");
    expect((await run("release", "HEAD", "--to", name, "--target", target)).code).toBe(0);
    const span = await duration(["commit", "big", "--json"]);
    for (let round = 0; round < ROUNDS; round++) {
      writeTree(++version);
      const before = (await refValues()).get("refs/heads/main");
      const delay = Math.floor(random() * span * 1.1);
      await signalAt(["commit", "big", "--json"], "SIGKILL", delay);
      if ((await refValues()).get("refs/heads/main") !== before) {
        const moved = parseJson<{ snapshot: { parent_snapshot_oids: string[] } }>(await run("show", "HEAD", "--json"), "show_result").snapshot;
        expect(moved.parent_snapshot_oids, `delay ${delay} ms (seed ${SEED})`).toEqual([before]);
      }
      await expectConsistent();
      expect((await run("commit", "big")).code).toBe(0);

      // release: the target serves one whole snapshot whatever the moment
      await signalAt(["release", round % 2 === 0 ? "HEAD" : "HEAD~1", "--to", name, "--json"], "SIGKILL", Math.floor(random() * span * 1.1));
      const served = readFileSync(join(target, "VERSION"), "utf8").trim();
      expect(readFileSync(join(target, "d7", "f7.txt"), "utf8").startsWith(`version ${served} file 7\n`)).toBe(true);
      await expectConsistent();
      const again = await run("release", "HEAD", "--to", name, "--json");
      expect(again.code, again.stderr).toBe(0);
      expect(readFileSync(join(target, "VERSION"), "utf8")).toBe(`${version}\n`);

      await signalAt(["gc", "--keep-runs", "2", "--grace", "0", "--json"], "SIGKILL", Math.floor(random() * span * 1.1));
      await expectConsistent();
      expect((await run("cat", "HEAD:VERSION")).stdout).toBe(`${version}\n`);
    }
  });

  it("a second SIGINT right after the first ends the command at once, with exit 130 and the error document", async () => {
    writeTree(++version);
    const r = await interruptTwice(["commit", "big", "--json"]);
    expect(r.signal, r.stderr).toBeNull();
    expect(outcomeOf(r, "commit_result")).toBe("interrupted");
    await expectConsistent();
    expect((await run("commit", "big")).code).toBe(0);
  });
});

/** SIGINT once the commit is under way (its lease exists), and again 1 ms later. */
async function interruptTwice(args: string[]): Promise<SnapResult> {
  // A lease of this child: one a SIGKILLed earlier command left behind does not count.
  const leases = () => (existsSync(join(store, "leases")) ? readdirSync(join(store, "leases")) : []);
  const before = new Set(leases());
  const child = startSnap(args, { cwd: project });
  let exited = false;
  child.on("exit", () => (exited = true));
  const done = collect(child);
  expect(await until(() => leases().some((n) => !before.has(n)), () => exited), "the commit ended before it took its lease").toBe(true);
  child.kill("SIGINT");
  await sleep(1);
  if (!exited) child.kill("SIGINT");
  return done;
}

describe("the kills", () => {
  it("landed while the operations were under way (else the tests above proved little)", () => {
    expect(landings).toHaveLength(6);
    expect(landings.filter(Boolean).length, JSON.stringify(landings)).toBeGreaterThanOrEqual(5);
  });
});
