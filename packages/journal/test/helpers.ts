import { mkdtemp, readdir, rm, cp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { openJournal, type Journal, type OpenJournalOptions } from "../src/index.js";

export const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

const made: string[] = [];

export async function tempDir(prefix = "snap-journal-"): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

export async function cleanupTemps(): Promise<void> {
  while (made.length > 0) await rm(made.pop()!, { recursive: true, force: true });
}

export async function copyDir(from: string): Promise<string> {
  const to = await tempDir();
  await cp(from, to, { recursive: true });
  // A copied lock directory would belong to this (live) process: drop it.
  await rm(join(to, "lock"), { recursive: true, force: true });
  return to;
}

export async function segmentFiles(dir: string): Promise<string[]> {
  return (await readdir(join(dir, "segments"))).filter((n) => n.endsWith(".ndjson")).sort();
}

export async function fill(j: Journal, n: number, prefix = "k", durability: "sync" | "group" | "none" = "sync"): Promise<number[]> {
  const seqs: number[] = [];
  for (let i = 0; i < n; i++) seqs.push((await j.append({ action: "put", item_type: "t", item_id: `${prefix}${i % 5}`, payload: { i, prefix } }, { durability })).seq);
  return seqs;
}

export async function readAll(j: Journal, includeMeta = false): Promise<Array<Record<string, unknown> & { seq: number }>> {
  const out: Array<Record<string, unknown> & { seq: number }> = [];
  for await (const r of j.read({ includeMeta })) out.push(r);
  return out;
}

export async function withJournal<T>(opts: OpenJournalOptions, fn: (j: Journal) => Promise<T>): Promise<T> {
  const j = await openJournal(opts);
  try {
    return await fn(j);
  } finally {
    await j.close();
  }
}

/** Reads from `fromSeq` until the end or an error: the seqs yielded, and the error's code if one stopped it. */
export async function readUntilError(j: Journal, fromSeq = 1): Promise<{ seqs: number[]; code: unknown }> {
  const seqs: number[] = [];
  let code: unknown;
  try {
    for await (const r of j.read({ fromSeq })) seqs.push(r.seq);
  } catch (err) {
    code = (err as { code?: unknown }).code;
  }
  return { seqs, code };
}
