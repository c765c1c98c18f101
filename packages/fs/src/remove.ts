/**
 * Durable removal: the one routine that makes names disappear so that they stay gone after a
 * power loss. unlink(2) (or, for a tree, one rename(2) out of the way) is the commit point:
 * from it on, no reader finds the name. The removal survives power loss once the directory
 * that held the name is fsynced, which is done once per directory for any number of names.
 *
 * - `removeFiles(paths)`: unlink every path (a missing one is reported, not an error), then
 *   fsync each distinct parent directory once ("always"), or hand the directories to a
 *   FsyncBatch ("batch"), or nothing ("never").
 * - `removeFile(path)`: the same for one path.
 * - `removeTree(path)`: renames the tree to a `.tmp-rm-*` name in the same directory (commit
 *   point: the tree disappears whole, never half), fsyncs that directory, then deletes the
 *   renamed tree bottom-up (symlinks are unlinked, never followed). A crash during the
 *   deletion leaves only `.tmp-*` debris, which isTmpName() recognizes.
 */
import { dirname, join } from "node:path";
import { SnapError } from "@snap/schema";
import type { FsyncBatch } from "./batch.js";
import { tmpNameIn } from "./publish.js";
import { type FsSeam, isCode, nodeFs } from "./seam.js";

export interface RemoveOptions {
  fs?: FsSeam;
  /**
   * "always" (default): fsync every parent directory before the promise resolves; the
   * removal then survives power loss. "batch": add the directories to `batch` (durable at
   * its flush()). "never": no fsync (atomic against process crashes only).
   */
  durability?: "always" | "batch" | "never";
  batch?: FsyncBatch;
}

export interface RemoveFilesResult {
  /** Paths this call unlinked. */
  removed: string[];
  /** Paths that did not exist (ENOENT or ENOTDIR). */
  missing: string[];
}

function settle(options: RemoveOptions): { fs: FsSeam; durability: "always" | "batch" | "never"; batch: FsyncBatch | undefined } {
  const durability = options.durability ?? "always";
  if (durability !== "always" && durability !== "batch" && durability !== "never") {
    throw new SnapError("invalid_argument", `durability must be "always", "batch" or "never", not ${JSON.stringify(durability)}`);
  }
  if (durability === "batch" && !options.batch) {
    throw new SnapError("invalid_argument", "durability 'batch' needs a batch to add the directories to");
  }
  return { fs: options.fs ?? nodeFs, durability, batch: options.batch };
}

async function makeDurable(dirs: Iterable<string>, fs: FsSeam, durability: "always" | "batch" | "never", batch: FsyncBatch | undefined): Promise<void> {
  if (durability === "never") return;
  for (const dir of dirs) {
    if (durability === "batch") batch?.addDir(dir);
    else await fs.syncDir(dir);
  }
}

/**
 * Unlinks every path (directories are refused by unlink: EISDIR/EPERM pass through), then
 * makes the removals durable with one fsync per distinct parent directory. Commit point of
 * each removal: its unlink. On an error the paths unlinked so far are still made durable
 * before the error is rethrown.
 */
export async function removeFiles(paths: Iterable<string>, options: RemoveOptions = {}): Promise<RemoveFilesResult> {
  const { fs, durability, batch } = settle(options);
  const removed: string[] = [];
  const missing: string[] = [];
  const dirs = new Set<string>();
  let failure: { error: unknown } | undefined;
  for (const path of paths) {
    try {
      await fs.unlink(path); // commit point of this name's removal
      removed.push(path);
      dirs.add(dirname(path));
    } catch (err) {
      if (isCode(err, "ENOENT") || isCode(err, "ENOTDIR")) {
        missing.push(path);
        continue;
      }
      failure = { error: err };
      break;
    }
  }
  await makeDurable(dirs, fs, durability, batch);
  if (failure !== undefined) throw failure.error;
  return { removed, missing };
}

/** Unlinks `path` and makes that durable; false when it did not exist. */
export async function removeFile(path: string, options: RemoveOptions = {}): Promise<boolean> {
  return (await removeFiles([path], options)).removed.length === 1;
}

/**
 * Removes the file, symlink or directory tree at `path` (a symlink is removed, never
 * followed). A directory is first renamed to a `.tmp-rm-*` name beside it (the commit
 * point: it disappears whole), the parent is fsynced per `durability`, then the renamed
 * tree is deleted bottom-up. Returns false when `path` did not exist.
 */
export async function removeTree(path: string, options: RemoveOptions = {}): Promise<boolean> {
  const { fs, durability, batch } = settle(options);
  let st;
  try {
    st = await fs.lstat(path);
  } catch (err) {
    if (isCode(err, "ENOENT") || isCode(err, "ENOTDIR")) return false;
    throw err;
  }
  if (!st.isDirectory()) return removeFile(path, options);
  const parent = dirname(path);
  const aside = tmpNameIn(parent, "rm");
  try {
    await fs.rename(path, aside); // commit point: the tree is gone from its name, whole
  } catch (err) {
    if (isCode(err, "ENOENT")) return false;
    throw err;
  }
  await makeDurable([parent], fs, durability, batch);
  await deleteTree(fs, aside);
  return true;
}

/** Deletes a tree bottom-up without following symlinks. Not durable: callers made it unreachable first. */
async function deleteTree(fs: FsSeam, path: string): Promise<void> {
  let st;
  try {
    st = await fs.lstat(path);
  } catch (err) {
    if (isCode(err, "ENOENT")) return;
    throw err;
  }
  if (st.isDirectory()) {
    for (const name of await fs.readdir(path)) await deleteTree(fs, join(path, name));
    try {
      await fs.rmdir(path);
    } catch (err) {
      if (!isCode(err, "ENOENT")) throw err;
    }
  } else {
    try {
      await fs.unlink(path);
    } catch (err) {
      if (!isCode(err, "ENOENT")) throw err;
    }
  }
}
