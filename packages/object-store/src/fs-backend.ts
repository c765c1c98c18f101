/**
 * The filesystem backend: one file per object under `<dir>/<2 hex>/<62 hex>` (format.ts,
 * FORMAT.md). Every write goes through @snap/fs: `publishFile` / `publishTmpFile` (tmp ->
 * write -> [fsync] -> link(2) or rename(2) -> [fsync dir]) and `FsyncBatch`. No bytes are
 * written here by any other route.
 *
 * Durability (`fsync`):
 * - "always": a write resolves after the file and its directory entry are fsynced.
 * - "batch":  a write resolves once published (visible, not durable); `flush()` fsyncs every
 *             file written since the last flush, then their directories.
 * - "never":  no fsync; the OS writes back when it likes.
 *
 * Small objects in "never"/"batch" mode are published with synchronous calls through the
 * seam's sync facet (publishFile decides; see @snap/fs), and small reads use the facet too
 * (`syncReadMax`): no call here reaches node:fs directly.
 */
import { dirname, join } from "node:path";
import { isSnapError, SnapError } from "@snap/schema";
import {
  type FsSeam,
  FsyncBatch,
  ensureDir,
  fsyncDir,
  isCode,
  isTmpName,
  nodeFs,
  publishFile,
  publishTmpFile,
  removeFiles,
  type SeamFile,
  tmpNameIn,
} from "@snap/fs";
import type { FsyncMode, ObjectBackend, ObjectInfo, PublishOutcome, StagedObject, WriteMode } from "./backend.js";
import { FANOUT_NAME, OBJECT_FILE_MODE, STAGING_DIR_NAME, objectPath, oidFromNames } from "./format.js";
import { PACK_DIR_NAME } from "./pack.js";
import { PackSet } from "./pack-set.js";

export interface FsBackendOptions {
  /** The objects directory (created if missing). snap's store passes `<store>/objects`. */
  dir: string;
  fsync?: FsyncMode;
  /** The filesystem seam (default: the real filesystem). Tests pass a fault-injecting one. */
  fs?: FsSeam;
  /**
   * Staging directory for streamed puts. Must be on the same filesystem as `dir` (objects
   * are hard-linked out of it). Default `<dir>/tmp`.
   */
  tmpDir?: string;
  /** How many fsyncs `flush()` runs at once (default 16). */
  flushConcurrency?: number;
  /**
   * Buffered reads of objects up to this many bytes go through the seam's synchronous facet
   * (`fs.sync.readFileUpTo`), which skips libuv's thread pool (several times faster for
   * small objects; they block the event loop for a few microseconds from the page cache).
   * Only when the seam has a sync facet. Default 64 KiB; 0 turns it off.
   */
  syncReadMax?: number;
  /**
   * Streamed puts with fsync "always": start writing the staging file back to disk (a
   * background fdatasync) every this many bytes, so the disk works while the rest is hashed
   * and written, and the final fsync has only the tail left. Default 32 MiB; 0: off.
   */
  writebackEvery?: number;
  /**
   * Pack small objects (FORMAT.md, "Packs"): buffered puts up to `maxObjectBytes` are kept in
   * memory and written together as one pack file at `flush()` / `close()`, or whenever
   * `maxPackBytes` are pending. Only with fsync "batch" or "never". Until the flush, such an
   * object is visible to this process only and is lost if the process dies (in "batch" mode
   * nothing is promised before flush() anyway). Default off.
   */
  pack?: boolean | PackOptions;
}

export interface PackOptions {
  /** Largest object that goes into a pack (default 1 MiB); larger ones stay loose files. */
  maxObjectBytes?: number;
  /** Pending bytes that make a pack be written before the next flush (default 32 MiB). */
  maxPackBytes?: number;
}

const DEFAULT_PACK_OBJECT_MAX = 1024 * 1024;
const DEFAULT_PACK_BYTES = 32 * 1024 * 1024;

const FIRST_READ = 64 * 1024;
const READ_CHUNK = 1024 * 1024;
const DEFAULT_SYNC_READ_MAX = 64 * 1024;
const DEFAULT_WRITEBACK_EVERY = 32 * 1024 * 1024;

