import { readFile, rm, writeFile } from "node:fs/promises";
import { join, sep } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FsSeam, nodeFs } from "@snap/fs";
import { isSnapError, parseVersioned } from "@snap/schema";
import {
  REF_TXN_ACTION,
  REF_TXN_ITEM_ID,
  REF_TXN_ITEM_TYPE,
  type RefLog,
  decodeRefFile,
  reflogEntrySchema,
  refsSnapshotSchema,
  refsVerifyReportSchema,
} from "../src/index.js";
import { type Store, delay, fixture, oid, openStore, spawnNode, tempDir } from "./helpers.js";

let root: string;
let cleanup: () => Promise<void>;
let n = 0;
const stores: Store[] = [];
beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir("snap-refs-api-"));
});
afterAll(async () => {
  for (const s of stores) await s.close().catch(() => undefined);
  await cleanup();
});
async function fresh(options: Parameters<typeof openStore>[1] = {}): Promise<Store> {
  const s = await openStore(join(root, `s${n++}`), options);
  stores.push(s);
  return s;
}
const err = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error("expected a rejection");
    },
    (e: unknown) => e as { code: string; data: Record<string, unknown> },
  );

describe("reading and symbolic refs", () => {
  it("HEAD points at a branch that does not exist yet; the first commit through HEAD creates it", async () => {
    const { refs, dir } = await fresh();
    await refs.setSymbolic("HEAD", "refs/heads/main");
    expect(await refs.readSymbolic()).toBe("refs/heads/main");
    expect(await refs.read("HEAD")).toBeNull();
    expect((await err(refs.resolve("HEAD"))).code).toBe("ref_not_found");
    expect(await refs.resolveRef("HEAD")).toEqual({ ref: "refs/heads/main", oid: null });
    const r = await refs.transaction([{ ref: "HEAD", expect: "absent", set: oid(1) }], { reason: "first" });
    expect(r.updates).toEqual([{ ref: "refs/heads/main", old: null, new: oid(1), via: "HEAD" }]);
    expect(await refs.resolve("HEAD")).toBe(oid(1));
    expect(await refs.read("refs/heads/main")).toBe(oid(1));
    expect(await readFile(join(dir, "HEAD"), "utf8")).toBe("ref: refs/heads/main\n");
    expect(await readFile(join(dir, "refs/heads/main"), "utf8")).toBe(`${oid(1)}\n`);
    // deref: false detaches HEAD.
    await refs.transaction([{ ref: "HEAD", set: oid(2), deref: false }]);
    expect(await refs.readSymbolic()).toBeNull();
    expect(await refs.read("HEAD")).toBe(oid(2));
    expect(await refs.read("refs/heads/main")).toBe(oid(1));
  });

  it("cycles and chains deeper than 16 are refused with ref_cycle", async () => {
    const { refs } = await fresh();
    await refs.setSymbolic("refs/heads/a", "refs/heads/b");
    await refs.setSymbolic("refs/heads/b", "refs/heads/a");
    const e = await err(refs.resolve("refs/heads/a"));
    expect(e.code).toBe("ref_cycle");
    expect(e.data.chain).toEqual(["refs/heads/a", "refs/heads/b", "refs/heads/a"]);
    expect((await err(refs.transaction([{ ref: "refs/heads/a", set: oid(1) }]))).code).toBe("ref_cycle");
    expect((await err(refs.setSymbolic("refs/heads/c", "refs/heads/c"))).code).toBe("ref_cycle");
    const chain = Array.from({ length: 18 }, (_, i) => `refs/heads/l${i}`);
    for (let i = 0; i < 17; i++) await refs.setSymbolic(chain[i]!, chain[i + 1]!);
    await refs.transaction([{ ref: chain[17]!, set: oid(3) }]);
    expect(await refs.resolve(chain[2]!)).toBe(oid(3)); // 15 hops
    expect((await err(refs.resolve(chain[0]!))).code).toBe("ref_cycle"); // 17 hops
  });

  it("readSymbolic of a missing ref is ref_not_found", async () => {
    const { refs } = await fresh();
    expect((await err(refs.readSymbolic("refs/heads/nope"))).code).toBe("ref_not_found");
  });

  it("list(prefix) is sorted and skips publish debris", async () => {
    const { refs, dir } = await fresh();
    await refs.setSymbolic("HEAD", "refs/heads/main");
    await refs.transaction([
      { ref: "refs/heads/main", set: oid(1) },
      { ref: "refs/heads/dev", set: oid(2) },
      { ref: "refs/tags/v1", set: oid(3) },
      { ref: "refs/runs/main/r1", set: oid(4) },
    ]);
    await writeFile(join(dir, "refs/heads/.tmp-main-1-1-abcd"), "partial");
    expect((await refs.list()).map((e) => e.name)).toEqual([
      "HEAD",
      "refs/heads/dev",
      "refs/heads/main",
      "refs/runs/main/r1",
      "refs/tags/v1",
    ]);
    expect(await refs.list("refs/heads/")).toEqual([
      { name: "refs/heads/dev", oid: oid(2), symbolic: null },
      { name: "refs/heads/main", oid: oid(1), symbolic: null },
    ]);
    expect((await refs.list("refs/heads/m")).map((e) => e.name)).toEqual(["refs/heads/main"]);
    expect((await refs.list("HEAD"))[0]).toEqual({ name: "HEAD", oid: null, symbolic: "refs/heads/main" });
    expect((await refs.recover()).debrisRemoved).toBe(1);
  });
});

