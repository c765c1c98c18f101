import { spawn } from "node:child_process";
import { afterAll, describe, expect, it } from "vitest";
import { openJournal } from "../src/index.js";
import { cleanupTemps, fixture, tempDir } from "./helpers.js";

afterAll(cleanupTemps);

const CYCLES = Number(process.env.SNAP_CRASH_CYCLES ?? 1000);
const SLOTS = 4;
let bigWriters = 0;

interface Outcome {
  acked: Map<number, string>;
}

/** One cycle: start a writer, let it run for a random 0-10 ms after it is ready, SIGKILL it. */
function cycle(dir: string, tag: string, out: Outcome): Promise<boolean> {
  return new Promise((resolve, reject) => {
        // Most writers hold the lock from their first append (kills land mid-append, mid-roll);
    // some take it per group-commit round (kills land around lock handover too).
    const lockHold = Math.random() < 0.7 ? "open" : "append";
    // One writer in four writes ~240 KiB per write(2) (see crasher.mjs): kills that land
    // inside such a write leave real torn tails, which the next writer must adjudicate.
    const big = Math.random() < 0.25;
    if (big) bigWriters++;
    const child = spawn(process.execPath, [fixture("crasher.mjs"), dir, tag, lockHold, big ? "big" : "small"], { stdio: ["ignore", "pipe", "pipe"] });
    let buf = "";
    let err = "";
    let killed = false;
    // A quarter of the writers die around open/lock acquisition, the rest while appending.
    const killAfterFirstAck = Math.random() >= 0.25;
    const killSoon = () => {
      if (killed) return;
      killed = true;
      // Big writers die sooner (each ms of theirs adds ~0.5 MB to the journal).
      setTimeout(() => child.kill("SIGKILL"), Math.random() * (big ? 3 : 10));
    };
    child.stdout.setEncoding("utf8");
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (c: string) => (err += c));
    child.stdout.on("data", (c: string) => {
      buf += c;
      const lines = buf.split("\n");
      buf = lines.pop() ?? "";
      for (const line of lines) {
        if (line === "ready") {
          if (!killAfterFirstAck) killSoon();
          continue;
        }
        const [seq, id] = line.split(" ");
        out.acked.set(Number(seq), id!);
        killSoon();
      }
    });
    child.on("exit", (code, signal) => {
      if (signal === "SIGKILL") resolve(true);
      // A sibling package being rebuilt under us (dist/ briefly missing) is not a journal
      // failure: that attempt does not count as a cycle.
      else if (err.includes("ERR_MODULE_NOT_FOUND")) setTimeout(() => resolve(false), 500);
      else reject(new Error(`writer exited ${String(code)} ${String(signal)} before the kill: ${err}`));
    });
  });
}

describe("SIGKILL storm", () => {
  it(`${CYCLES} kill cycles of concurrent writers: every acknowledged record survives; open + doctor + verify clean apart from adjudicated torn tails`, async () => {
    const dir = await tempDir();
    const out: Outcome = { acked: new Map() };
    let started = 0;
    let done = 0;
    let failed = false;
    const slot = async (s: number) => {
      let notCounted = 0;
      while (started < CYCLES && !failed) {
        const c = started++;
        if (await cycle(dir, `c${c}s${s}`, out)) done++;
        else if (++notCounted < 20) started--;
      }
    };
    // Meanwhile this process checkpoints and archives under the storm, as a maintenance job would.
    const maintenance = (async () => {
      const m = await openJournal({ dir, lockTimeoutMs: 60_000 });
      let last = 0;
      try {
        while (done < CYCLES && !failed) {
          await new Promise((r) => setTimeout(r, 50));
          if (done - last >= Math.max(50, CYCLES / 8)) {
            last = done;
            await m.checkpoint();
            await m.archive();
          }
        }
      } finally {
        await m.close();
      }
    })();
    try {
      await Promise.all(Array.from({ length: SLOTS }, (_, s) => slot(s)));
    } catch (err) {
      failed = true;
      await maintenance.catch(() => undefined);
      throw err;
    }
    await maintenance;
    expect(done).toBe(CYCLES);
    const j = await openJournal({ dir });
    try {
      const bySeq = new Map<number, string>();
      for await (const r of j.read({ fromSeq: 1, includeArchive: true })) {
        const p = r.payload as { tag: string; i: number } | undefined;
        if (p !== undefined) bySeq.set(r.seq, `${p.tag}-${p.i}`);
        else bySeq.set(r.seq, "delete");
      }
      expect(out.acked.size).toBeGreaterThan(CYCLES / 2);
      for (const [seq, id] of out.acked) {
        const found = bySeq.get(seq);
        if (found !== "delete") expect(found, `acknowledged seq ${seq}`).toBe(id);
        else expect(found).toBeDefined();
      }
      const seqs = [];
      for await (const r of j.read({ includeMeta: true, includeArchive: true })) seqs.push(r.seq);
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
      // A last append adjudicates the final writer's tail fragment, if it left one: then
      // every torn tail the storm produced is adjudicated and none is left.
      const tailBefore = j.report.fragment;
      await j.append({ action: "put", item_type: "crash", item_id: "final", payload: null });
      const doc = await j.doctor();
      expect(doc.anomalies, JSON.stringify(doc.anomalies.slice(0, 5))).toEqual([]);
      expect(doc.counters.torn).toBe(0);
      expect(doc.counters).toMatchObject({ corrupt: 0, duplicates: 0, stale_writers: 0, missing_segments: 0, chain_breaks: 0, seal_mismatches: 0 });
      const v = await j.verify();
      expect(v.ok, JSON.stringify({ d: v.differences.slice(0, 3), a: v.anomalies.slice(0, 3) })).toBe(true);
      const archived = (await j.stats()).archived_bytes;
      expect(archived).toBeGreaterThan(0);
      console.log(
        `crash storm: ${done} cycles (${bigWriters} big writers), ${archived} bytes archived under the storm, ${out.acked.size} acknowledged records checked, ${seqs.length} records, ${doc.counters.segments} segments, ` +
          `adjudicated tails ${doc.counters.adjudicated} ${JSON.stringify(doc.counters.adjudicated_by_class)} (the final writer's tail before the last append: ${tailBefore?.class ?? "none"}), unadjudicated ${doc.counters.torn}`,
      );
    } finally {
      await j.close();
    }
  }, 600_000);
});
