/**
 * Where the journal's files are and how they are read (all reads and writes go through the
 * @snap/fs seam). Layout: FORMAT.md "Directory layout".
 */
import { dirname, join } from "node:path";
import { type FsSeam, isCode } from "@snap/fs";
import { parseCheckpointName, parseSegmentName } from "./format.js";
import { splitFrames, type DecodedRecord } from "./decode.js";

export interface JournalPaths {
  dir: string;
  segments: string;
  checkpoints: string;
  archive: string;
  archiveSegments: string;
  archiveCheckpoints: string;
  blobs: string;
  quarantine: string;
  tmp: string;
  meta: string;
}

export function journalPaths(dir: string): JournalPaths {
  return {
    dir,
    segments: join(dir, "segments"),
    checkpoints: join(dir, "checkpoints"),
    archive: join(dir, "archive"),
    archiveSegments: join(dir, "archive", "segments"),
    archiveCheckpoints: join(dir, "archive", "checkpoints"),
    blobs: join(dir, "blobs"),
    quarantine: join(dir, "quarantine"),
    tmp: join(dir, "tmp"),
    meta: join(dir, "meta.json"),
  };
}

export interface SegmentEntry {
  name: string;
  firstSeq: number;
  path: string;
}

async function readdirOrEmpty(fs: FsSeam, dir: string): Promise<string[]> {
  try {
    return await fs.readdir(dir);
  } catch (err) {
    if (isCode(err, "ENOENT")) return [];
    throw err;
  }
}

/** Segments in `dir`, oldest first. */
export async function listSegments(fs: FsSeam, dir: string): Promise<SegmentEntry[]> {
  const out: SegmentEntry[] = [];
  for (const name of await readdirOrEmpty(fs, dir)) {
    const firstSeq = parseSegmentName(name);
    if (firstSeq !== undefined) out.push({ name, firstSeq, path: join(dir, name) });
  }
  return out.sort((a, b) => a.firstSeq - b.firstSeq);
}

export interface CheckpointEntry {
  name: string;
  headSeq: number;
  path: string;
}

/** Checkpoints in `dir`, newest first. */
export async function listCheckpoints(fs: FsSeam, dir: string): Promise<CheckpointEntry[]> {
  const out: CheckpointEntry[] = [];
  for (const name of await readdirOrEmpty(fs, dir)) {
    const headSeq = parseCheckpointName(name);
    if (headSeq !== undefined) out.push({ name, headSeq, path: join(dir, name) });
  }
  return out.sort((a, b) => b.headSeq - a.headSeq);
}

/** Reads `[start, end)` of a file (end defaults to its size). */
export async function readRange(fs: FsSeam, path: string, start: number, end?: number): Promise<Buffer> {
  const f = await fs.open(path, "r");
  try {
    const stop = end ?? (await f.stat()).size;
    const len = Math.max(0, stop - start);
    const buf = Buffer.allocUnsafe(len);
    let off = 0;
    while (off < len) {
      const n = await f.read(buf, off, len - off, start + off);
      if (n === 0) break;
      off += n;
    }
    return off === len ? buf : buf.subarray(0, off);
  } finally {
    await f.close();
  }
}

export async function readWhole(fs: FsSeam, path: string): Promise<Buffer> {
  return readRange(fs, path, 0);
}

/** The first record of a segment, when it is an ok journal_header. */
export async function readHeader(fs: FsSeam, path: string): Promise<DecodedRecord | undefined> {
  const buf = await readRange(fs, path, 0, 8192);
  const frames = splitFrames(buf, 0, false);
  const first = frames[0];
  if (first?.kind === "ok" && first.record.type === "journal_header") return first.record;
  return undefined;
}

export async function ensureDir(fs: FsSeam, path: string): Promise<void> {
  await fs.mkdir(path, { recursive: true });
}

/**
 * Creates `path` (and missing parents) so that it survives power loss: each new directory's
 * parent is fsynced after the mkdir.
 */
export async function ensureDurableDir(fs: FsSeam, path: string): Promise<void> {
  try {
    await fs.stat(path);
    return;
  } catch (err) {
    if (!isCode(err, "ENOENT")) throw err;
  }
  const parent = dirname(path);
  if (parent !== path) await ensureDurableDir(fs, parent);
  try {
    await fs.mkdir(path);
  } catch (err) {
    if (!isCode(err, "EEXIST")) throw err;
    return;
  }
  await fs.syncDir(parent);
}

/** A segment's bytes; if it was moved to archive/ since it was listed, read it there. */
export async function readSegmentBytes(fs: FsSeam, paths: JournalPaths, entry: SegmentEntry): Promise<Buffer> {
  try {
    return await readWhole(fs, entry.path);
  } catch (err) {
    if (!isCode(err, "ENOENT")) throw err;
    return await readWhole(fs, join(paths.archiveSegments, entry.name));
  }
}
