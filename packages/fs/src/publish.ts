/**
 * Atomic publish: the one routine that makes a new file appear under its final name,
 * complete or not at all. tmp in the target directory -> write -> fsync -> link/rename ->
 * fsync the directory. Every snap package publishes files through here.
 */
import { randomBytes } from "node:crypto";
import { basename, dirname, join } from "node:path";
import { SnapError } from "@snap/schema";
import { FsyncBatch } from "./batch.js";
import { type FsSeam, isCode, nodeFs } from "./seam.js";

export type PublishMode =
  /** link(2): an existing name is never overwritten; result "exists". */
  | "no-clobber"
  /** rename(2): atomically replaces an existing name; result "replaced". */
  | "replace";

export type PublishResult = "created" | "exists" | "replaced";

export interface PublishOptions {
  fs?: FsSeam;
  mode?: PublishMode;
  /**
   * "always" (default): fsync the file before the link/rename and the directory after.
   * "batch": no fsync here; the file and its directory are added to `batch`, whose
   * `flush()` makes them durable. "never": no fsync at all.
   */
  durability?: "always" | "batch" | "never";
  batch?: FsyncBatch;
  /** File mode for a new file (default 0o644; objects use 0o444). */
  fileMode?: number;
}

let tmpCounter = 0;

/**
 * A fresh temporary name in `dir`. The `.tmp-` prefix marks it as debris that readers
 * (object listings, ref listings) skip and that GC may remove once it is old.
 */
export function tmpNameIn(dir: string, hint = "f"): string {
  tmpCounter = (tmpCounter + 1) % 0x7fffffff;
  const safeHint = hint.replace(/[^A-Za-z0-9_-]/g, "").slice(0, 16) || "f";
  return join(dir, `.tmp-${safeHint}-${process.pid}-${tmpCounter}-${randomBytes(4).toString("hex")}`);
}

export function isTmpName(name: string): boolean {
  return name.startsWith(".tmp-");
}

/** Writes `data` to a new file at `path` atomically (see module comment). */
export async function publishFile(
  path: string,
  data: Uint8Array,
  options: PublishOptions = {},
): Promise<PublishResult> {
  const fs = options.fs ?? nodeFs;
  const durability = options.durability ?? "always";
  const tmp = tmpNameIn(dirname(path), basename(path));
  const file = await fs.open(tmp, "wx", options.fileMode ?? 0o644);
  try {
    try {
      await file.write(data, 0);
      if (durability === "always") await file.sync();
    } finally {
      await file.close();
    }
    return await publishTmpFile(tmp, path, { ...options, fs, durability });
  } catch (err) {
    await fs.unlink(tmp).catch(() => undefined);
    throw err;
  }
}

/**
 * Publishes an already written (and, for durability "always", already fsynced) temporary
 * file under `path`, then removes the temporary name. The tmp file must be on the same
 * filesystem, ideally in the same directory. The commit point is the link(2) or rename(2);
 * with durability "always" the directory fsync that follows makes it survive power loss.
 */
export async function publishTmpFile(
  tmpPath: string,
  path: string,
  options: PublishOptions = {},
): Promise<PublishResult> {
  const fs = options.fs ?? nodeFs;
  const durability = options.durability ?? "always";
  const mode = options.mode ?? "no-clobber";
  let result: PublishResult;
  if (mode === "replace") {
    let existed = true;
    try {
      await fs.lstat(path);
    } catch (err) {
      if (!isCode(err, "ENOENT")) throw err;
      existed = false;
    }
    await fs.rename(tmpPath, path); // commit point
    result = existed ? "replaced" : "created";
  } else {
    try {
      await fs.link(tmpPath, path); // commit point (never overwrites)
      result = "created";
    } catch (err) {
      if (isCode(err, "EEXIST")) {
        result = "exists";
      } else if (isCode(err, "EPERM") || isCode(err, "ENOTSUP") || isCode(err, "EOPNOTSUPP")) {
        // Filesystems without hard links (FAT, some SMB mounts): fall back to rename after
        // an existence check. The window between the two is harmless for content-addressed
        // names (both writers publish the same bytes) and documented for everything else.
        result = await renameIfAbsent(fs, tmpPath, path);
      } else {
        throw err;
      }
    }
    await fs.unlink(tmpPath).catch((err: unknown) => {
      if (!isCode(err, "ENOENT")) throw err;
    });
  }
  if (result !== "exists") {
    if (durability === "always") await fs.syncDir(dirname(path));
    else if (durability === "batch") {
      if (!options.batch) {
        throw new SnapError("invalid_argument", "durability 'batch' needs a batch to add the file to");
      }
      options.batch.addFile(path);
      options.batch.addDir(dirname(path));
    }
  }
  return result;
}

async function renameIfAbsent(fs: FsSeam, tmpPath: string, path: string): Promise<PublishResult> {
  try {
    await fs.lstat(path);
    return "exists";
  } catch (err) {
    if (!isCode(err, "ENOENT")) throw err;
  }
  await fs.rename(tmpPath, path); // commit point (fallback)
  return "created";
}

/** fsync a directory so the names created in it survive power loss. */
export async function fsyncDir(path: string, fs: FsSeam = nodeFs): Promise<void> {
  await fs.syncDir(path);
}
