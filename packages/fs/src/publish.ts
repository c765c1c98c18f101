/**
 * Atomic publish: the one routine that makes a new file appear under its final name,
 * complete or not at all. tmp in the target directory -> write -> fsync -> link/rename ->
 * fsync the directory. Every snap package publishes files through here.
 *
 * The protocol is written once, as a generator of seam calls (`publishSteps`), and run by
 * one of two drivers: `runAsync` through the seam's async API, or `runSync` through its
 * synchronous facet (`FsSeam.sync`). publishFile takes the synchronous route for small
 * buffers when nothing is fsynced (durability "never" or "batch"): the tmp write, link and
 * unlink then cost microseconds each instead of a thread-pool round trip each. With
 * durability "always" the fsyncs dominate and must not block the event loop, so it stays
 * asynchronous.
 */
import { randomBytes } from "node:crypto";
import { basename, dirname, join } from "node:path";
import { SnapError } from "@snap/schema";
import { FsyncBatch } from "./batch.js";
import { type FsSeam, type FsSyncFacet, type SeamStats, isCode, nodeFs } from "./seam.js";

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
  /**
   * publishFile: buffers up to this many bytes, with durability "never" or "batch", are
   * published with synchronous calls when the seam has a sync facet (default 64 KiB;
   * 0: always asynchronous). Nothing changes in what is written or promised.
   */
  syncMax?: number;
}

/** Default `syncMax`: a 64 KiB write to the page cache takes ~10-20 us. */
export const SYNC_PUBLISH_MAX = 64 * 1024;

let tmpCounter = 0;
/**
 * Drawn once per process: with the pid and the counter it keeps names unique across processes
 * that reuse a pid (a crashed one's debris), without a randomBytes call per name (~6% of a
 * many-small-files commit).
 */
let tmpNonce: string | undefined;

/**
 * A fresh temporary name in `dir`. The `.tmp-` prefix marks it as debris that readers
 * (object listings, ref listings) skip and that GC may remove once it is old.
 */
export function tmpNameIn(dir: string, hint = "f"): string {
  tmpCounter = (tmpCounter + 1) % 0x7fffffff;
  const safeHint = hint.replace(/[^A-Za-z0-9_-]/g, "").slice(0, 16) || "f";
  tmpNonce ??= randomBytes(4).toString("hex");
  return join(dir, `.tmp-${safeHint}-${process.pid}-${tmpNonce}-${tmpCounter}`);
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
  const steps = publishNewSteps(path, data, { ...options, durability });
  const facet = fs.sync;
  if (facet !== undefined && durability !== "always" && data.byteLength <= (options.syncMax ?? SYNC_PUBLISH_MAX)) {
    return runSync(steps, facet);
  }
  return runAsync(steps, fs);
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
  const durability = options.durability ?? "always";
  return runAsync(publishSteps(tmpPath, path, { ...options, durability }), options.fs ?? nodeFs);
}

// ---- the protocol, once --------------------------------------------------------------------

/** One seam call, runnable through the async API or the sync facet (same errors either way). */
interface SeamCall<T> {
  viaAsync(fs: FsSeam): Promise<T>;
  viaSync(facet: FsSyncFacet): T;
}
type Steps<T> = Generator<SeamCall<unknown>, T, unknown>;

/** `yield* call(x)`: runs one seam call in whichever driver runs the steps; throws its error. */
function* call<T>(c: SeamCall<T>): Steps<T> {
  return (yield c) as T;
}

function runSync<T>(steps: Steps<T>, facet: FsSyncFacet): T {
  let next = steps.next();
  while (!next.done) {
    let value: unknown;
    try {
      value = next.value.viaSync(facet);
    } catch (err) {
      next = steps.throw(err);
      continue;
    }
    next = steps.next(value);
  }
  return next.value;
}

async function runAsync<T>(steps: Steps<T>, fs: FsSeam): Promise<T> {
  let next = steps.next();
  while (!next.done) {
    let value: unknown;
    try {
      value = await next.value.viaAsync(fs);
    } catch (err) {
      next = steps.throw(err);
      continue;
    }
    next = steps.next(value);
  }
  return next.value;
}

const noFsyncInSync = (): never => {
  throw new SnapError("internal", "fsync is never run through the synchronous facet");
};