/** Opens (creating if needed) a filesystem backend. */
export async function createFsBackend(options: FsBackendOptions): Promise<ObjectBackend> {
  if (typeof options.dir !== "string" || options.dir === "") {
    throw new SnapError("invalid_argument", "createFsBackend needs a `dir`");
  }
  const fsync = options.fsync ?? "always";
  if (fsync !== "always" && fsync !== "batch" && fsync !== "never") {
    throw new SnapError("invalid_argument", `fsync must be "always", "batch" or "never", not ${JSON.stringify(fsync)}`);
  }
  const fs = options.fs ?? nodeFs;
  const syncReadMax = fs.sync ? Math.max(0, options.syncReadMax ?? DEFAULT_SYNC_READ_MAX) : 0;
  const staging = options.tmpDir ?? join(options.dir, STAGING_DIR_NAME);
  const writebackEvery = fsync === "always" ? Math.max(0, options.writebackEvery ?? DEFAULT_WRITEBACK_EVERY) : 0;
  let pack: Required<PackOptions> | undefined;
  if (options.pack !== undefined && options.pack !== false) {
    if (fsync === "always") {
      throw new SnapError("invalid_argument", 'pack needs fsync "batch" or "never": with "always" every put must be durable on its own', {
        hint: 'use fsync: "batch" and call flush() before relying on the objects',
      });
    }
    const given = options.pack === true ? {} : options.pack;
    pack = {
      maxObjectBytes: positive(given.maxObjectBytes, DEFAULT_PACK_OBJECT_MAX, "pack.maxObjectBytes"),
      maxPackBytes: positive(given.maxPackBytes, DEFAULT_PACK_BYTES, "pack.maxPackBytes"),
    };
  }
  const backend = new FsObjectBackend(options.dir, staging, fsync, fs, options.flushConcurrency ?? 16, syncReadMax, writebackEvery, pack);
  await backend.init();
  return backend;
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    throw new SnapError("invalid_argument", `${name} must be a positive integer, not ${JSON.stringify(value)}`);
  }
  return value;
}

class FsObjectBackend implements ObjectBackend {
  readonly kind = "fs";
  /** Packing (see FsBackendOptions.pack): the packs on disk, and the objects not yet in one. */
  private readonly packs: PackSet;
  private pending = new Map<string, Buffer>();
  private pendingBytes = 0;
  /** When each pending object was put or last re-confirmed (its mtime until it is packed). */
  private readonly pendingAt = new Map<string, number>();
  /** Pending sets being written as packs: still readable from here until they are published. */
  private readonly sealed = new Set<Map<string, Buffer>>();
  private packing: Promise<void> = Promise.resolve();
  /** Fan-out directories known to exist (and, in durable modes, to have a durable name). */
  private readonly fanouts = new Set<string>();
  private readonly batch: FsyncBatch | undefined;

  constructor(
    private readonly dir: string,
    private readonly tmpDir: string,
    private readonly fsync: FsyncMode,
    private readonly fs: FsSeam,
    flushConcurrency: number,
    private readonly syncReadMax: number,
    /** @internal read by FsStagedObject. */
    readonly writebackEvery: number,
    private readonly packOptions: Required<PackOptions> | undefined,
  ) {
    this.batch = fsync === "batch" ? new FsyncBatch({ fs, concurrency: flushConcurrency }) : undefined;
    this.packs = new PackSet(dir, fs, fsync, this.batch, syncReadMax);
  }

  /** A pending (unpacked) object's bytes, from the current set or one being written. */
  private pendingGet(oid: string): Buffer | undefined {
    const hit = this.pending.get(oid);
    if (hit !== undefined) return hit;
    for (const set of this.sealed) {
      const sealedHit = set.get(oid);
      if (sealedHit !== undefined) return sealedHit;
    }
    return undefined;
  }

  /**
   * Writes everything pending as one pack (after any pack already being written). On failure
   * the objects go back to pending, so a later flush() tries again with a fresh file.
   */
  private sealPending(): Promise<void> {
    const packs = this.packs;
    if (this.pending.size === 0) return this.packing;
    const set = this.pending;
    this.pending = new Map();
    this.pendingBytes = 0;
    this.sealed.add(set);
    const run = this.packing.then(() => packs.publish(set)).then(
      () => {
        this.sealed.delete(set);
        for (const oid of set.keys()) if (!this.pending.has(oid)) this.pendingAt.delete(oid);
      },
      (err: unknown) => {
        for (const [oid, data] of set) {
          if (!this.pending.has(oid)) {
            this.pending.set(oid, data);
            this.pendingBytes += data.byteLength;
          }
        }
        this.sealed.delete(set);
        throw err;
      },
    );
    this.packing = run.catch(() => undefined);
    return run;
  }

