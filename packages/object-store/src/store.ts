/**
 * The object store: content addressing, verification and repair on top of an ObjectBackend.
 *
 * Put: hash, then publish with no-clobber. If the name is taken, the existing object is
 * re-hashed: intact -> freshened (mtime, for GC's grace period) and left alone; corrupt ->
 * reported and atomically replaced by the new bytes (repair). Get: every read is verified.
 */
import { Readable } from "node:stream";
import { type FsSeam, nodeFs, type SeamFile } from "@snap/fs";
import { assertOid, createOidHasher, isSnapError, oidOf, SnapError, type VerifyReport } from "@snap/schema";
import type { FsyncMode, ObjectBackend, ObjectInfo, PublishOutcome } from "./backend.js";
import { createFsBackend, type PackOptions } from "./fs-backend.js";
import { createMemoryBackend } from "./memory-backend.js";
import { decodeStructured, encodeStructured, type StructuredObject } from "./structured.js";
import { corruptError, verifiedChunks } from "./verified-read.js";

export interface OpenObjectStoreOptions {
  /** The objects directory (fs backend; required for it). snap's store passes `<store>/objects`. */
  dir?: string;
  /** Durability of puts (fs backend). Default "always". */
  fsync?: FsyncMode;
  /** "fs" (default), "memory", or any ObjectBackend. */
  backend?: "fs" | "memory" | ObjectBackend;
  /** Filesystem seam for the fs backend and for putFile (default: the real filesystem). */
  fs?: FsSeam;
  /** Staging directory for streamed puts (fs backend; same filesystem as `dir`). Default `<dir>/tmp`. */
  tmpDir?: string;
  /** Fs backend: buffered reads up to this size use the seam's synchronous facet (default 64 KiB; 0: off). */
  syncReadMax?: number;
  /** Fs backend, fsync "always": background fdatasync of a streamed put every this many bytes (default 32 MiB; 0: off). */
  writebackEvery?: number;
  /**
   * Fs backend: pack small objects into one file per flush (FORMAT.md, "Packs"; fsync
   * "batch" or "never" only). Objects put since the last flush() are then visible to this
   * process only. Default off. Packs written by another process are read either way.
   */
  pack?: boolean | PackOptions;
  /** Called whenever an object is found corrupt (by a put, a read or verify). */
  onCorrupt?: (event: CorruptObjectEvent) => void;
}

export interface CorruptObjectEvent {
  oid: string;
  /** What the stored bytes hash to. */
  actualOid: string;
  during: "put" | "get" | "verify";
  /** True when the put that found it replaced it with good bytes. */
  repaired: boolean;
}

export interface PutResult {
  oid: string;
  /** True when this put stored bytes: the object was new, or was corrupt and got repaired. */
  created: boolean;
  /** True when an existing object under this oid was corrupt and this put replaced it. */
  repaired: boolean;
}

export interface PutStreamResult extends PutResult {
  size: number;
}

export interface PutStreamOptions {
  /** Fail with oid_mismatch (and publish nothing) unless the content hashes to this oid. */
  expectOid?: string;
  /** Fail with invalid_argument (and publish nothing) as soon as the content exceeds this. */
  maxBytes?: number;
}

/**
 * One verify progress report, called once per object checked (not throttled). It is also a
 * @snap/schema `ProgressEvent` (`phase: "verify"`, `done` = `checked`, `unit: "objects"`).
 */
export interface VerifyProgress {
  phase: "verify";
  done: number;
  unit: "objects";
  checked: number;
  bytes: number;
  corrupt: number;
  /** The oid just checked. */
  oid: string;
}

export interface VerifyOptions {
  onProgress?: (progress: VerifyProgress) => void;
  /** Objects hashed at once (default 4). */
  concurrency?: number;
  /** Aborting stops verify with SnapError `interrupted` (it only reads, so nothing is left behind). */
  signal?: AbortSignal;
}

