import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Child, fixture, oid, openStore, spawnNode, tempDir } from "./helpers.js";

const PROCS = 8;
const ROUNDS = Number(process.env.SNAP_RACE_ROUNDS ?? 12);

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir("snap-refs-race-"));
});
afterAll(async () => {
  await cleanup();
});

describe("CAS under the lock", () => {
  it(`${PROCS} processes race to advance one ref from the same expected value: exactly one wins per round`, async () => {
    const store = await openStore(dir);
    const start = oid("start");
    await store.refs.transaction([{ ref: "refs/heads/main", expect: "absent", set: start }], { reason: "init" });
    const children: Child[] = Array.from({ length: PROCS }, (_, i) => spawnNode(fixture("cas-child.mjs"), [dir, String(i)]));
    try {
      await Promise.all(children.map((c) => c.waitLine((l) => l === "ready", 60_000)));
      let expected = start;
      const winners: string[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        for (const c of children) c.proc.stdin!.write(`round ${round} ${expected}\n`);
        const results = await Promise.all(
          children.map((c) => c.waitLine((l) => l.startsWith(`win ${round} `) || l.startsWith(`lose ${round} `), 20_000)),
        );
        const wins = results.filter((l) => l.startsWith("win "));
        expect(wins, `round ${round}: ${results.join(" | ")}`).toHaveLength(1);
        const winner = wins[0]!.split(" ")[2]!;
        for (const l of results.filter((r) => r.startsWith("lose "))) {
          const [, , code, exp, found] = l.split(" ");
          expect(code).toBe("ref_expect_mismatch");
          expect(exp).toBe(expected);
          expect(found).toBe(winner);
        }
        expect(await store.refs.read("refs/heads/main")).toBe(winner);
        winners.push(winner);
        expected = winner;
      }
      // Nothing lost: the reflog is the chain start -> winner 0 -> winner 1 -> ...
      const log = (await store.refs.log("refs/heads/main")).reverse();
      expect(log.map((e) => e.new)).toEqual([start, ...winners]);
      for (let i = 1; i < log.length; i++) expect(log[i]!.old).toBe(log[i - 1]!.new);
      expect((await store.refs.verify()).ok).toBe(true);
    } finally {
      for (const c of children) c.proc.stdin!.end("exit\n");
      const timer = setTimeout(() => children.forEach((c) => c.proc.kill("SIGKILL")), 10_000);
      await Promise.all(children.map((c) => c.exited));
      clearTimeout(timer);
      await store.close();
    }
  });
});