  /** Whether a loose object file exists for `oid`. */
  private async looseExists(oid: string): Promise<boolean> {
    return (await this.looseStat(oid)) !== undefined;
  }

  async init(): Promise<void> {
    await this.fs.mkdir(this.dir, { recursive: true });
    await this.fs.mkdir(this.tmpDir, { recursive: true });
    // The objects directory's own name must survive power loss before any object in it can.
    if (this.fsync === "always") await fsyncDir(dirname(this.dir), this.fs);
    else if (this.batch) this.batch.addDir(dirname(this.dir));
  }

  /** Makes sure the object's fan-out directory exists (cached: one mkdir per prefix per process). */
  private async fanout(oid: string): Promise<void> {
    const prefix = oid.slice(0, 2);
    if (this.fanouts.has(prefix)) return;
    await ensureDir(join(this.dir, prefix), { fs: this.fs, durability: this.fsync, batch: this.batch });
    this.fanouts.add(prefix);
  }

  private publishOptions(mode: WriteMode) {
    return { fs: this.fs, mode, durability: this.fsync, batch: this.batch, fileMode: OBJECT_FILE_MODE } as const;
  }

  async write(oid: string, data: Uint8Array, mode: WriteMode): Promise<PublishOutcome> {
    const packing = this.packOptions;
    if (packing !== undefined && mode === "no-clobber" && data.byteLength <= packing.maxObjectBytes) {
      if (await this.exists(oid)) return "exists";
      this.pending.set(oid, Buffer.from(data)); // ours: the caller may reuse its buffer
      this.pendingAt.set(oid, Date.now());
      this.pendingBytes += data.byteLength;
      if (this.pendingBytes >= packing.maxPackBytes) await this.sealPending();
      return "created";
    }
    // Loose: large objects, unpacked stores, and repairs (a loose copy is read before a packed one).
    if (mode === "no-clobber" && (await this.packs.locate(oid)) !== undefined) return "exists";
    return this.writeLoose(oid, data, mode);
  }

  private async writeLoose(oid: string, data: Uint8Array, mode: WriteMode): Promise<PublishOutcome> {
    await this.fanout(oid);
    const path = objectPath(this.dir, oid);
    try {
      return await publishFile(path, data, this.publishOptions(mode));
    } catch (err) {
      // The fan-out directory was removed behind our back (e.g. by a sweep of empty dirs).
      if (!isCode(err, "ENOENT")) throw err;
      this.fanouts.delete(oid.slice(0, 2));
      await this.fanout(oid);
      return publishFile(path, data, this.publishOptions(mode));
    }
  }

  async stage(): Promise<StagedObject> {
    const tmp = tmpNameIn(this.tmpDir, "stream");
    let file: SeamFile;
    try {
      file = await this.fs.open(tmp, "wx", OBJECT_FILE_MODE);
    } catch (err) {
      if (!isCode(err, "ENOENT")) throw err;
      await this.fs.mkdir(this.tmpDir, { recursive: true });
      file = await this.fs.open(tmp, "wx", OBJECT_FILE_MODE);
    }
    return new FsStagedObject(this, file, tmp);
  }

  /** @internal used by FsStagedObject. */
  async publishStaged(tmp: string, oid: string, mode: WriteMode): Promise<PublishOutcome> {
    await this.fanout(oid);
    return publishTmpFile(tmp, objectPath(this.dir, oid), this.publishOptions(mode));
  }

  /** @internal */
  get syncsEachWrite(): boolean {
    return this.fsync === "always";
  }

  /** @internal */
  get seam(): FsSeam {
    return this.fs;
  }

  async read(oid: string): Promise<Buffer> {
    const pending = this.pendingGet(oid);
    if (pending !== undefined) return Buffer.from(pending); // a copy: the caller may modify it
    // A loose copy wins over a packed one (a repair is written loose). Where a stat that
    // misses is cheap, ask it first and go straight to the pack (in a store that has packs).
    const facet = this.syncReadMax > 0 ? this.fs.sync : undefined;
    if (facet !== undefined && (this.packOptions !== undefined || this.packs.count > 0) && facet.statIfExists(objectPath(this.dir, oid)) === undefined) {
      const packed = await this.packs.read(oid);
      if (packed !== undefined) return packed;
    }
    try {
      return await this.readLoose(oid);
    } catch (err) {
      if (!isSnapError(err, "object_not_found")) throw err;
      const packed = await this.packs.read(oid);
      if (packed === undefined) throw err;
      return packed;
    }
  }

