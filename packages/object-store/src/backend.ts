/**
 * The storage interface under an object store. A backend stores bytes under names it is
 * given; it never hashes. The store above it computes oids, verifies every read, detects
 * and repairs corrupt objects, and validates structured objects, so every backend gets the
 * same guarantees from the same code (and passes the same contract tests).
 *
 * Implementations: `createFsBackend` (files under a directory; the default) and
 * `createMemoryBackend` (tests, caches). An S3-compatible backend maps `write(...,
 * "no-clobber")` to a conditional PUT (If-None-Match: *), "replace" to a plain PUT,
 * `stage()` to a multipart upload under a temporary key, and `freshen` to a metadata copy.
 */

/** What a publish did: made a new name, found the name taken, or replaced the bytes under it. */
export type PublishOutcome = "created" | "exists" | "replaced";

/** "no-clobber": never replace an existing object. "replace": atomically replace it (repair). */
export type WriteMode = "no-clobber" | "replace";

export interface ObjectInfo {
  size: number;
  /** Last write or freshen time (ms since the epoch): GC's grace period is measured from it. */
  mtimeMs: number;
}

/** A write whose name is not known until its last byte has been hashed. */
export interface StagedObject {
  /** Appends a chunk. The backend must not keep a reference to `chunk` after resolving. */
  write(chunk: Uint8Array): Promise<void>;
  /** Publishes the staged bytes as `oid`. The staged object is finished either way. */
  commit(oid: string, mode: WriteMode): Promise<PublishOutcome>;
  /** Discards the staged bytes. Safe to call after commit (does nothing then). */
  abort(): Promise<void>;
}

export interface ObjectBackend {
  /** "fs", "memory", or an implementation's own name. */
  readonly kind: string;
  /**
   * Stores `data` under `oid`. The commit point is the backend's atomic publish: a reader
   * sees all of the bytes or no object. Durability follows the backend's fsync setting.
   */
  write(oid: string, data: Uint8Array, mode: WriteMode): Promise<PublishOutcome>;
  /** Starts a streamed write (bounded memory for any size). */
  stage(): Promise<StagedObject>;
  /** The object's bytes, unverified. Throws SnapError object_not_found. */
  read(oid: string): Promise<Buffer>;
  /**
   * The object's bytes in chunks, unverified. Throws (on iteration) object_not_found.
   * Chunks handed out are not reused by the backend.
   */
  readChunks(oid: string): AsyncIterable<Uint8Array>;
  /**
   * Whether an object is stored (no size or time needed). Optional: without it the store
   * asks stat(). The fs backend answers a packed object from its index, without a stat of
   * the pack file.
   */
  exists?(oid: string): Promise<boolean>;
  /** Size and time of an object, or undefined when there is none. */
  stat(oid: string): Promise<ObjectInfo | undefined>;
  /**
   * Refreshes an existing object's time (GC grace period) and, in durable modes, makes sure
   * the existing object is as durable as a new write would have been.
   */
  freshen(oid: string): Promise<void>;
  /** Every stored oid, once, in no particular order. Staging debris is never listed. */
  list(): AsyncIterable<string>;
  /**
   * Every stored oid that starts with `prefix` (2 to 64 lowercase hex digits), in no
   * particular order. Optional: a backend without it is served by filtering `list()`. The fs
   * backend reads only the fan-out directory the prefix selects.
   */
  listPrefix?(prefix: string): AsyncIterable<string>;
  /**
   * Removes objects (GC). Each name's removal is atomic (its commit point: the unlink / DELETE);
   * durability follows the backend's fsync setting ("always": durable when it resolves,
   * one directory fsync per fan-out directory whatever the count; "batch": at the next
   * flush()). Absent oids are reported in `missing`, not an error. Optional: a backend
   * without it makes the store's delete() fail with invalid_argument.
   */
  remove?(oids: string[]): Promise<{ removed: string[]; missing: string[] }>;
  /**
   * Containers of objects that exist but cannot be read (fs backend: damaged packs), so
   * verify() can report what it could not check. Optional: a backend without containers
   * has none.
   */
  damaged?(): Promise<{ name: string; reason: string }[]>;
  /** Makes everything written so far durable (batch mode); a no-op where writes already are. */
  flush(): Promise<void>;
  /** Removes staging debris older than `olderThanMs`; never touches published objects. */
  cleanTmp(options: { olderThanMs: number }): Promise<{ removed: number }>;
  /** Flushes and releases resources. */
  close(): Promise<void>;
}

export type FsyncMode = "always" | "batch" | "never";
