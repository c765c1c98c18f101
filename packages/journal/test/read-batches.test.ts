import { open, readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openJournal, type Journal } from "../src/index.js";
import { cleanupTemps, segmentFiles, tempDir, readUntilError } from "./helpers.js";

afterAll(cleanupTemps);

/** One segment of `n` small events. */
async function journalOf(n: number): Promise<{ dir: string; j: Journal }> {
  const dir = await tempDir();
  const j = await openJournal({ dir, durability: "none", lockHold: "open" });
  for (let i = 0; i < n; i += 100) {
    await j.appendMany(
      Array.from({ length: Math.min(100, n - i) }, (_, k) => ({ action: "put", item_type: "t", item_id: `k${(i + k) % 7}`, payload: { i: i + k } })),
    );
  }
  return { dir, j };
}

/** Flips one byte inside the line of record `seq` (its CRC no longer matches). */
async function corruptRecord(dir: string, seq: number): Promise<void> {
  const path = join(dir, "segments", (await segmentFiles(dir))[0]!);
  const text = (await readFile(path)).toString("latin1");
  const at = text.indexOf(`"seq":${seq},`);
  expect(at).toBeGreaterThan(0);
  const fh = await open(path, "r+");
  await fh.write(Buffer.from("9"), 0, 1, at + `"seq":${seq},`.length + 8);
  await fh.close();
}

describe("read(): order, stop points and early exit", () => {
  it("yields every record in seq order, and toSeq stops mid-chunk", async () => {
    const { j } = await journalOf(1000);
    const seqs: number[] = [];
    for await (const r of j.read({ fromSeq: 1 })) seqs.push(r.seq);
    expect(seqs).toEqual(Array.from({ length: 1000 }, (_, k) => k + 1));
    const some: number[] = [];
    for await (const r of j.read({ fromSeq: 100, toSeq: 300 })) some.push(r.seq);
    expect(some).toEqual(Array.from({ length: 201 }, (_, k) => k + 100));
    await j.close();
  });

  it("mid-log corruption: every record before it is yielded, then journal_corrupt, nothing after it", async () => {
    const { dir, j } = await journalOf(1000);
    await j.close();
    await corruptRecord(dir, 700);
    const r = await openJournal({ dir });
    const { seqs: seen, code } = await readUntilError(r);
    expect(code).toBe("journal_corrupt");
    expect(seen).toEqual(Array.from({ length: 699 }, (_, k) => k + 1));
    await r.close();
  });

  it("break out of for-await closes the scan; concurrent next() calls are answered in order", async () => {
    const { j } = await journalOf(400);
    let n = 0;
    for await (const rec of j.read({ fromSeq: 1 })) {
      if (++n === 130) {
        expect(rec.seq).toBe(130);
        break;
      }
    }
    const it = j.read({ fromSeq: 1 });
    const all = await Promise.all(Array.from({ length: 401 }, () => it.next()));
    expect(all.slice(0, 400).map((x) => (x.done ? -1 : x.value.seq))).toEqual(Array.from({ length: 400 }, (_, k) => k + 1));
    expect(all[400]!.done).toBe(true);
    await j.close(); // would wait on / trip over a segment handle left open by the scans
  });
});