  private async readLoose(oid: string): Promise<Buffer> {
    const path = objectPath(this.dir, oid);
    const facet = this.fs.sync;
    if (this.syncReadMax > 0 && facet !== undefined) {
      let small: Buffer | undefined;
      try {
        small = facet.readFileUpTo(path, this.syncReadMax);
      } catch (err) {
        throw notFoundOr(err, oid);
      }
      if (small !== undefined) return small;
    }
    let file: SeamFile;
    try {
      file = await this.fs.open(path, "r");
    } catch (err) {
      throw notFoundOr(err, oid);
    }
    try {
      // open + one read + close for a small object (fs.readFile adds an fstat and a read).
      const chunks: Buffer[] = [];
      let position = 0;
      let size = FIRST_READ;
      for (;;) {
        const buf = Buffer.allocUnsafe(size);
        const n = await file.read(buf, 0, size, position);
        position += n;
        if (n < size) {
          // A short read of a regular file is its end.
          if (chunks.length === 0) return Buffer.from(buf.subarray(0, n)); // exact-size copy
          chunks.push(buf.subarray(0, n));
          return Buffer.concat(chunks, position);
        }
        chunks.push(buf);
        size = READ_CHUNK;
      }
    } finally {
      await file.close();
    }
  }

  async *readChunks(oid: string): AsyncIterable<Uint8Array> {
    let file: SeamFile;
    try {
      file = await this.fs.open(objectPath(this.dir, oid), "r");
    } catch (err) {
      const notFound = notFoundOr(err, oid);
      if (!isSnapError(notFound, "object_not_found")) throw notFound;
      // Pending and packed objects are at most pack.maxObjectBytes: one chunk.
      const small = this.pendingGet(oid) ?? (await this.packs.read(oid));
      if (small === undefined) throw notFound;
      yield Buffer.from(small);
      return;
    }
    try {
      let position = 0;
      let size = FIRST_READ;
      for (;;) {
        const buf = Buffer.allocUnsafe(size);
        const n = await file.read(buf, 0, size, position);
        if (n === 0) return;
        position += n;
        yield n === size ? buf : buf.subarray(0, n);
        size = READ_CHUNK;
      }
    } finally {
      await file.close();
    }
  }

  async exists(oid: string): Promise<boolean> {
    return this.pendingGet(oid) !== undefined || (await this.looseExists(oid)) || (await this.packs.locate(oid)) !== undefined;
  }

  async stat(oid: string): Promise<ObjectInfo | undefined> {
    const pending = this.pendingGet(oid);
    if (pending !== undefined) return { size: pending.byteLength, mtimeMs: this.pendingAt.get(oid) ?? Date.now() };
    return (await this.looseStat(oid)) ?? (await this.packs.stat(oid));
  }

  private async looseStat(oid: string): Promise<ObjectInfo | undefined> {
    const path = objectPath(this.dir, oid);
    // One stat is a dentry-cache lookup (a microsecond or two): through the sync facet when
    // small reads use it, instead of a thread-pool round trip (`has()` of a thousand objects
    // in a commit's existence checks: ~2 ms instead of ~70 ms).
    const facet = this.syncReadMax > 0 ? this.fs.sync : undefined;
    if (facet !== undefined) {
      const st = facet.statIfExists(path);
      return st === undefined ? undefined : { size: st.size, mtimeMs: st.mtimeMs };
    }
    try {
      const st = await this.fs.stat(path);
      return { size: st.size, mtimeMs: st.mtimeMs };
    } catch (err) {
      if (isCode(err, "ENOENT") || isCode(err, "ENOTDIR")) return undefined;
      throw err;
    }
  }

  async freshen(oid: string): Promise<void> {
    if (this.pendingGet(oid) !== undefined) {
      this.pendingAt.set(oid, Date.now()); // its pack gets a fresh time when it is written
      return;
    }
    const path = objectPath(this.dir, oid);
    const now = new Date();
    try {
      await this.fs.utimes(path, now, now);
    } catch (err) {
      if (isCode(err, "ENOENT") && (await this.packs.freshen(oid))) return; // its pack was made durable when written
      // An object owned by another user cannot have its times set (EPERM): it is intact,
      // only its GC grace period is not extended. Like git, carry on.
      if (!isCode(err, "EPERM") && !isCode(err, "EACCES")) throw notFoundOr(err, oid);
    }
    // The existing object may have been written by a writer that did not fsync: make it
    // as durable as this write promises.
    if (this.fsync === "always") {
      const file = await this.fs.open(path, "r");
      try {
        await file.sync();
      } finally {
        await file.close();
      }
      await this.fanout(oid);
      await fsyncDir(dirname(path), this.fs);
    } else if (this.batch) {
      await this.fanout(oid);
      this.batch.addFile(path);
      this.batch.addDir(dirname(path));
    }
  }