export interface VerifyResult {
  /** Objects re-hashed. */
  checked: number;
  /** Bytes re-hashed. */
  bytes: number;
  /** Oids whose bytes do not hash to them. */
  corrupt: string[];
  /** The same, with what the bytes actually hash to. */
  corruptObjects: { oid: string; actual_oid: string }[];
  /** Containers that could not be read (fs backend: damaged packs, `pack/<name>.pack`); their objects were not checked. */
  damaged: { name: string; reason: string }[];
  /** Listed objects that disappeared before they could be read (concurrent GC). */
  vanished: number;
  durationMs: number;
  /** The result as a schema'd `verify_report` record (for --json output). */
  report: VerifyReport;
}

export interface ObjectStoreStats {
  puts: number;
  /** Objects removed by delete()/deleteMany(). */
  deleted: number;
  created: number;
  existing: number;
  repaired: number;
  gets: number;
  corruptFound: number;
}

export interface ListOptions {
  /** Only oids starting with these lowercase hex digits (0 to 64 of them). */
  prefix?: string;
}

/** Shortest prefix `resolvePrefix` accepts (git's minimum abbreviation). */
export const MIN_PREFIX_LENGTH = 4;
/** How many candidates a `rev_ambiguous` error lists (`data.count` has the full number). */
const MAX_CANDIDATES = 100;

export type PutSource = AsyncIterable<Uint8Array> | Iterable<Uint8Array> | Readable;

export interface ObjectStore {
  /** The backend's kind ("fs", "memory", ...). */
  readonly backendKind: string;
  putBytes(data: Uint8Array | string): Promise<PutResult>;
  putStream(source: PutSource, options?: PutStreamOptions): Promise<PutStreamResult>;
  /** Streams a file (read through the `fs` seam) into the store. */
  putFile(path: string, options?: PutStreamOptions): Promise<PutStreamResult>;
  putObject(value: StructuredObject): Promise<PutResult>;
  getBytes(oid: string): Promise<Buffer>;
  getStream(oid: string): Promise<Readable>;
  getObject<T extends StructuredObject = StructuredObject>(oid: string): Promise<T>;
  has(oid: string): Promise<boolean>;
  stat(oid: string): Promise<ObjectInfo | undefined>;
  /** Every oid (or every oid starting with `options.prefix`, 0 to 64 hex digits), in no particular order. */
  list(options?: ListOptions): AsyncIterable<string>;
  /**
   * The one oid that starts with `prefix` (at least 4 hex digits, case-insensitive). Errors:
   * `rev_ambiguous` (several match: `data.candidates`), `object_not_found` (none),
   * `oid_invalid` (not hex, or longer than 64), `invalid_argument` (not a string, or shorter than 4).
   * Reads only the fan-out directory the prefix selects (fs backend).
   */
  resolvePrefix(prefix: string): Promise<string>;
  /**
   * Removes one object (for GC: the store never decides what is garbage). Durable per the
   * `fsync` mode ("always": when it resolves; "batch": after the next flush()). False when
   * the object was not there.
   */
  delete(oid: string): Promise<boolean>;
  /**
   * Removes many objects: every oid is checked first (oid_invalid before anything is
   * removed), then each is unlinked, then each fan-out directory fsynced once ("always").
   */
  deleteMany(oids: Iterable<string>): Promise<{ removed: string[]; missing: string[] }>;
  verify(options?: VerifyOptions): Promise<VerifyResult>;
  flush(): Promise<void>;
  cleanTmp(options?: { olderThanMs?: number }): Promise<{ removed: number }>;
  stats(): ObjectStoreStats;
  close(): Promise<void>;
}

/** Buffered reads up to this size when re-hashing an existing object; streamed above. */
const BUFFERED_CHECK_MAX = 16 * 1024 * 1024;
const FILE_CHUNK = 1024 * 1024;
const DEFAULT_TMP_AGE_MS = 60 * 60 * 1000;

