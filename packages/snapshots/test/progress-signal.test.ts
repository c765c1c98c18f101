/**
 * The long-operation contract (@snap/schema ProgressEvent / LongOperationOptions): progress
 * events per phase with a final event for each, and an aborted signal before the commit point
 * gives `interrupted` with nothing moved.
 */
import { mkdir, readlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { isSnapError, type ProgressEvent } from "../src/index.js";
import { build, newStore, type Fixture } from "./store-fixture.js";

let fx: Fixture;
afterEach(async () => {
  await fx?.cleanup();
});

async function tree(root: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const dir = join(root, `d${i % 7}`);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, `f${i}.txt`), `file ${i}\n`);
  }
}

async function expectInterrupted(p: Promise<unknown>): Promise<void> {
  let caught: unknown;
  try {
    await p;
  } catch (err) {
    caught = err;
  }
  expect(isSnapError(caught, "interrupted"), String(caught)).toBe(true);
}

/** The last event of each phase, in the order phases first appeared. */
function phaseEnds(events: ProgressEvent[]): Map<string, ProgressEvent> {
  const out = new Map<string, ProgressEvent>();
  for (const e of events) out.set(e.phase, e);
  return out;
}

async function objectCount(fx: Fixture): Promise<number> {
  let n = 0;
  for await (const _ of fx.store.context.objects.list()) n++;
  return n;
}

describe("commitDirectory: progress and signal", () => {
  it("reports scan, hash, tree and commit phases, ending with the full counts", async () => {
    fx = await newStore();
    const src = join(fx.root, "src");
    await tree(src, 300);
    const events: ProgressEvent[] = [];
    const result = await fx.store.commitDirectory({ dir: src, onProgress: (e) => events.push({ ...e }) });
    expect(result.files).toBe(300);
    const ends = phaseEnds(events);
    expect([...ends.keys()]).toEqual(["scan", "hash", "tree", "commit"]);
    expect(ends.get("scan")).toEqual({ phase: "scan", done: 300, unit: "files" });
    expect(ends.get("hash")).toEqual({ phase: "hash", done: 300, total: 300, unit: "files" });
    expect(ends.get("tree")?.done).toBeGreaterThanOrEqual(8); // root + 7 directories
    expect(ends.get("commit")).toEqual({ phase: "commit", done: 1, total: 1 });
    // Monotonic within a phase, and throttled: far fewer events than files.
    for (const phase of ends.keys()) {
      const dones = events.filter((e) => e.phase === phase).map((e) => e.done);
      expect([...dones].sort((a, b) => a - b)).toEqual(dones);
    }
    expect(events.length).toBeLessThan(300);
  });

  it("an abort while hashing moves no ref and leaves the stat cache untouched; the next commit works", async () => {
    fx = await newStore();
    const src = join(fx.root, "src");
    await tree(src, 200);
    const first = await fx.store.commitDirectory({ dir: src });
    for (let i = 0; i < 200; i++) await writeFile(join(src, `d${i % 7}`, `f${i}.txt`), `changed ${i}\n`);
    const controller = new AbortController();
    await expectInterrupted(
      fx.store.commitDirectory({
        dir: src,
        signal: controller.signal,
        onProgress: (e) => {
          if (e.phase === "hash" && e.done >= 10) controller.abort();
        },
      }),
    );
    expect(await fx.store.resolve("main")).toBe(first.snapshotOid);
    expect((await fx.store.runs()).length).toBe(1);
    const again = await fx.store.commitDirectory({ dir: src });
    expect(again.parentOid).toBe(first.snapshotOid);
    expect(again.hashed).toBe(200);
  });

  it("an abort already signalled refuses before anything is written", async () => {
    fx = await newStore();
    const src = join(fx.root, "src");
    await tree(src, 20);
    const before = await objectCount(fx);
    const controller = new AbortController();
    controller.abort();
    await expectInterrupted(fx.store.commitDirectory({ dir: src, signal: controller.signal }));
    expect(await objectCount(fx)).toBe(before);
    expect(await fx.store.runs()).toEqual([]);
  });

  it("a transaction commit aborted at its last check (after the trees) moves nothing and stays open", async () => {
    fx = await newStore();
    const txn = await fx.store.begin({ pipeline: "main" });
    await txn.recordArtifact({ label: "a", content: "A" });
    const controller = new AbortController();
    await expectInterrupted(
      txn.commit({
        signal: controller.signal,
        onProgress: (e) => {
          if (e.phase === "tree") controller.abort();
        },
      }),
    );
    expect(txn.status).toBe("open");
    expect(await fx.store.runs()).toEqual([]);
    const done = await txn.commit({});
    expect(await fx.store.resolve("main")).toBe(done.snapshotOid);
  });

  it("an abort after the commit point is ignored: the commit finishes", async () => {
    fx = await newStore();
    const txn = await fx.store.begin({ pipeline: "main" });
    await txn.recordArtifact({ label: "a", content: "A" });
    const controller = new AbortController();
    const done = await txn.commit({
      signal: controller.signal,
      onProgress: (e) => {
        if (e.phase === "commit") controller.abort(); // the refs have moved by now
      },
    });
    expect(await fx.store.resolve("main")).toBe(done.snapshotOid);
  });
});