  /** Loose objects, then packed and pending ones that have no loose copy (each oid once). */
  async *list(): AsyncIterable<string> {
    const seen = new Set<string>();
    for await (const oid of this.listLoose()) {
      seen.add(oid);
      yield oid;
    }
    yield* this.packedAndPending(seen, "");
  }

  /** Packed and pending oids starting with `prefix` that are not in `seen`, each once. */
  private async *packedAndPending(seen: Set<string>, prefix: string): AsyncIterable<string> {
    const all = [...(await this.packs.oids()), ...[...this.sealed, this.pending].flatMap((set) => [...set.keys()])];
    for (const oid of all) {
      if (!oid.startsWith(prefix) || seen.has(oid)) continue;
      seen.add(oid);
      yield oid;
    }
  }

  private async *listLoose(): AsyncIterable<string> {
    let fanouts: string[];
    try {
      fanouts = await this.fs.readdir(this.dir);
    } catch (err) {
      if (isCode(err, "ENOENT")) return;
      throw err;
    }
    fanouts.sort();
    for (const fanout of fanouts) {
      if (!FANOUT_NAME.test(fanout)) continue;
      let names: string[];
      try {
        names = await this.fs.readdir(join(this.dir, fanout));
      } catch (err) {
        if (isCode(err, "ENOENT") || isCode(err, "ENOTDIR")) continue;
        throw err;
      }
      for (const name of names) {
        const oid = oidFromNames(fanout, name);
        if (oid !== undefined) yield oid;
      }
    }
  }

  async *listPrefix(prefix: string): AsyncIterable<string> {
    const seen = new Set<string>();
    for await (const oid of this.listLoosePrefix(prefix)) {
      seen.add(oid);
      yield oid;
    }
    yield* this.packedAndPending(seen, prefix);
  }

  private async *listLoosePrefix(prefix: string): AsyncIterable<string> {
    const fanout = prefix.slice(0, 2);
    const rest = prefix.slice(2);
    let names: string[];
    try {
      names = await this.fs.readdir(join(this.dir, fanout));
    } catch (err) {
      if (isCode(err, "ENOENT") || isCode(err, "ENOTDIR")) return;
      throw err;
    }
    for (const name of names) {
      if (!name.startsWith(rest)) continue;
      const oid = oidFromNames(fanout, name);
      if (oid !== undefined) yield oid;
    }
  }

  /**
   * Removes every copy of each oid: pending, loose (unlink), packed (the pack is rewritten
   * without it, see PackSet.remove). Pending packs are written first, so no removal races
   * a pack write of the same objects.
   */
  async remove(oids: string[]): Promise<{ removed: string[]; missing: string[] }> {
    await this.packing;
    const removed = new Set<string>();
    for (const oid of oids) {
      const data = this.pending.get(oid);
      if (data === undefined) continue;
      this.pending.delete(oid);
      this.pendingAt.delete(oid);
      this.pendingBytes -= data.byteLength;
      removed.add(oid);
    }
    const byPath = new Map(oids.map((oid) => [objectPath(this.dir, oid), oid]));
    // @snap/fs removeFiles: unlink each (commit point), then one fsync per fan-out directory
    // ("always"), or the directories handed to the flush batch ("batch").
    const result = await removeFiles(byPath.keys(), { fs: this.fs, durability: this.fsync, batch: this.batch });
    for (const p of result.removed) removed.add(byPath.get(p) as string);
    for (const oid of await this.packs.remove(new Set(oids))) removed.add(oid);
    return { removed: oids.filter((oid) => removed.has(oid)), missing: oids.filter((oid) => !removed.has(oid)) };
  }