/** Creates `tmp` holding `data` (exclusive create), fsynced first when `fsync`. */
const writeNewFile = (tmp: string, data: Uint8Array, fileMode: number, fsync: boolean): SeamCall<void> => ({
  async viaAsync(fs) {
    const file = await fs.open(tmp, "wx", fileMode);
    try {
      await file.write(data, 0);
      if (fsync) await file.sync();
    } finally {
      await file.close();
    }
  },
  viaSync: (facet) => (fsync ? noFsyncInSync() : facet.writeFileExcl(tmp, data, fileMode)),
});
const link = (from: string, to: string): SeamCall<void> => ({
  viaAsync: (fs) => fs.link(from, to),
  viaSync: (facet) => facet.link(from, to),
});
const rename = (from: string, to: string): SeamCall<void> => ({
  viaAsync: (fs) => fs.rename(from, to),
  viaSync: (facet) => facet.rename(from, to),
});
const unlink = (path: string): SeamCall<void> => ({
  viaAsync: (fs) => fs.unlink(path),
  viaSync: (facet) => facet.unlink(path),
});
const lstat = (path: string): SeamCall<SeamStats> => ({
  viaAsync: (fs) => fs.lstat(path),
  viaSync: (facet) => facet.lstat(path),
});
const syncDir = (path: string): SeamCall<void> => ({
  viaAsync: (fs) => fs.syncDir(path),
  viaSync: noFsyncInSync,
});

type ResolvedOptions = PublishOptions & { durability: "always" | "batch" | "never" };

/** publishFile: write a tmp file next to `path`, then publish it (removing it on failure). */
function* publishNewSteps(path: string, data: Uint8Array, options: ResolvedOptions): Steps<PublishResult> {
  checkBatch(options);
  const tmp = tmpNameIn(dirname(path), basename(path));
  try {
    yield* call(writeNewFile(tmp, data, options.fileMode ?? 0o644, options.durability === "always"));
    return yield* publishSteps(tmp, path, options);
  } catch (err) {
    try {
      yield* call(unlink(tmp));
    } catch {
      // never created, or already gone
    }
    throw err;
  }
}

/** publishTmpFile: link (or rename) the tmp file into place, remove it, make it durable. */
function* publishSteps(tmpPath: string, path: string, options: ResolvedOptions): Steps<PublishResult> {
  checkBatch(options);
  const { durability } = options;
  let result: PublishResult;
  if ((options.mode ?? "no-clobber") === "replace") {
    let existed = true;
    try {
      yield* call(lstat(path));
    } catch (err) {
      if (!isCode(err, "ENOENT")) throw err;
      existed = false;
    }
    yield* call(rename(tmpPath, path)); // commit point
    result = existed ? "replaced" : "created";
  } else {
    try {
      yield* call(link(tmpPath, path)); // commit point (never overwrites)
      result = "created";
    } catch (err) {
      if (isCode(err, "EEXIST")) {
        result = "exists";
      } else if (isCode(err, "EPERM") || isCode(err, "ENOTSUP") || isCode(err, "EOPNOTSUPP")) {
        // Filesystems without hard links (FAT, some SMB mounts): fall back to rename after
        // an existence check. The window between the two is harmless for content-addressed
        // names (both writers publish the same bytes) and documented for everything else.
        result = yield* renameIfAbsent(tmpPath, path);
      } else {
        throw err;
      }
    }
    try {
      yield* call(unlink(tmpPath));
    } catch (err) {
      if (!isCode(err, "ENOENT")) throw err;
    }
  }
  if (result !== "exists") {
    if (durability === "always") yield* call(syncDir(dirname(path)));
    else if (durability === "batch") {
      options.batch?.addFile(path);
      options.batch?.addDir(dirname(path));
    }
  }
  return result;
}

function* renameIfAbsent(tmpPath: string, path: string): Steps<PublishResult> {
  try {
    yield* call(lstat(path));
    return "exists";
  } catch (err) {
    if (!isCode(err, "ENOENT")) throw err;
  }
  yield* call(rename(tmpPath, path)); // commit point (fallback)
  return "created";
}

/** Bad input is refused before anything is written. */
function checkBatch(options: ResolvedOptions): void {
  if (options.durability === "batch" && !options.batch) {
    throw new SnapError("invalid_argument", "durability 'batch' needs a batch to add the file to");
  }
}

/** fsync a directory so the names created in it survive power loss. */
export async function fsyncDir(path: string, fs: FsSeam = nodeFs): Promise<void> {
  await fs.syncDir(path);
}

export interface EnsureDirOptions {
  fs?: FsSeam;
  /** "always" (default): fsync the parent now; "batch": add the parent to `batch`; "never": nothing. */
  durability?: "always" | "batch" | "never";
  batch?: FsyncBatch;
}

/**
 * Creates the directory `path` if it is missing (its parent must exist) and makes its name
 * durable: whether this call created it or an earlier, maybe non-durable, writer did, a file
 * published inside it is only as durable as the directory's own entry in its parent.
 */
export async function ensureDir(path: string, options: EnsureDirOptions = {}): Promise<void> {
  const fs = options.fs ?? nodeFs;
  try {
    await fs.mkdir(path);
  } catch (err) {
    if (!isCode(err, "EEXIST")) throw err;
  }
  const durability = options.durability ?? "always";
  if (durability === "always") await fsyncDir(dirname(path), fs);
  else if (durability === "batch") {
    if (!options.batch) throw new SnapError("invalid_argument", "durability 'batch' needs a batch to add the directory to");
    options.batch.addDir(dirname(path));
  }
}