export async function openObjectStore(options: OpenObjectStoreOptions = {}): Promise<ObjectStore> {
  const fs = options.fs ?? nodeFs;
  let backend: ObjectBackend;
  const choice = options.backend ?? "fs";
  if (choice === "fs") {
    if (typeof options.dir !== "string" || options.dir === "") {
      throw new SnapError("invalid_argument", "openObjectStore needs `dir` for the fs backend");
    }
    backend = await createFsBackend({
      dir: options.dir,
      fsync: options.fsync,
      fs,
      tmpDir: options.tmpDir,
      syncReadMax: options.syncReadMax,
      writebackEvery: options.writebackEvery,
      pack: options.pack,
    });
  } else if (choice === "memory") {
    backend = createMemoryBackend();
  } else if (typeof choice === "object" && choice !== null && typeof choice.write === "function") {
    backend = choice;
  } else {
    throw new SnapError("invalid_argument", `unknown object backend ${JSON.stringify(choice)}`);
  }
  return new ContentAddressedStore(backend, fs, options.onCorrupt);
}

type Intact = "intact" | "corrupt" | "vanished";

class ContentAddressedStore implements ObjectStore {
  private closed = false;
  private readonly counters: ObjectStoreStats = { puts: 0, deleted: 0, created: 0, existing: 0, repaired: 0, gets: 0, corruptFound: 0 };

  constructor(
    private readonly backend: ObjectBackend,
    private readonly fs: FsSeam,
    private readonly onCorrupt: ((event: CorruptObjectEvent) => void) | undefined,
  ) {}

  get backendKind(): string {
    return this.backend.kind;
  }

  private open(): void {
    if (this.closed) throw new SnapError("closed", "the object store is closed");
  }

  private reportCorrupt(oid: string, actualOid: string, during: CorruptObjectEvent["during"], repaired: boolean): void {
    this.counters.corruptFound++;
    this.onCorrupt?.({ oid, actualOid, during, repaired });
  }

  /**
   * Re-hashes an existing object before a put trusts it: buffered when small, streamed when
   * large (a corrupt object can be any size, whatever the size of the good bytes).
   */
  private async checkExisting(oid: string): Promise<{ state: Intact; actual?: string }> {
    try {
      const info = await this.backend.stat(oid);
      if (info === undefined) return { state: "vanished" };
      let actual: string;
      if (info.size <= BUFFERED_CHECK_MAX) {
        actual = oidOf(await this.backend.read(oid));
      } else {
        const hasher = createOidHasher();
        for await (const chunk of this.backend.readChunks(oid)) hasher.update(chunk);
        actual = hasher.digest();
      }
      return actual === oid ? { state: "intact" } : { state: "corrupt", actual };
    } catch (err) {
      if (isSnapError(err, "object_not_found")) return { state: "vanished" };
      throw err;
    }
  }

  /** After a no-clobber publish found the name taken: trust, or repair, the existing object. */
  private async settleExisting(oid: string, replace: () => Promise<PublishOutcome>): Promise<PutResult | undefined> {
    const check = await this.checkExisting(oid);
    if (check.state === "vanished") return undefined; // removed meanwhile: publish again
    if (check.state === "intact") {
      try {
        await this.backend.freshen(oid);
      } catch (err) {
        if (isSnapError(err, "object_not_found")) return undefined;
        throw err;
      }
      this.counters.existing++;
      return { oid, created: false, repaired: false };
    }
    await replace(); // commit point of the repair: the atomic replace
    this.counters.repaired++;
    this.reportCorrupt(oid, check.actual as string, "put", true);
    return { oid, created: true, repaired: true };
  }

  async putBytes(input: Uint8Array | string): Promise<PutResult> {
    this.open();
    const data = typeof input === "string" ? Buffer.from(input, "utf8") : input;
    if (!(data instanceof Uint8Array)) {
      throw new SnapError("invalid_argument", "putBytes takes a Uint8Array or a string");
    }
    this.counters.puts++;
    const oid = oidOf(data);
    for (let attempt = 0; ; attempt++) {
      const outcome = await this.backend.write(oid, data, "no-clobber");
      if (outcome !== "exists") {
        this.counters.created++;
        return { oid, created: true, repaired: false };
      }
      const settled = await this.settleExisting(oid, () => this.backend.write(oid, data, "replace"));
      if (settled) return settled;
      if (attempt >= 3) throw new SnapError("internal", `object ${oid} keeps vanishing while it is written`, { data: { oid } });
    }
  }