  async damaged(): Promise<{ name: string; reason: string }[]> {
    await this.packs.refresh(true);
    return [...this.packs.damaged].map(([name, reason]) => ({ name: `${PACK_DIR_NAME}/${name}.pack`, reason })).sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  /**
   * Flushes run one after another: a flush() that starts while another is fsyncing must not
   * resolve before the objects that one took are durable (FsyncBatch alone would return at
   * once with an empty batch).
   */
  flush(): Promise<void> {
    const batch = this.batch;
    const sealing = this.sealPending();
    if (!batch) return sealing;
    const run = this.flushing.then(() => sealing).then(() => batch.flush());
    this.flushing = run.then(
      () => undefined,
      () => undefined,
    );
    return run.then(() => undefined);
  }

  private flushing: Promise<void> = Promise.resolve();

  async cleanTmp({ olderThanMs }: { olderThanMs: number }): Promise<{ removed: number }> {
    const cutoff = Date.now() - olderThanMs;
    const dirs = [this.tmpDir, join(this.dir, PACK_DIR_NAME)];
    for (const name of await this.fs.readdir(this.dir).catch(() => [] as string[])) {
      if (FANOUT_NAME.test(name)) dirs.push(join(this.dir, name));
    }
    let removed = 0;
    for (const dir of dirs) {
      let names: string[];
      try {
        names = await this.fs.readdir(dir);
      } catch (err) {
        if (isCode(err, "ENOENT") || isCode(err, "ENOTDIR")) continue;
        throw err;
      }
      for (const name of names) {
        if (!isTmpName(name)) continue;
        const path = join(dir, name);
        try {
          const st = await this.fs.lstat(path);
          if (!st.isFile() || st.mtimeMs >= cutoff) continue;
          await this.fs.unlink(path);
          removed++;
        } catch (err) {
          if (!isCode(err, "ENOENT")) throw err; // another cleaner or its writer got there first
        }
      }
    }
    return { removed };
  }

  async close(): Promise<void> {
    try {
      await this.flush();
    } finally {
      await this.packs.close();
    }
  }
}

class FsStagedObject implements StagedObject {
  private done = false;
  private unsynced = 0;
  /** The background fdatasync in flight (at most one), and the first error one reported. */
  private writeback: Promise<void> | undefined;
  private writebackError: unknown;

  constructor(
    private readonly backend: FsObjectBackend,
    private readonly file: SeamFile,
    private readonly tmp: string,
  ) {}

  async write(chunk: Uint8Array): Promise<void> {
    if (this.writebackError !== undefined) throw this.writebackError;
    await this.file.write(chunk);
    const every = this.backend.writebackEvery;
    if (every > 0 && (this.unsynced += chunk.byteLength) >= every && this.writeback === undefined) {
      // Early writeback: an fdatasync started now makes the disk work while the next chunks
      // are hashed and written (Node has no sync_file_range). It is not awaited here and it
      // promises nothing: durability still comes from the fsync in commit(), issued after
      // the last write. Its error, if any, fails the next write or the commit, and is never
      // forgotten: after a failed fsync Linux may report success for the next one although
      // the pages were dropped ("fsyncgate"), so nothing is published after one.
      this.unsynced = 0;
      this.writeback = this.file.datasync().then(
        () => {
          this.writeback = undefined;
        },
        (err: unknown) => {
          this.writeback = undefined;
          this.writebackError ??= err;
        },
      );
    }
  }

  /** Waits for the background fdatasync; rethrows its error. */
  private async settleWriteback(): Promise<void> {
    await this.writeback;
    if (this.writebackError !== undefined) throw this.writebackError;
  }

  async commit(oid: string, mode: WriteMode): Promise<PublishOutcome> {
    if (this.done) throw new SnapError("internal", "staged object already finished");
    this.done = true;
    try {
      try {
        await this.settleWriteback();
        if (this.backend.syncsEachWrite) await this.file.sync();
      } finally {
        await this.file.close();
      }
      // Commit point: the link(2) (or rename(2) for "replace") inside publishTmpFile.
      return await this.backend.publishStaged(this.tmp, oid, mode);
    } catch (err) {
      await this.backend.seam.unlink(this.tmp).catch(() => undefined);
      throw err;
    }
  }

  async abort(): Promise<void> {
    if (this.done) return;
    this.done = true;
    await this.settleWriteback().catch(() => undefined);
    await this.file.close().catch(() => undefined);
    await this.backend.seam.unlink(this.tmp).catch(() => undefined);
  }
}

function notFoundOr(err: unknown, oid: string): unknown {
  if (isCode(err, "ENOENT") || isCode(err, "ENOTDIR")) {
    return new SnapError("object_not_found", `no object ${oid}`, { data: { oid }, cause: err });
  }
  return err;
}
