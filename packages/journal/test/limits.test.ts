import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { MAX_RECORD_BYTES, openJournal } from "../src/index.js";
import { cleanupTemps, readAll, tempDir } from "./helpers.js";

afterAll(cleanupTemps);

async function sizes(dir: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const n of await readdir(join(dir, "segments"))) out[n] = (await stat(join(dir, "segments", n))).size;
  return out;
}

describe("record size limits", () => {
  it("a record over 256 KiB is refused with journal_record_too_large and nothing is written", async () => {
    const dir = await tempDir();
    const j = await openJournal({ dir });
    await j.append({ action: "put", item_type: "t", item_id: "a", payload: 1 });
    const before = await sizes(dir);
    const big = "x".repeat(MAX_RECORD_BYTES);
    await expect(j.append({ action: "put", item_type: "t", item_id: "big", payload: big })).rejects.toMatchObject({
      code: "journal_record_too_large",
      data: { limit: MAX_RECORD_BYTES },
    });
    // appendMany is all or nothing: one oversized record refuses the whole call.
    await expect(
      j.appendMany([
        { action: "put", item_type: "t", item_id: "ok", payload: 1 },
        { action: "put", item_type: "t", item_id: "big", payload: big },
      ]),
    ).rejects.toMatchObject({ code: "journal_record_too_large" });
    expect(await sizes(dir)).toEqual(before);
    expect((await readAll(j)).map((r) => r.item_id)).toEqual(["a"]);
    // Just under the limit is accepted.
    const { seq } = await j.append({ action: "put", item_type: "t", item_id: "fits", payload: "y".repeat(MAX_RECORD_BYTES - 1024) });
    expect(seq).toBe(2);
    await j.close();
  });

  it("a record over 64 KiB is written with a SNAP_JOURNAL_LARGE_RECORD warning", async () => {
    const dir = await tempDir();
    const j = await openJournal({ dir });
    const warnings: Array<{ code?: string }> = [];
    const onWarning = (w: Error & { code?: string }) => warnings.push(w);
    process.on("warning", onWarning);
    try {
      await j.append({ action: "put", item_type: "t", item_id: "small", payload: "a".repeat(1000) });
      await j.append({ action: "put", item_type: "t", item_id: "large", payload: "a".repeat(70 * 1024) });
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off("warning", onWarning);
    }
    expect(warnings.filter((w) => w.code === "SNAP_JOURNAL_LARGE_RECORD")).toHaveLength(1);
    await j.close();
  });

  it("invalid input is refused before anything is written", async () => {
    const dir = await tempDir();
    const j = await openJournal({ dir });
    await expect(j.append({ action: "delete", item_type: "t", item_id: "a", payload: 1 })).rejects.toMatchObject({ code: "invalid_argument" });
    await expect(j.append({ action: "", item_type: "t", item_id: "a" })).rejects.toMatchObject({ code: "invalid_argument" });
    await expect(j.append({ action: "put", item_type: "t", item_id: "a", payload: 1, extra: 1 } as never)).rejects.toMatchObject({ code: "invalid_argument" });
    expect(await readdir(join(dir, "segments"))).toEqual([]);
    await j.close();
    await expect(j.append({ action: "put", item_type: "t", item_id: "a" })).rejects.toMatchObject({ code: "closed" });
  });

  it("large payloads go to blobs/ and are referenced by payload_ref", async () => {
    const dir = await tempDir();
    const j = await openJournal({ dir });
    const data = Buffer.alloc(MAX_RECORD_BYTES * 2, 7);
    const ref = await j.putBlob(data);
    await j.append({ action: "put", item_type: "t", item_id: "b", payload_ref: ref });
    const st = await j.state();
    expect(st.get("t", "b")?.payload_ref).toEqual(ref);
    expect((await j.readBlob(ref)).equals(data)).toBe(true);
    await j.close();
  });
});
