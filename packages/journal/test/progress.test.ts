import { readdir } from "node:fs/promises";
import { join } from "node:path";
import type { ProgressEvent } from "@snap/schema";
import { afterAll, describe, expect, it } from "vitest";
import { openJournal, type Journal } from "../src/index.js";
import { cleanupTemps, tempDir } from "./helpers.js";

afterAll(cleanupTemps);

const ls = async (p: string) => (await readdir(p).catch(() => [] as string[])).sort();

async function journalWith(records: number, segmentBytes = 4096): Promise<{ dir: string; j: Journal }> {
  const dir = await tempDir();
  const j = await openJournal({ dir, segmentBytes, durability: "none" });
  for (let i = 0; i < records; i += 100) {
    await j.appendMany(Array.from({ length: Math.min(100, records - i) }, (_, k) => ({ action: "put", item_type: "t", item_id: `k${(i + k) % 37}`, payload: { i: i + k } })));
  }
  return { dir, j };
}

/** Phases in order of first appearance, and a check that each phase ends with a final event. */
function phasesOf(events: ProgressEvent[]): string[] {
  const phases: string[] = [];
  for (const e of events) if (phases[phases.length - 1] !== e.phase) phases.push(e.phase);
  for (const p of phases) {
    const mine = events.filter((e) => e.phase === p);
    for (let k = 1; k < mine.length; k++) expect(mine[k]!.done).toBeGreaterThanOrEqual(mine[k - 1]!.done);
    const last = mine[mine.length - 1]!;
    if (last.total !== undefined) expect(last.done).toBe(last.total);
  }
  return phases;
}

const interrupted = { code: "interrupted" };

describe("checkpoint(): onProgress and signal", () => {
  it("reports scan, write, verify, publish, each phase ending with its final count", async () => {
    const { j } = await journalWith(1500);
    try {
      const events: ProgressEvent[] = [];
      const r = await j.checkpoint({ onProgress: (e) => events.push(e) });
      expect(r.created).toBe(true);
      expect(phasesOf(events)).toEqual(["scan", "write", "verify", "publish"]);
      expect(events.find((e) => e.phase === "scan" && e.done === 1500)).toMatchObject({ unit: "records", total: 1500 });
    } finally {
      await j.close();
    }
  });

  it.each(["before", "scan", "write", "verify"] as const)("an abort at %s publishes nothing and throws interrupted", async (at) => {
    const { dir, j } = await journalWith(1500);
    try {
      const ac = new AbortController();
      if (at === "before") ac.abort();
      const p = j.checkpoint({ signal: ac.signal, onProgress: (e) => e.phase === at && ac.abort() });
      await expect(p).rejects.toMatchObject(interrupted);
      expect(await ls(join(dir, "checkpoints"))).toEqual([]);
      expect((await ls(join(dir, "tmp"))).filter((n) => n.includes("ckpt"))).toEqual([]);
      // the journal is unharmed: the same checkpoint then succeeds
      expect((await j.checkpoint()).created).toBe(true);
    } finally {
      await j.close();
    }
  });

  it("an abort after the commit point is ignored: the checkpoint is published", async () => {
    const { dir, j } = await journalWith(300);
    try {
      const ac = new AbortController();
      const r = await j.checkpoint({ signal: ac.signal, onProgress: (e) => e.phase === "publish" && ac.abort() });
      expect(ac.signal.aborted).toBe(true);
      expect(r.created).toBe(true);
      expect(await ls(join(dir, "checkpoints"))).toEqual([r.name]);
    } finally {
      await j.close();
    }
  });
});

describe("archive(): onProgress and signal", () => {
  async function archivable() {
    const { dir, j } = await journalWith(600, 2048);
    await j.checkpoint();
    await j.appendMany([{ action: "put", item_type: "t", item_id: "x", payload: 1 }]);
    await j.checkpoint();
    return { dir, j };
  }

  it("an abort while checkpoints are verified moves nothing", async () => {
    const { dir, j } = await archivable();
    try {
      const before = await ls(join(dir, "segments"));
      const ac = new AbortController();
      await expect(j.archive({ signal: ac.signal, onProgress: (e) => e.phase === "verify" && ac.abort() })).rejects.toMatchObject(interrupted);
      expect(await ls(join(dir, "segments"))).toEqual(before);
      expect(await ls(join(dir, "archive", "segments"))).toEqual([]);
    } finally {
      await j.close();
    }
  });

  it("reports verify then move; an abort after the first move is ignored and the archive completes", async () => {
    const { dir, j } = await archivable();
    try {
      const events: ProgressEvent[] = [];
      const ac = new AbortController();
      const report = await j.archive({
        signal: ac.signal,
        onProgress: (e) => {
          events.push(e);
          if (e.phase === "move") ac.abort();
        },
      });
      expect(report.archived_segments.length).toBeGreaterThan(1);
      expect(phasesOf(events)).toEqual(["verify", "move"]);
      expect(await ls(join(dir, "archive", "segments"))).toEqual(expect.arrayContaining(report.archived_segments));
      expect(events[events.length - 1]).toMatchObject({ phase: "move", done: report.archived_segments.length + report.archived_checkpoints.length, unit: "files" });
    } finally {
      await j.close();
    }
  });
});

describe("verify(): onProgress and signal", () => {
  it("reports scan, checkpoints, rebuild, state; an abort mid-scan throws interrupted and leaves no temporary directory", async () => {
    const { dir, j } = await journalWith(1200, 8192);
    try {
      await j.checkpoint();
      const events: ProgressEvent[] = [];
      const v = await j.verify({ onProgress: (e) => events.push(e) });
      expect(v.ok).toBe(true);
      expect(phasesOf(events)).toEqual(["scan", "checkpoints", "rebuild", "state"]);
      const ac = new AbortController();
      await expect(j.verify({ signal: ac.signal, onProgress: (e) => e.phase === "scan" && e.done >= 2 && ac.abort() })).rejects.toMatchObject(interrupted);
      expect((await ls(join(dir, "tmp"))).filter((n) => n.startsWith("verify-"))).toEqual([]);
    } finally {
      await j.close();
    }
  });
});