describe("transactions", () => {
  it("a mismatch on any update applies nothing and records nothing; the error carries expected and found", async () => {
    const { refs, journal } = await fresh();
    await refs.transaction([
      { ref: "refs/heads/a", set: oid(1) },
      { ref: "refs/heads/b", set: oid(2) },
    ]);
    const before = journal.lastSeq;
    const e = await err(
      refs.transaction([
        { ref: "refs/heads/a", expect: oid(1), set: oid(10) },
        { ref: "refs/heads/b", expect: oid(99), set: oid(20) },
        { ref: "refs/heads/c", expect: "absent", set: oid(30) },
      ]),
    );
    expect(e.code).toBe("ref_expect_mismatch");
    expect(e.data).toMatchObject({ ref: "refs/heads/b", expected: oid(99), found: oid(2) });
    expect(await refs.read("refs/heads/a")).toBe(oid(1));
    expect(await refs.read("refs/heads/c")).toBeNull();
    expect(journal.lastSeq).toBe(before);
    const absent = await err(refs.transaction([{ ref: "refs/heads/a", expect: "absent", set: oid(5) }]));
    expect(absent.data).toMatchObject({ expected: "absent", found: oid(1) });
    const missing = await err(refs.transaction([{ ref: "refs/heads/zz", expect: oid(5), set: "delete" }]));
    expect(missing.data).toMatchObject({ expected: oid(5), found: null });
  });

  it("bad arguments are invalid_argument", async () => {
    const { refs } = await fresh();
    for (const bad of [
      [],
      [{ ref: "refs/heads/a", set: "nope" }],
      [{ ref: "refs/heads/a", set: oid(1).toUpperCase() }],
      [{ ref: "refs/heads/a", expect: "whatever", set: oid(1) }],
      [
        { ref: "refs/heads/a", set: oid(1) },
        { ref: "refs/heads/a", set: oid(2) },
      ],
    ]) {
      expect((await err(refs.transaction(bad as never))).code).toBe("invalid_argument");
    }
  });

  it("the reflog lists old, new, reason, writer and time, newest first, and survives the ref's deletion", async () => {
    const { refs, journal } = await fresh();
    await refs.transaction([{ ref: "refs/heads/x", expect: "absent", set: oid(1) }], { reason: "create" });
    await refs.transaction([{ ref: "refs/heads/x", expect: oid(1), set: oid(2) }], { reason: "advance" });
    await refs.transaction([{ ref: "refs/heads/x", expect: oid(2), set: "delete" }], { reason: "drop" });
    expect(await refs.read("refs/heads/x")).toBeNull();
    const log = await refs.log("refs/heads/x");
    expect(log.map((e) => [e.old, e.new, e.reason])).toEqual([
      [oid(2), null, "drop"],
      [oid(1), oid(2), "advance"],
      [null, oid(1), "create"],
    ]);
    for (const e of log) {
      parseVersioned(reflogEntrySchema, e);
      expect(e.writer).toBe(journal.writer);
      expect(Date.parse(e.time)).toBeGreaterThan(Date.now() - 60_000);
    }
    expect(await refs.log("refs/heads/x", { limit: 1 })).toHaveLength(1);
    expect(await refs.log("refs/heads/never")).toEqual([]);
  });

  it("a committed transaction whose files were never written is rolled forward on open", async () => {
    const dir = join(root, `s${n++}`);
    const a = await openStore(dir);
    await a.refs.transaction([{ ref: "refs/heads/main", set: oid(1) }]);
    // Ref files are flushed lazily (refFiles "deferred"): make the first one durable, so the
    // watermark sits right below the crashed transaction.
    expect(await a.refs.flush()).toMatchObject({ durableSeq: expect.any(Number), files: 1 });
    // What a crash right after the commit point leaves: the journal record, no ref files.
    await (a.journal as unknown as RefLog).withLock(async (hold) => {
      await hold.append(
        {
          action: REF_TXN_ACTION,
          item_type: REF_TXN_ITEM_TYPE,
          item_id: REF_TXN_ITEM_ID,
          payload: {
            type: "ref_txn",
            schema_version: 1,
            txn_id: "t_crashed",
            reason: "crashed",
            updates: [
              { ref: "refs/heads/main", old: oid(1), new: oid(2) },
              { ref: "refs/heads/new", old: null, new: oid(3) },
            ],
          },
        },
        { durability: "sync" },
      );
    });
    await a.close();
    expect(await readFile(join(dir, "refs/heads/main"), "utf8")).toBe(`${oid(1)}\n`);
    const b = await openStore(dir, { recover: false });
    stores.push(b);
    // Lock-free readers see the materialized view until someone takes the lock...
    expect(await b.refs.read("refs/heads/main")).toBe(oid(1));
    // ...and the next lock holder rolls forward before anything else.
    const r = await b.refs.recover();
    expect(r).toMatchObject({ rolledForward: 1, refsWritten: 2 });
    expect(await b.refs.read("refs/heads/main")).toBe(oid(2));
    expect(await b.refs.read("refs/heads/new")).toBe(oid(3));
    expect((await b.refs.verify()).ok).toBe(true);
  });

  it("a ref-file flush that fails after the commit point is io_error with committed: true; the next transaction replays and flushes", async () => {
    // A seam whose next fsync of a ref file fails with EIO (the journal's fdatasync is not affected).
    let failNext = false;
    const seam: FsSeam = {
      ...nodeFs,
      async open(path, flags, mode) {
        const file = await nodeFs.open(path, flags, mode);
        if (!path.includes(`${sep}refs${sep}`)) return file;
        return {
          path: file.path,
          write: (d, pos) => file.write(d, pos),
          read: (b, o, l, pos) => file.read(b, o, l, pos),
          async sync() {
            if (failNext) {
              failNext = false;
              throw Object.assign(new Error(`EIO: injected on ${path}`), { code: "EIO" });
            }
            return file.sync();
          },
          datasync: () => file.datasync(),
          stat: () => file.stat(),
          truncate: (l) => file.truncate(l),
          close: () => file.close(),
        };
      },
    };
    const { refs } = await fresh({ fs: seam, refFiles: "per-transaction" });
    await refs.transaction([{ ref: "refs/heads/main", set: oid(1) }]);
    failNext = true;
    const e = await err(refs.transaction([{ ref: "refs/heads/main", expect: oid(1), set: oid(2) }], { reason: "flush fails" }));
    expect(isSnapError(e, "io_error"), String(e)).toBe(true);
    expect((e as { data: Record<string, unknown> }).data).toMatchObject({ committed: true, seq: expect.any(Number) });
    // Committed: renamed into place, in the reflog, and never applied twice.
    expect(await refs.read("refs/heads/main")).toBe(oid(2));
    await refs.transaction([{ ref: "refs/heads/main", expect: oid(2), set: oid(3) }]);
    expect((await refs.log("refs/heads/main")).map((x) => x.new)).toEqual([oid(3), oid(2), oid(1)]);
    expect(failNext).toBe(false);
    expect((await refs.verify()).ok).toBe(true);
  });

  it("a lost applied watermark only re-applies (idempotent)", async () => {
    const { refs, dir } = await fresh();
    await refs.transaction([{ ref: "refs/heads/a", set: oid(1) }]);
    await refs.transaction([{ ref: "refs/heads/a", set: oid(2) }]);
    await writeFile(join(dir, "refs-applied"), "");
    const r = await refs.recover();
    expect(r).toMatchObject({ rolledForward: 2, refsWritten: 0 });
    expect(await refs.read("refs/heads/a")).toBe(oid(2));
  });
});