describe("gc and fsck: progress and signal", () => {
  it("gc reports scan, mark and sweep; a dry run and the real run report the same totals", async () => {
    fx = await newStore();
    await build(fx.store, { a: "kept" });
    const txn = await fx.store.begin({ pipeline: "main" });
    for (let i = 0; i < 20; i++) await txn.recordArtifact({ label: `g${i}`, content: `garbage ${i}` });
    await txn.abort();
    const dryEvents: ProgressEvent[] = [];
    const dry = await fx.store.gc({ graceMs: 0, dryRun: true, onProgress: (e) => dryEvents.push({ ...e }) });
    const events: ProgressEvent[] = [];
    const real = await fx.store.gc({ graceMs: 0, onProgress: (e) => events.push({ ...e }) });
    expect(real.objects_removed).toEqual(dry.objects_removed);
    const ends = phaseEnds(events);
    expect([...ends.keys()]).toEqual(["scan", "mark", "sweep"]);
    expect(ends.get("scan")).toEqual({ phase: "scan", done: real.objects_total, unit: "objects" });
    expect(ends.get("mark")?.done).toBe(real.objects_reachable);
    expect(ends.get("sweep")).toEqual({ phase: "sweep", done: 40, total: 40, unit: "objects" });
    expect(phaseEnds(dryEvents).get("sweep")).toEqual(ends.get("sweep"));
  });

  it("gc aborted before its sweep removes nothing; after the sweep started it finishes", async () => {
    fx = await newStore();
    await build(fx.store, { a: "kept" });
    const txn = await fx.store.begin({ pipeline: "main" });
    for (let i = 0; i < 10; i++) await txn.recordArtifact({ label: `g${i}`, content: `garbage ${i}` });
    await txn.abort();
    const before = await objectCount(fx);
    const early = new AbortController();
    await expectInterrupted(
      fx.store.gc({
        graceMs: 0,
        signal: early.signal,
        onProgress: (e) => {
          if (e.phase === "mark") early.abort();
        },
      }),
    );
    expect(await objectCount(fx)).toBe(before);
    const late = new AbortController();
    const report = await fx.store.gc({
      graceMs: 0,
      signal: late.signal,
      onProgress: (e) => {
        if (e.phase === "sweep") late.abort();
      },
    });
    expect(report.objects_removed.length).toBe(20);
    expect(await objectCount(fx)).toBe(before - 20);
    expect((await fx.store.fsck()).ok).toBe(true);
  });

  it("fsck reports verify, links and refs phases and stops with interrupted when aborted", async () => {
    fx = await newStore();
    for (let i = 0; i < 5; i++) await build(fx.store, { [`f${i}`]: `v${i}`, shared: "s" });
    const events: ProgressEvent[] = [];
    const result = await fx.store.fsck({ onProgress: (e) => events.push({ ...e }) });
    expect(result.ok).toBe(true);
    const ends = phaseEnds(events);
    expect([...ends.keys()]).toEqual(["verify", "links", "refs"]);
    expect(ends.get("verify")).toEqual({ phase: "verify", done: result.report.objects_checked, total: result.report.objects_checked, unit: "objects" });
    expect(ends.get("links")?.done).toBe(result.reachable);
    expect(ends.get("refs")?.done).toBe(result.refs?.refs_checked);
    const controller = new AbortController();
    await expectInterrupted(
      fx.store.fsck({
        signal: controller.signal,
        onProgress: (e) => {
          if (e.phase === "verify") controller.abort();
        },
      }),
    );
  });
});

