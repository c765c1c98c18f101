/**
 * The filesystem seam: the few fs calls snap's durable code makes, behind one interface,
 * so the crash harness can substitute a recording, fault-injecting implementation
 * (LevelDB's FaultInjectionTestEnv, SQLite's test VFS). Every byte any snap package writes
 * goes through a `FsSeam`; nothing else in the repository imports node:fs for writing.
 */
import * as fsp from "node:fs/promises";
import {
  closeSync,
  constants as fsConstants,
  fdatasyncSync,
  fstatSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readSync,
  readdirSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { currentBootId } from "./process-identity.js";
import { SnapError } from "@snap/schema";

export interface SeamStats {
  size: number;
  mtimeMs: number;
  ino: number;
  dev: number;
  mode: number;
  isFile(): boolean;
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
}

/** Open flags used by snap: read, read-write, exclusive create, append, truncate-create. */
export type OpenFlags = "r" | "r+" | "wx" | "a" | "ax" | "w";

export interface SeamFile {
  readonly path: string;
  /** Writes the whole buffer (looping over short writes) at `position` (default: current). */
  write(data: Uint8Array, position?: number): Promise<void>;
  read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<number>;
  /** fsync(2): data and metadata. */
  sync(): Promise<void>;
  /** fdatasync(2): data and the metadata needed to read it back (size). */
  datasync(): Promise<void>;
  stat(): Promise<SeamStats>;
  truncate(length: number): Promise<void>;
  close(): Promise<void>;
  /**
   * Blocking forms of a durable write's calls, present only on a file opened for appending
   * ("a", "ax") or for update in place ("r+") by a seam that supports them (see
   * SeamFileBlocking). Optional: code must fall back to the async calls when it is absent.
   */
  readonly blocking?: SeamFileBlocking;
}

/**
 * The calls of a durable append (write at the end, fdatasync) as blocking syscalls, made on
 * the calling thread: one syscall each instead of one libuv thread-pool round trip each
 * (better-sqlite3's model). `datasync()` blocks the event loop for the disk's flush time, so
 * it is for a caller with nothing else to do meanwhile (a single writer whose caller awaits
 * the result); concurrent work keeps the async calls. Errors are the same as the async twins'.
 */
export interface SeamFileBlocking {
  /**
   * write(2) of the whole buffer at the end of the file (O_APPEND), looping over short writes.
   * Only on a file opened with "a" or "ax" (throws SnapError invalid_argument otherwise).
   */
  append(data: Uint8Array): void;
  /**
   * pwrite(2) of the whole buffer at `position`, looping over short writes. Only on a file
   * opened with "r+" (Linux appends an O_APPEND file's pwrite at the end whatever the
   * position; throws SnapError invalid_argument on "a"/"ax").
   */
  writeAt(data: Uint8Array, position: number): void;
  /** pread(2): up to `length` bytes at `position` into `buffer` at `offset`, looping; fewer only at end of file. */
  readAt(buffer: Uint8Array, offset: number, length: number, position: number): number;
  /** fdatasync(2): the commit point of everything written before it. */
  datasync(): void;
  /** The file's current size (fstat). */
  size(): number;
}

export interface FsSeam {
  open(path: string, flags: OpenFlags, mode?: number): Promise<SeamFile>;
  readFile(path: string): Promise<Buffer>;
  /** Whole-file write without fsync (flag "wx" fails with EEXIST on an existing name). */
  writeFile(path: string, data: Uint8Array, flags: "wx" | "w"): Promise<void>;
  /** link(2): creates newPath, never overwrites (EEXIST). */
  link(existingPath: string, newPath: string): Promise<void>;
  /** rename(2): atomically replaces `to`. */
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  mkdir(path: string, options?: { recursive?: boolean }): Promise<void>;
  rmdir(path: string): Promise<void>;
  readdir(path: string): Promise<string[]>;
  stat(path: string): Promise<SeamStats>;
  lstat(path: string): Promise<SeamStats>;
  utimes(path: string, atime: Date, mtime: Date): Promise<void>;
  /**
   * symlink(2): creates `path` as a symbolic link holding `target` (never overwrites:
   * EEXIST). Like any new name, it survives power loss only once its directory is fsynced.
   */
  symlink(target: string, path: string): Promise<void>;
  /** readlink(2): the text a symbolic link holds (EINVAL when `path` is not a symlink). */
  readlink(path: string): Promise<string>;
  /** Opens a directory and fsyncs it, making the names in it durable. */
  syncDir(path: string): Promise<void>;
  /**
   * Names the lifetime of the page cache behind this seam: it changes whenever writes that
   * were not fsynced may have been lost (a reboot of the real machine; `powerLoss()` of the
   * fault seam). undefined when unknown. The store lock trusts an un-fsynced `<lock>.gen`
   * only when it was written under the current boot id (see lock-generation.ts).
   */
  bootId?(): string | undefined;
  /**
   * Optional synchronous forms of the calls that never wait for the disk (metadata and
   * page-cache reads/writes, no fsync). Code that has many small operations to do uses
   * them to skip one libuv thread-pool round trip per call (see FsSyncFacet). A seam
   * without it is always called asynchronously; a seam that wraps another must implement
   * it itself (or leave it out), never pass the inner one through, or calls would bypass it.
   */
  readonly sync?: FsSyncFacet;
}

/**
 * The synchronous facet of a seam: the same operations as their async twins, with the same
 * errors, for small durable-write fast paths (publishFile with durability "never"/"batch")
 * and small reads. None of them fsyncs: with fsync the disk dominates and the event loop
 * must not be blocked for it. From the page cache each call costs microseconds, where a
 * thread-pool round trip costs 50-100 us on a loaded machine (more than the syscall).
 */
export interface FsSyncFacet {
  /**
   * Creates `path` (O_CREAT|O_EXCL: EEXIST if the name exists) holding `data`, looping over
   * short writes; no fsync. On an error after the create, the partial file stays (the
   * caller owns the name and removes it).
   */
  writeFileExcl(path: string, data: Uint8Array, mode?: number): void;
  /**
   * The whole content of the regular file `path` when it holds at most `maxBytes` bytes;
   * undefined (nothing read) when it is larger or not a regular file.
   */
  readFileUpTo(path: string, maxBytes: number): Buffer | undefined;
  /**
   * Up to `length` bytes of `path` from `position` (open, pread until done or end of file,
   * close): a small read out of a large immutable file (an object in a pack) without a
   * thread-pool round trip. Fewer bytes only at the end of the file.
   */
  readAt(path: string, position: number, length: number): Buffer;
  link(existingPath: string, newPath: string): void;
  rename(from: string, to: string): void;
  unlink(path: string): void;
  mkdir(path: string, options?: { recursive?: boolean }): void;
  readdir(path: string): string[];
  stat(path: string): SeamStats;
  /**
   * stat(path), or undefined when nothing is there (ENOENT, ENOTDIR) without building an
   * Error: a miss costs one syscall (~1 us) instead of ~15 us for the exception.
   */
  statIfExists(path: string): SeamStats | undefined;
  lstat(path: string): SeamStats;
}

class NodeSeamFile implements SeamFile {
  readonly blocking: SeamFileBlocking | undefined;

  constructor(
    readonly path: string,
    private readonly handle: fsp.FileHandle,
    flags?: OpenFlags,
  ) {
    if (flags === "a" || flags === "ax" || flags === "r+") {
      const appending = flags !== "r+";
      const fd = handle.fd;
      this.blocking = {
        append: (data) => {
          if (!appending) throw wrongMode("append", path, flags);
          writeAllSync(fd, data, null);
        },
        writeAt: (data, position) => {
          if (appending) throw wrongMode("writeAt", path, flags);
          writeAllSync(fd, data, position);
        },
        readAt: (buffer, offset, length, position) => readIntoSync(fd, buffer, offset, length, position),
        datasync: () => fdatasyncSync(fd),
        size: () => fstatSync(fd).size,
      };
    }
  }

  async write(data: Uint8Array, position?: number): Promise<void> {
    let off = 0;
    while (off < data.byteLength) {
      const pos = position === undefined ? null : position + off;
      const { bytesWritten } = await this.handle.write(data, off, data.byteLength - off, pos);
      off += bytesWritten;
    }
  }

  async read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    const { bytesRead } = await this.handle.read(buffer, offset, length, position);
    return bytesRead;
  }

  sync(): Promise<void> {
    return this.handle.sync();
  }

  datasync(): Promise<void> {
    return this.handle.datasync();
  }

  stat(): Promise<SeamStats> {
    return this.handle.stat();
  }

  truncate(length: number): Promise<void> {
    return this.handle.truncate(length);
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

/** Files up to this size are read with synchronous calls by `nodeFs.readFile`. */
const SMALL_READ_MAX = 64 * 1024;

function wrongMode(call: string, path: string, flags: OpenFlags): SnapError {
  return new SnapError("invalid_argument", `blocking ${call}() on ${path}, which was opened with "${flags}"`, {
    data: { path, flags, call },
    hint: call === "append" ? 'append() needs a file opened with "a" or "ax"' : 'writeAt() needs a file opened with "r+"',
  });
}

/**
 * Writes all of `data` to `fd` at `position` onwards, looping over short writes (a full
 * disk or a signal can cut a write short; a zero-byte write is reported as EIO rather than
 * looping for ever). `position` null: at the file's own offset (its end with O_APPEND).
 * `write` is injectable for tests.
 */
export function writeAllSync(
  fd: number,
  data: Uint8Array,
  position: number | null = 0,
  write: (fd: number, data: Uint8Array, offset: number, length: number, position: number | null) => number = writeSync,
): void {
  let off = 0;
  while (off < data.byteLength) {
    const n = write(fd, data, off, data.byteLength - off, position === null ? null : position + off);
    if (n <= 0) throw Object.assign(new Error(`EIO: write returned ${n}`), { code: "EIO" });
    off += n;
  }
}

/** Reads a regular file of at most `maxBytes` synchronously (undefined: larger, or not a regular file). */
/** Up to `length` bytes of `fd` from `position`, looping over short reads; fewer only at end of file. */
function readRangeSync(fd: number, position: number, length: number): Buffer {
  const buf = Buffer.allocUnsafe(length);
  const n = readIntoSync(fd, buf, 0, length, position);
  return n === length ? buf : buf.subarray(0, n);
}

/** readRangeSync into `buffer` at `offset`: the number of bytes read. */
function readIntoSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): number {
  let n = 0;
  while (n < length) {
    const got = readSync(fd, buffer, offset + n, length - n, position + n);
    if (got === 0) break;
    n += got;
  }
  return n;
}

function readFileUpToSync(path: string, maxBytes: number): Buffer | undefined {
  const fd = openSync(path, "r");
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.size > maxBytes) return undefined;
    if (st.size > 0) {
      // One read for a file that is not changing (objects never change once published).
      const buf = readRangeSync(fd, 0, st.size);
      return buf.byteLength === st.size ? buf : Buffer.from(buf); // shrank meanwhile: an exact copy
    }
    // Size 0: empty, or a procfs file that reports no size: read to EOF.
    let buf = Buffer.allocUnsafe(4096);
    let off = 0;
    for (;;) {
      if (off === buf.length) {
        if (off > maxBytes) return undefined;
        const bigger = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(bigger, 0, 0, off);
        buf = bigger;
      }
      const n = readSync(fd, buf, off, buf.length - off, off);
      if (n === 0) break;
      off += n;
    }
    return off > maxBytes ? undefined : Buffer.from(buf.subarray(0, off));
  } finally {
    closeSync(fd);
  }
}