describe("verify and snapshot", () => {
  it("verify rebuilds the refs from the journal and reports every difference", async () => {
    const { refs, dir } = await fresh();
    await refs.setSymbolic("HEAD", "refs/heads/main");
    await refs.transaction([
      { ref: "refs/heads/main", set: oid(1) },
      { ref: "refs/heads/dev", set: oid(2) },
      { ref: "refs/tags/t", set: oid(3) },
    ]);
    const good = parseVersioned(refsVerifyReportSchema, await refs.verify());
    expect(good).toMatchObject({ ok: true, refs_checked: 4, transactions: 2, mismatches: [], unreadable: [] });
    await writeFile(join(dir, "refs/heads/main"), `${oid(9)}\n`);
    await rm(join(dir, "refs/heads/dev"));
    await writeFile(join(dir, "refs/heads/extra"), `${oid(4)}\n`);
    await writeFile(join(dir, "refs/tags/t"), "garbage");
    const bad = parseVersioned(refsVerifyReportSchema, await refs.verify());
    expect(bad.ok).toBe(false);
    expect(bad.mismatches).toEqual([
      { ref: "refs/heads/dev", expected: oid(2), found: null },
      { ref: "refs/heads/extra", expected: null, found: oid(4) },
      { ref: "refs/heads/main", expected: oid(1), found: oid(9) },
      { ref: "refs/tags/t", expected: oid(3), found: null },
    ]);
    expect(bad.unreadable.map((u) => u.path)).toEqual([join(dir, "refs/tags/t")]);
  });

  it("snapshot() returns every ref at one applied seq", async () => {
    const { refs } = await fresh();
    await refs.setSymbolic("HEAD", "refs/heads/main");
    const r = await refs.transaction([
      { ref: "refs/heads/main", set: oid(1) },
      { ref: "refs/heads/dev", set: oid(2) },
    ]);
    const snap = parseVersioned(refsSnapshotSchema, await refs.snapshot());
    expect(snap).toEqual({
      type: "refs_snapshot",
      schema_version: 1,
      applied_seq: r.seq,
      refs: { HEAD: "ref: refs/heads/main", "refs/heads/dev": oid(2), "refs/heads/main": oid(1) },
    });
  });
});