describe("release: signal", () => {
  it("a release aborted while materializing leaves the previous release serving and no ref moved", async () => {
    fx = await newStore();
    const target = join(fx.root, "site");
    const files: Record<string, string> = {};
    for (let i = 0; i < 50; i++) files[`p${i}.html`] = `page ${i}`;
    const v1 = await build(fx.store, files);
    const r1 = await fx.store.release({ name: "prod", target });
    files["p0.html"] = "changed";
    await build(fx.store, files);
    const controller = new AbortController();
    let reads = 0;
    // Abort from inside the adapter's reads, mid-materialization.
    const original = fx.store.context.io.getBytes.bind(fx.store.context.io);
    fx.store.context.io.getBytes = async (oid: string) => {
      if (++reads === 10) controller.abort();
      return original(oid);
    };
    await expectInterrupted(fx.store.release({ name: "prod", signal: controller.signal }));
    fx.store.context.io.getBytes = original;
    expect(await readlink(target)).toBe(r1.materialization);
    expect((await fx.store.releases())[0]?.releaseOid).toBe(r1.releaseOid);
    expect((await fx.store.releases())[0]?.release.snapshot_oid).toBe(v1.snapshotOid);
    // Nothing half-written is left: the next release builds and serves the new snapshot.
    const r2 = await fx.store.release({ name: "prod" });
    expect(await readlink(target)).toBe(r2.materialization);
    expect(r2.previousReleaseOid).toBe(r1.releaseOid);
  });

  it("a pre-aborted release or revert refuses before taking the lock", async () => {
    fx = await newStore();
    await build(fx.store, { a: "1" });
    const controller = new AbortController();
    controller.abort();
    await expectInterrupted(fx.store.release({ name: "prod", target: join(fx.root, "t"), signal: controller.signal }));
    await expectInterrupted(fx.store.revert({ name: "prod", signal: controller.signal }));
    expect(await fx.store.releases()).toEqual([]);
  });

  it("with force, a foreign target is moved aside only after the materialization is built: an abort before leaves it in place", async () => {
    fx = await newStore();
    await build(fx.store, { a: "1" });
    const target = join(fx.root, "site");
    await mkdir(target);
    await writeFile(join(target, "mine.txt"), "user data");
    const controller = new AbortController();
    await expectInterrupted(
      fx.store.release({
        name: "prod",
        target,
        force: true,
        signal: controller.signal,
        onStep: (s) => {
          if (s === "materialized") controller.abort();
        },
      }),
    );
    const { readFile } = await import("node:fs/promises");
    expect(await readFile(join(target, "mine.txt"), "utf8")).toBe("user data");
    const done = await fx.store.release({ name: "prod", target, force: true });
    expect(done.movedAside).toBeDefined();
    expect(await readFile(join(done.movedAside as string, "mine.txt"), "utf8")).toBe("user data");
  });
});