/** The real filesystem, synchronously (see FsSyncFacet). */
const nodeSyncFacet: FsSyncFacet = {
  writeFileExcl(path, data, mode = 0o666) {
    const fd = openSync(path, "wx", mode);
    try {
      writeAllSync(fd, data);
    } finally {
      closeSync(fd);
    }
  },
  readFileUpTo: readFileUpToSync,
  readAt(path, position, length) {
    const fd = openSync(path, "r");
    try {
      return readRangeSync(fd, position, length);
    } finally {
      closeSync(fd);
    }
  },
  link: (a, b) => linkSync(a, b),
  rename: (a, b) => renameSync(a, b),
  unlink: (p) => unlinkSync(p),
  mkdir(path, options) {
    mkdirSync(path, { recursive: options?.recursive ?? false });
  },
  readdir: (p) => readdirSync(p),
  stat: (p) => statSync(p),
  statIfExists(p) {
    try {
      return statSync(p, { throwIfNoEntry: false });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOTDIR") return undefined;
      throw err;
    }
  },
  lstat: (p) => lstatSync(p),
};

/**
 * The real filesystem (node:fs/promises), with a synchronous facet (`nodeFs.sync`).
 *
 * `readFile` reads files up to 64 KiB with synchronous calls (open, fstat, read, close: a
 * few microseconds from the page cache, where fs.promises.readFile makes four thread-pool
 * round trips) and larger ones asynchronously.
 *
 * `sync` is not enumerable: a seam made as `{ ...nodeFs, link: myLink }` has no sync
 * facet, so its overrides are never bypassed by a fast path.
 */
