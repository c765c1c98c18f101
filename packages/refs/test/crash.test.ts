import { afterAll, describe, expect, it } from "vitest";
import { type Child, type Store, delay, fixture, openStore, spawnNode, tempDir } from "./helpers.js";
// @ts-expect-error plain .mjs fixture shared with the child processes
import { COUNTER, OTHERS, oid, stateAfter } from "./fixtures/txn-plan.mjs";

/** Kills in the normal run (SNAP_CRASH_CYCLES for more), spread over independent lanes. */
const CYCLES = Number(process.env.SNAP_CRASH_CYCLES ?? 1000);
const LANES = 2;
const WARM = 2; // children per lane kept imported and waiting, so a cycle costs no module loading

const counterIndex = new Map<string, number>();
function prefixLength(counter: string | null): number {
  if (counter === null) return 0;
  for (let i = counterIndex.size; !counterIndex.has(counter) && i < counterIndex.size + 100_000; i++) {
    counterIndex.set(oid(i) as string, i);
  }
  const i = counterIndex.get(counter);
  if (i === undefined) throw new Error(`counter ${counter} is not in the sequence`);
  return i + 1;
}

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups) await c();
});

interface LaneResult {
  applied: number;
  acked: number;
  unackedCommitted: number;
}

async function lane(cycles: number, lockHold: "open" | "append"): Promise<LaneResult> {
  const { dir, cleanup } = await tempDir("snap-refs-crash-");
  // The parent recovers between kills; the dead holder's lock is taken over at once. The
  // stale timeout is far above the lock timeout: a lock the parent had to wait out (an
  // ownerless one) would fail the test with ref_locked instead of passing slowly.
  const store: Store = await openStore(dir, { lockStaleMs: 60_000, lockTimeoutMs: 15_000 });
  cleanups.push(async () => {
    await store.close();
    await cleanup();
  });
  const pool: Child[] = [];
  const spawnWarm = () => pool.push(spawnNode(fixture("crash-child.mjs"), [dir, lockHold]));
  for (let i = 0; i < WARM; i++) spawnWarm();
  let applied = 0; // prefix length after the last recovery
  let acked = 0;
  let unackedCommitted = 0;
  const cache = [new Map()];
  try {
    for (let cycle = 0; cycle < cycles; cycle++) {
      let child = pool.shift()!;
      spawnWarm();
      // A child that died before it was ready never ran a transaction (e.g. a sibling package's
      // dist/ was being rebuilt): replace it, a few times at most.
      for (let attempt = 0; ; attempt++) {
        try {
          await child.waitLine((l) => l === "ready");
          break;
        } catch (err) {
          if (attempt >= 5) throw err;
          await delay(500);
          child = spawnNode(fixture("crash-child.mjs"), [dir, lockHold]);
        }
      }
      child.proc.stdin!.write(`go ${applied}\n`);
      // Kill at a random moment once transactions are flowing (after the first ack).
      await child.waitLine((l) => l.startsWith("ack "));
      await delay(Math.random() * 12);
      child.proc.kill("SIGKILL");
      const { signal } = await child.exited;
      expect(signal, child.stderr()).toBe("SIGKILL");
      const acks = child.lines.filter((l) => l.startsWith("ack ")).map((l) => Number(l.slice(4)));
      const lastAck = acks[acks.length - 1]!;
      acked += acks.length;

      await store.refs.recover();
      const p = prefixLength(await store.refs.read(COUNTER));
      // Every acknowledged transaction is applied; at most the one in flight beyond it.
      expect(p, `cycle ${cycle}`).toBeGreaterThanOrEqual(lastAck + 1);
      expect(p, `cycle ${cycle}`).toBeLessThanOrEqual(lastAck + 2);
      if (p === lastAck + 2) unackedCommitted++;
      // All or nothing: every ref equals the state after exactly p transactions.
      const want = stateAfter(p, cache) as Map<string, string>;
      for (const ref of [COUNTER, ...OTHERS] as string[]) {
        expect(await store.refs.read(ref), `cycle ${cycle} ${ref} after ${p} txns`).toBe(want.get(ref) ?? null);
      }
      applied = p;
    }
  } finally {
    for (const c of pool) c.proc.kill("SIGKILL");
    await Promise.all(pool.map((c) => c.exited));
  }
  // Each committed transaction is in the reflog exactly once, and the files match the journal.
  const log = await store.refs.log(COUNTER);
  expect(log.length).toBe(applied);
  expect(new Set(log.map((e) => e.new)).size).toBe(applied);
  const report = await store.refs.verify();
  expect(report.ok, JSON.stringify(report)).toBe(true);
  return { applied, acked, unackedCommitted };
}

describe("SIGKILL in a loop of multi-ref transactions", () => {
  it(
    `${CYCLES} kills: after recover, refs equal some prefix of the transactions and every acknowledged one is applied`,
    async () => {
      const cpu0 = process.cpuUsage();
      const per = Math.ceil(CYCLES / LANES);
      // Lane 0's children hold the lock for their life (kills inside transactions); lane 1's
      // take it per transaction (kills inside lock acquisitions and releases too).
      const results = await Promise.all(
        Array.from({ length: LANES }, (_, i) => lane(i === LANES - 1 ? CYCLES - per * (LANES - 1) : per, i % 2 === 0 ? "open" : "append")),
      );
      const sum = (k: keyof LaneResult) => results.reduce((a, r) => a + r[k], 0);
      expect(sum("applied")).toBeGreaterThanOrEqual(CYCLES);
      console.log(
        `crash loop: ${CYCLES} kills, ${sum("applied")} transactions committed, ${sum("acked")} acknowledged, ` +
          `${sum("unackedCommitted")} committed but unacknowledged at the kill (rolled forward); ` +
          `test process CPU ${(((c) => (c.user + c.system) / 1e6)(process.cpuUsage(cpu0))).toFixed(1)} s`,
      );
    },
    900_000,
  );
});