  async putStream(source: PutSource, options: PutStreamOptions = {}): Promise<PutStreamResult> {
    this.open();
    if (source === null || typeof source !== "object" || !(Symbol.asyncIterator in source || Symbol.iterator in source)) {
      throw new SnapError("invalid_argument", "putStream takes an async iterable (or Readable) of Uint8Array chunks");
    }
    if (options.expectOid !== undefined) assertOid(options.expectOid, "expectOid");
    const maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
    this.counters.puts++;
    const staged = await this.backend.stage();
    let size = 0;
    let oid: string;
    try {
      const hasher = createOidHasher();
      for await (const chunk of source as AsyncIterable<unknown>) {
        if (!(chunk instanceof Uint8Array)) {
          throw new SnapError("invalid_argument", `putStream chunks must be Uint8Array, got ${typeof chunk}`, {
            hint: "do not set an encoding on the Readable",
          });
        }
        size += chunk.byteLength;
        if (size > maxBytes) {
          throw new SnapError("invalid_argument", `stream exceeds maxBytes (${maxBytes})`, { data: { maxBytes } });
        }
        // Hash the chunk while the thread pool writes it: both only read it, so no copy is
        // needed, and the chunk is released (the producer may reuse its buffer) before we
        // ask for the next one. One chunk in flight: memory stays bounded for any size.
        const written = staged.write(chunk);
        try {
          hasher.update(chunk);
        } finally {
          await written;
        }
      }
      oid = hasher.digest();
      if (options.expectOid !== undefined && oid !== options.expectOid) {
        throw new SnapError("oid_mismatch", `content hashes to ${oid}, not the expected ${options.expectOid}`, {
          data: { expected: options.expectOid, actual: oid },
        });
      }
    } catch (err) {
      await staged.abort();
      throw err;
    }
    // The oid is known only now, so check for an existing object before publishing: if it is
    // corrupt, the staged bytes are what repairs it.
    try {
      for (let attempt = 0; ; attempt++) {
        if ((await this.backend.stat(oid)) === undefined) {
          const outcome = await staged.commit(oid, "no-clobber");
          if (outcome === "exists") {
            // A concurrent writer published it between stat and link: their complete bytes.
            await this.backend.freshen(oid);
            this.counters.existing++;
            return { oid, size, created: false, repaired: false };
          }
          this.counters.created++;
          return { oid, size, created: true, repaired: false };
        }
        const settled = await this.settleExisting(oid, () => staged.commit(oid, "replace"));
        if (settled) {
          await staged.abort(); // no-op after a repair's commit
          return { ...settled, size };
        }
        if (attempt >= 3) throw new SnapError("internal", `object ${oid} keeps vanishing while it is written`, { data: { oid } });
      }
    } catch (err) {
      await staged.abort();
      throw err;
    }
  }

  async putFile(path: string, options: PutStreamOptions = {}): Promise<PutStreamResult> {
    this.open();
    if (typeof path !== "string" || path === "") throw new SnapError("invalid_argument", "putFile takes a path");
    let file: SeamFile;
    try {
      file = await this.fs.open(path, "r");
    } catch (err) {
      throw new SnapError("invalid_argument", `cannot read ${path}: ${(err as Error).message}`, { data: { path }, cause: err });
    }
    try {
      return await this.putStream(readFileChunks(file), options);
    } finally {
      await file.close().catch(() => undefined);
    }
  }

  async putObject(value: StructuredObject): Promise<PutResult> {
    this.open();
    return this.putBytes(encodeStructured(value));
  }

  async getBytes(oid: string): Promise<Buffer> {
    this.open();
    assertOid(oid);
    this.counters.gets++;
    const data = await this.backend.read(oid);
    const actual = oidOf(data);
    if (actual !== oid) {
      this.reportCorrupt(oid, actual, "get", false);
      throw corruptError(oid, actual);
    }
    return data;
  }