describe("concurrency", () => {
  it("another process holding the store lock gives ref_locked with its pid and the lock's age", async () => {
    const dir = join(root, `s${n++}`);
    const s = await openStore(dir, { lockTimeoutMs: 300 });
    stores.push(s);
    const holder = spawnNode(fixture("hold-lock.mjs"), [join(dir, "lock")]);
    try {
      await holder.waitLine((l) => l === "locked");
      await delay(50);
      const e = await err(s.refs.transaction([{ ref: "refs/heads/main", set: oid(1) }]));
      expect(e.code).toBe("ref_locked");
      expect(e.data.holder_pid).toBe(holder.proc.pid);
      expect(e.data.age_ms).toBeGreaterThanOrEqual(50);
      expect((await err(s.refs.snapshot())).code).toBe("ref_locked");
      // Lock-free reads still work.
      expect(await s.refs.read("refs/heads/main")).toBeNull();
    } finally {
      holder.proc.kill("SIGKILL");
      await holder.exited;
    }
    // The dead holder is taken over at once.
    await s.refs.transaction([{ ref: "refs/heads/main", set: oid(1) }]);
    expect(await s.refs.read("refs/heads/main")).toBe(oid(1));
  });

  it("readers never see a torn ref file while another process rewrites refs", async () => {
    const dir = join(root, `s${n++}`);
    const s = await openStore(dir);
    stores.push(s);
    const writer = spawnNode(fixture("writer.mjs"), [dir]);
    let reads = 0;
    let changes = 0;
    try {
      await writer.waitLine((l) => l.startsWith("round 20"), 60_000);
      const last = new Map<string, string>();
      // Count-driven, not time-driven: on a loaded machine the writer may advance slowly, so
      // read until enough reads and enough observed rewrites (deadline only against hangs).
      const deadline = Date.now() + 90_000;
      while ((reads <= 500 || changes <= 50) && Date.now() < deadline) {
        for (let j = 0; j < 8; j++) {
          const path = join(dir, `refs/heads/b${j}`);
          const bytes = await readFile(path);
          expect(decodeRefFile(bytes), `torn read of ${path}: ${JSON.stringify(bytes.toString())}`).not.toBeNull();
          const v = bytes.toString();
          if (last.get(path) !== v) changes++;
          last.set(path, v);
          reads++;
        }
        const listed = await s.refs.list("refs/heads/");
        expect(listed).toHaveLength(8);
      }
    } finally {
      writer.proc.kill("SIGKILL");
      await writer.exited;
    }
    expect(reads).toBeGreaterThan(500);
    expect(changes).toBeGreaterThan(50);
  });
});

describe("typed errors", () => {
  it("every error is a SnapError with a code from @snap/schema", async () => {
    const { refs } = await fresh();
    const e = await err(refs.read("bad name"));
    expect(isSnapError(e, "ref_name_invalid")).toBe(true);
  });
});
