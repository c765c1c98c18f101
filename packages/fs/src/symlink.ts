/**
 * Durable symlink switch: the one routine that points a symbolic link at a new destination
 * atomically and durably. symlink(dest, tmp) in the link's directory -> rename(tmp, link)
 * (commit point: readers see the old or the new destination, never no link) -> fsync the
 * directory (the new name survives power loss).
 */
import { basename, dirname } from "node:path";
import { SnapError } from "@snap/schema";
import type { FsyncBatch } from "./batch.js";
import { tmpNameIn } from "./publish.js";
import { type FsSeam, nodeFs } from "./seam.js";

export interface SwapSymlinkOptions {
  fs?: FsSeam;
  /**
   * "always" (default): fsync the link's directory after the rename; once the promise
   * resolves the link survives power loss. "batch": add the directory to `batch` (durable at
   * its flush()). "never": no fsync (atomic against process crashes only).
   */
  durability?: "always" | "batch" | "never";
  batch?: FsyncBatch;
  /**
   * The temporary link's path (default: a `.tmp-*` name from tmpNameIn). Must be in the
   * same directory as the link; give one when your recovery sweeps its own debris by name.
   */
  tmpPath?: string;
}

/**
 * Points `linkPath` at `dest` (the text stored in the link, as given): creates the link if
 * absent, replaces it (atomically) if present. `linkPath`'s directory must exist. If the
 * rename fails, the temporary link is removed and the error rethrown; `linkPath` is untouched.
 */
export async function swapSymlink(linkPath: string, dest: string, options: SwapSymlinkOptions = {}): Promise<void> {
  const fs = options.fs ?? nodeFs;
  const durability = options.durability ?? "always";
  if (durability === "batch" && !options.batch) {
    throw new SnapError("invalid_argument", "durability 'batch' needs a batch to add the directory to");
  }
  const dir = dirname(linkPath);
  const tmp = options.tmpPath ?? tmpNameIn(dir, basename(linkPath));
  if (dirname(tmp) !== dir) {
    throw new SnapError("invalid_argument", "swapSymlink: tmpPath must be in the link's directory", { data: { tmpPath: tmp, linkPath } });
  }
  await fs.symlink(dest, tmp);
  try {
    await fs.rename(tmp, linkPath); // commit point: linkPath now names dest
  } catch (err) {
    await fs.unlink(tmp).catch(() => undefined);
    throw err;
  }
  if (durability === "always") await fs.syncDir(dir);
  else if (durability === "batch") options.batch?.addDir(dir);
}
