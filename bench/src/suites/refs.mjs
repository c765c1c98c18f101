/**
 * Refs rows (issue 4): @snap/refs (over @snap/journal) from their BUILT dists.
 *
 * | row                                              | snap side                                                | anchor                                         | target  |
 * |--------------------------------------------------|----------------------------------------------------------|------------------------------------------------|---------|
 * | single-ref CAS, lockHold open [vs fdatasync]     | transaction([{ ref, expect: old, set: new }]) x N (ms)   | one append+fdatasync of 1 KiB (ms, same run)   | context |
 * | single-ref CAS, lockHold open [vs 1 ms + fsync]  | the same figure                                          | budget: 1 ms + this run's fdatasync            | >= 1x   |
 * | single-ref CAS, lockHold append (default)        | the same with a store-lock acquisition per transaction   | one append+fdatasync                           | context |
 * | single-ref CAS, refFiles per-transaction         | lockHold open, ref file + directory fsynced in every txn | one append+fdatasync                           | context |
 * | single-ref CAS [vs isomorphic-git]               | the lockHold open figure                                 | resolveRef + compare + writeRef (no fsync/lock)| context |
 * | 100-ref transaction [vs isomorphic-git]          | one transaction of 100 updates (ms)                      | writeRef x 100 (no fsync, no lock)             | context |
 * | 100-ref transaction, per ref [vs fdatasync]      | the same / 100                                           | one append+fdatasync                           | context |
 *
 * Times are in ms; every ratio is anchor_time / snap_time (higher is better).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { createHash } from "node:crypto";
import * as git from "isomorphic-git";
import { atLeast } from "../context.mjs";
import { loadSnapApi } from "../packages.mjs";

export const name = "refs";

const CAS = { count: 200, quickCount: 50 };
const MULTI = 100;
const TXNS_PER_SAMPLE = { count: 5, quickCount: 3 };

const oid = (bits, i) => createHash(bits === 256 ? "sha256" : "sha1").update(`bench-${i}`).digest("hex");
const ms = (rate) => 1000 / rate;

export async function run(ctx) {
  const journalApi = await loadSnapApi("journal", ["openJournal"]);
  const refsApi = await loadSnapApi("refs", ["openRefs"]);
  const reason = journalApi.reason ?? refsApi.reason;
  if (reason !== undefined) {
    await ctx.measureWith({}, ["append_fdatasync_1k"]);
    ctx.unavailable(reason);
  }
  const { openJournal } = journalApi.api;
  const { openRefs } = refsApi.api;
  const casCount = ctx.quick ? CAS.quickCount : CAS.count;
  const txns = ctx.quick ? TXNS_PER_SAMPLE.quickCount : TXNS_PER_SAMPLE.count;
  const A = oid(256, "a");
  const B = oid(256, "b");
  const GA = oid(160, "a");
  const GB = oid(160, "b");
  const multiNames = Array.from({ length: MULTI }, (_, i) => `refs/runs/bench/r${String(i).padStart(3, "0")}`);

  /** A fresh store (journal + refs) per sample; its first transaction (untimed) creates the refs and, with lockHold open, takes the lock. */
  const storeSetup = (lockHold, names, refFiles = "deferred") => async () => {
    const dir = await ctx.freshDir(`refs-${lockHold}`);
    const journal = await openJournal({ dir: path.join(dir, "journal"), lockPath: path.join(dir, "lock"), lockHold });
    const refs = await openRefs({ dir, journal, refFiles });
    await refs.transaction(names.map((ref) => ({ ref, expect: "absent", set: A })), { reason: "bench setup" });
    return { dir, journal, refs };
  };
  const storeTeardown = (check) => async ({ dir, journal, refs }) => {
    const ok = await check(refs);
    await journal.close();
    await ctx.removeDir(dir);
    if (!ok) throw new Error("refs: the refs do not hold the value the last transaction set");
  };
  const casSampler = (lockHold, n, refFiles = "deferred") => ({
    label: `snap refs CAS x ${n}, lockHold ${lockHold}, refFiles ${refFiles}`,
    work: n,
    setup: storeSetup(lockHold, ["refs/heads/main"], refFiles),
    async run({ refs }) {
      for (let i = 0; i < n; i++) {
        const [expect, set] = i % 2 === 0 ? [A, B] : [B, A];
        await refs.transaction([{ ref: "refs/heads/main", expect, set }], { reason: "cas" });
      }
    },
    // n is even: the ref ends where it started.
    teardown: storeTeardown(async (refs) => (await refs.read("refs/heads/main")) === (n % 2 === 0 ? A : B)),
  });
  const multiSampler = {
    label: `snap refs ${txns} x one ${MULTI}-ref transaction, lockHold open`,
    work: txns,
    setup: storeSetup("open", multiNames),
    async run({ refs }) {
      for (let t = 0; t < txns; t++) {
        const [expect, set] = t % 2 === 0 ? [A, B] : [B, A];
        await refs.transaction(multiNames.map((ref) => ({ ref, expect, set })), { reason: "multi" });
      }
    },
    teardown: storeTeardown(async (refs) => (await refs.read(multiNames[MULTI - 1])) === (txns % 2 === 0 ? A : B)),
  };
  const gitSetup = (names) => async () => {
    const dir = await ctx.freshDir("refs-isogit");
    await git.init({ fs, dir });
    for (const ref of names) await git.writeRef({ fs, dir, ref, value: GA, force: true });
    return dir;
  };
  const gitCas = {
    label: `isomorphic-git resolveRef + compare + writeRef x ${casCount}`,
    work: casCount,
    setup: gitSetup(["refs/heads/main"]),
    async run(dir) {
      for (let i = 0; i < casCount; i++) {
        const [expect, set] = i % 2 === 0 ? [GA, GB] : [GB, GA];
        const found = await git.resolveRef({ fs, dir, ref: "refs/heads/main" });
        if (found !== expect) throw new Error(`isomorphic-git CAS: found ${found}, expected ${expect}`);
        await git.writeRef({ fs, dir, ref: "refs/heads/main", value: set, force: true });
      }
    },
    teardown: (dir) => ctx.removeDir(dir),
  };
  const gitMulti = {
    label: `isomorphic-git ${txns} x (resolveRef + writeRef) x ${MULTI} refs`,
    work: txns,
    setup: gitSetup(multiNames),
    async run(dir) {
      for (let t = 0; t < txns; t++) {
        const [expect, set] = t % 2 === 0 ? [GA, GB] : [GB, GA];
        for (const ref of multiNames) {
          if ((await git.resolveRef({ fs, dir, ref })) !== expect) throw new Error(`isomorphic-git: ${ref} is not ${expect}`);
          await git.writeRef({ fs, dir, ref, value: set, force: true });
        }
      }
    },
    teardown: (dir) => ctx.removeDir(dir),
  };

  const perRoundCount = Math.max(20, Math.floor(casCount / 4)); // a lock acquisition per CAS: fewer of them
  const m = await ctx.measureWith(
    {
      casOpen: casSampler("open", casCount),
      casAppend: casSampler("append", perRoundCount - (perRoundCount % 2)),
      casPerTxn: casSampler("open", perRoundCount - (perRoundCount % 2), "per-transaction"),
      gitCas,
      multi: multiSampler,
      gitMulti,
    },
    ["append_fdatasync_1k"],
  );
  const fsync = m.anchors.append_fdatasync_1k;
  const fsyncMs = ms(fsync.value);
  const fsyncAnchor = { name: "one append+fdatasync of 1 KiB (this run's anchor, as a time)", value: fsyncMs, unit: "ms" };
  const casMs = ms(m.values.casOpen);
  const multiMs = ms(m.values.multi);
  const noFsync = "isomorphic-git does no fsync and takes no lock (writeRef is a plain file write; the compare is not atomic): a floor, not a peer";
  return [
    ctx.compare({
      name: "single-ref CAS, uncontended, lockHold open [vs one fdatasync]",
      value: casMs,
      unit: "ms",
      anchor: fsyncAnchor,
      lowerIsBetter: true,
      note: "mean per CAS within a sample, median over samples; durable when it resolves = the journal record is fdatasynced (the commit point); ref files are fsynced in one batch every maxUnflushedSeqs (64) transactions, and replayed from the journal after a power loss",
    }),
    ctx.compare({
      name: "single-ref CAS, uncontended, lockHold open [vs 1 ms + one fdatasync]",
      value: casMs,
      unit: "ms",
      anchor: ctx.budget("1 ms + one fdatasync of this run (issue 4)", 1 + fsyncMs, "ms"),
      note: "issue 4 asks for <= 1 ms 'with this machine's fsync cost taken into account': read here as at most 1 ms on top of one fdatasync",
      lowerIsBetter: true,
      target: atLeast(1),
    }),
    ctx.compare({
      name: "single-ref CAS, uncontended, lockHold append (default: lock per transaction) [vs one fdatasync]",
      value: ms(m.values.casAppend),
      unit: "ms",
      anchor: fsyncAnchor,
      lowerIsBetter: true,
      note: "context: every transaction acquires and releases the store lock (rename of a spare directory holding the owner record, generation file overwritten in place; no fsync)",
    }),
    ctx.compare({
      name: "single-ref CAS, uncontended, lockHold open, refFiles per-transaction [vs one fdatasync]",
      value: ms(m.values.casPerTxn),
      unit: "ms",
      anchor: fsyncAnchor,
      lowerIsBetter: true,
      note: "context: the ref file and its directory fsynced in every transaction (the pre-deferral behaviour, still available as refFiles: \"per-transaction\")",
    }),
    ctx.compare({
      name: "single-ref CAS, uncontended, lockHold open [vs isomorphic-git resolveRef+writeRef]",
      value: casMs,
      unit: "ms",
      anchor: { name: "isomorphic-git resolveRef + compare + writeRef (this run)", value: ms(m.values.gitCas), unit: "ms" },
      lowerIsBetter: true,
      note: noFsync,
    }),
    ctx.compare({
      name: `${MULTI}-ref transaction, lockHold open [vs isomorphic-git x ${MULTI}]`,
      value: multiMs,
      unit: "ms",
      anchor: { name: `isomorphic-git resolveRef + writeRef of the same ${MULTI} refs (this run)`, value: ms(m.values.gitMulti), unit: "ms" },
      lowerIsBetter: true,
      note: noFsync,
    }),
    ctx.compare({
      name: `${MULTI}-ref transaction, per ref [vs one fdatasync]`,
      value: multiMs / MULTI,
      unit: "ms",
      anchor: fsyncAnchor,
      lowerIsBetter: true,
    }),
  ];
}