  async getStream(oid: string): Promise<Readable> {
    this.open();
    assertOid(oid);
    if ((await this.backend.stat(oid)) === undefined) {
      throw new SnapError("object_not_found", `no object ${oid}`, { data: { oid } });
    }
    this.counters.gets++;
    const chunks = verifiedChunks(oid, this.backend.readChunks(oid), (actual) => this.reportCorrupt(oid, actual, "get", false));
    return Readable.from(chunks, { objectMode: false, highWaterMark: 1024 * 1024 });
  }

  async getObject<T extends StructuredObject = StructuredObject>(oid: string): Promise<T> {
    const bytes = await this.getBytes(oid);
    return decodeStructured(bytes, oid) as T;
  }

  async has(oid: string): Promise<boolean> {
    this.open();
    assertOid(oid);
    if (this.backend.exists) return this.backend.exists(oid);
    return (await this.backend.stat(oid)) !== undefined;
  }

  async stat(oid: string): Promise<ObjectInfo | undefined> {
    this.open();
    assertOid(oid);
    return this.backend.stat(oid);
  }

  list(options: ListOptions = {}): AsyncIterable<string> {
    this.open();
    const prefix = options.prefix;
    if (prefix === undefined || prefix === "") return this.backend.list();
    if (typeof prefix !== "string" || !/^[0-9a-f]{1,64}$/.test(prefix)) {
      throw new SnapError("oid_invalid", `list prefix must be 1 to 64 lowercase hex digits, not ${JSON.stringify(prefix)}`, { data: { prefix } });
    }
    return this.listPrefix(prefix);
  }

  private async *listPrefix(prefix: string): AsyncIterable<string> {
    if (prefix.length >= 2 && this.backend.listPrefix) {
      yield* this.backend.listPrefix(prefix);
      return;
    }
    for await (const oid of this.backend.list()) if (oid.startsWith(prefix)) yield oid;
  }

  async resolvePrefix(input: string): Promise<string> {
    this.open();
    if (typeof input !== "string") throw new SnapError("invalid_argument", "resolvePrefix takes a string of hex digits");
    const prefix = input.toLowerCase();
    if (!/^[0-9a-f]*$/.test(prefix) || prefix.length > 64) {
      throw new SnapError("oid_invalid", `${JSON.stringify(input)} is not an oid prefix (hex digits, at most 64)`, { data: { prefix: input } });
    }
    if (prefix.length < MIN_PREFIX_LENGTH) {
      throw new SnapError("invalid_argument", `an oid prefix needs at least ${MIN_PREFIX_LENGTH} hex digits, got ${JSON.stringify(input)}`, {
        data: { prefix: input },
        hint: "give more characters of the oid",
      });
    }
    if (prefix.length === 64) {
      if ((await this.backend.stat(prefix)) !== undefined) return prefix;
      throw new SnapError("object_not_found", `no object ${prefix}`, { data: { oid: prefix, prefix } });
    }
    const matches: string[] = [];
    for await (const oid of this.listPrefix(prefix)) matches.push(oid);
    if (matches.length === 1) return matches[0] as string;
    if (matches.length === 0) {
      throw new SnapError("object_not_found", `no object starts with ${prefix}`, { data: { prefix } });
    }
    matches.sort();
    throw new SnapError("rev_ambiguous", `oid prefix ${prefix} matches ${matches.length} objects`, {
      data: { prefix, candidates: matches.slice(0, MAX_CANDIDATES), count: matches.length },
      hint: "give more characters of the oid",
    });
  }

  async delete(oid: string): Promise<boolean> {
    return (await this.deleteMany([oid])).removed.length === 1;
  }

  async deleteMany(oids: Iterable<string>): Promise<{ removed: string[]; missing: string[] }> {
    this.open();
    if (oids === null || typeof oids !== "object" || !(Symbol.iterator in oids)) {
      throw new SnapError("invalid_argument", "deleteMany takes an iterable of oids");
    }
    const list = [...new Set(oids)];
    for (const oid of list) assertOid(oid);
    if (list.length === 0) return { removed: [], missing: [] };
    if (typeof this.backend.remove !== "function") {
      throw new SnapError("invalid_argument", `the ${this.backend.kind} backend cannot delete objects`, { data: { backend: this.backend.kind } });
    }
    const result = await this.backend.remove(list);
    this.counters.deleted += result.removed.length;
    return result;
  }