export const nodeFs: FsSeam = {
  async open(path, flags, mode) {
    return new NodeSeamFile(path, await fsp.open(path, flags, mode), flags);
  },
  async readFile(path) {
    return readFileUpToSync(path, SMALL_READ_MAX) ?? (await fsp.readFile(path));
  },
  writeFile: (path, data, flags) => fsp.writeFile(path, data, { flag: flags }),
  link: (a, b) => fsp.link(a, b),
  rename: (a, b) => fsp.rename(a, b),
  unlink: (p) => fsp.unlink(p),
  async mkdir(path, options) {
    await fsp.mkdir(path, { recursive: options?.recursive ?? false });
  },
  rmdir: (p) => fsp.rmdir(p),
  readdir: (p) => fsp.readdir(p),
  stat: (p) => fsp.stat(p),
  lstat: (p) => fsp.lstat(p),
  utimes: (p, a, m) => fsp.utimes(p, a, m),
  symlink: (target, p) => fsp.symlink(target, p),
  readlink: (p) => fsp.readlink(p),
  async syncDir(path) {
    // O_DIRECTORY|O_RDONLY; fsync on a directory fd persists its entries (Linux, macOS).
    const handle = await fsp.open(path, fsConstants.O_RDONLY | (fsConstants.O_DIRECTORY ?? 0));
    try {
      await handle.sync();
    } catch (err) {
      // Some filesystems (and Windows) refuse fsync on a directory: nothing more can be done.
      if (!isCode(err, "EINVAL") && !isCode(err, "EPERM") && !isCode(err, "EISDIR")) throw err;
    } finally {
      await handle.close();
    }
  },
  bootId: currentBootId,
};
Object.defineProperty(nodeFs, "sync", { value: nodeSyncFacet, enumerable: false });

export function isCode(err: unknown, code: string): boolean {
  return typeof err === "object" && err !== null && (err as { code?: unknown }).code === code;
}

/**
 * Whether `path` names anything (lstat: a symlink is not followed). Only "not there" answers
 * false (ENOENT, or ENOTDIR: a parent is a file); any other error is rethrown.
 */
export async function pathExists(path: string, fs: FsSeam = nodeFs): Promise<boolean> {
  try {
    await fs.lstat(path);
    return true;
  } catch (err) {
    if (isCode(err, "ENOENT") || isCode(err, "ENOTDIR")) return false;
    throw err;
  }
}