  async verify(options: VerifyOptions = {}): Promise<VerifyResult> {
    this.open();
    const started = Date.now();
    const concurrency = Math.max(1, options.concurrency ?? 4);
    const corruptObjects: { oid: string; actual_oid: string }[] = [];
    let checked = 0;
    let bytes = 0;
    let vanished = 0;
    const iterator = this.backend.list()[Symbol.asyncIterator]();
    const signal = options.signal;
    const worker = async (): Promise<void> => {
      for (;;) {
        if (signal?.aborted) {
          throw new SnapError("interrupted", "verify interrupted; nothing was changed", { data: { operation: "verify", checked }, cause: signal.reason });
        }
        const next = await iterator.next();
        if (next.done) return;
        const oid = next.value;
        const hasher = createOidHasher();
        try {
          for await (const chunk of this.backend.readChunks(oid)) hasher.update(chunk);
        } catch (err) {
          if (isSnapError(err, "object_not_found")) {
            vanished++;
            continue;
          }
          throw err;
        }
        checked++;
        bytes += hasher.bytes;
        const actual = hasher.digest();
        if (actual !== oid) {
          corruptObjects.push({ oid, actual_oid: actual });
          this.reportCorrupt(oid, actual, "verify", false);
        }
        options.onProgress?.({ phase: "verify", done: checked, unit: "objects", checked, bytes, corrupt: corruptObjects.length, oid });
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    corruptObjects.sort((a, b) => (a.oid < b.oid ? -1 : a.oid > b.oid ? 1 : 0));
    const damaged = this.backend.damaged ? await this.backend.damaged() : [];
    const report: VerifyReport = {
      type: "verify_report",
      schema_version: 1,
      ok: corruptObjects.length === 0 && damaged.length === 0,
      objects_checked: checked,
      bytes_checked: bytes,
      corrupt: corruptObjects.map((c) => ({ oid: c.oid, actual_oid: c.actual_oid })),
    };
    if (damaged.length > 0) report.damaged_packs = damaged.map((d) => ({ pack: d.name, reason: d.reason }));
    return {
      checked,
      bytes,
      corrupt: corruptObjects.map((c) => c.oid),
      corruptObjects,
      damaged,
      vanished,
      durationMs: Date.now() - started,
      report,
    };
  }

  async flush(): Promise<void> {
    this.open();
    await this.backend.flush();
  }

  async cleanTmp(options: { olderThanMs?: number } = {}): Promise<{ removed: number }> {
    this.open();
    const olderThanMs = options.olderThanMs ?? DEFAULT_TMP_AGE_MS;
    if (typeof olderThanMs !== "number" || !(olderThanMs >= 0)) {
      throw new SnapError("invalid_argument", "cleanTmp olderThanMs must be a number >= 0");
    }
    return this.backend.cleanTmp({ olderThanMs });
  }

  stats(): ObjectStoreStats {
    return { ...this.counters };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.backend.close(); // flushes a batch: everything put is durable once close resolves
  }
}

/**
 * The chunks of a file, reading one chunk ahead: chunk n+1 is read while chunk n is hashed
 * and written (these buffers are ours, so reading ahead is safe; two chunks in memory).
 */
async function* readFileChunks(file: SeamFile): AsyncGenerator<Uint8Array> {
  const readAt = async (position: number): Promise<Buffer> => {
    const buf = Buffer.allocUnsafe(FILE_CHUNK);
    const n = await file.read(buf, 0, FILE_CHUNK, position);
    return n === FILE_CHUNK ? buf : buf.subarray(0, n);
  };
  let position = 0;
  let next = readAt(0);
  try {
    for (;;) {
      const chunk = await next;
      if (chunk.byteLength === 0) return;
      position += chunk.byteLength;
      next = readAt(position);
      next.catch(() => undefined); // awaited below or in finally; never an unhandled rejection
      yield chunk;
    }
  } finally {
    await next.catch(() => undefined); // no read in flight once the caller closes the file
  }
}
