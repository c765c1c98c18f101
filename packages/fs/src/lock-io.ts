/**
 * The few filesystem calls the store lock makes, in the shape the lock needs them.
 *
 * On the real filesystem they are synchronous node:fs calls: an uncontended acquisition
 * is ~10 metadata syscalls of a few microseconds each, while the same calls through
 * node:fs/promises cost a libuv threadpool round trip each (tens of microseconds to
 * milliseconds on a loaded machine), which dominated the lock's cost. None of them waits
 * for the disk (nothing here fsyncs), so blocking the event loop for them is cheaper than
 * scheduling them. Through any other seam (the fault seam in crash tests) every call goes
 * through the seam, asynchronously, so crash tests see and can fail every operation.
 *
 * Methods return a value or a promise; the lock `await`s either.
 */
import {
  type Stats,
  closeSync,
  linkSync,
  openSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmdirSync,
  statSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { dirname } from "node:path";
import { tmpNameIn } from "./publish.js";
import { type FsSeam, nodeFs } from "./seam.js";

type MaybePromise<T> = T | Promise<T>;

export interface LockStat {
  mtimeMs: number;
  ino: number;
}

export interface LockIo {
  /** The seam behind these calls (for the one durable publish, see lock-generation.ts). */
  readonly seam: FsSeam;
  mkdir(path: string, options?: { recursive?: boolean }): MaybePromise<void>;
  rmdir(path: string): MaybePromise<void>;
  unlink(path: string): MaybePromise<void>;
  readFile(path: string): MaybePromise<Buffer>;
  /** Creates `path` holding `data`; EEXIST if the name exists. No fsync. */
  createFile(path: string, data: Uint8Array): MaybePromise<void>;
  rename(from: string, to: string): MaybePromise<void>;
  /** Writes `data` over the start of the existing file `path` (no truncate, no fsync). */
  overwrite(path: string, data: Uint8Array): MaybePromise<void>;
  link(existingPath: string, newPath: string): MaybePromise<void>;
  readdir(path: string): MaybePromise<string[]>;
  stat(path: string): MaybePromise<LockStat>;
  utimes(path: string, atime: Date, mtime: Date): MaybePromise<void>;
  bootId(): string | undefined;
}

/** The real filesystem, synchronously (see the module comment for why). */
const syncNodeIo: LockIo = {
  seam: nodeFs,
  mkdir(path, options) {
    mkdirSync(path, { recursive: options?.recursive ?? false });
  },
  rmdir: (path) => rmdirSync(path),
  unlink: (path) => unlinkSync(path),
  readFile: (path) => readFileSync(path),
  createFile: (path, data) => writeFileSync(path, data, { flag: "wx" }),
  rename: (from, to) => renameSync(from, to),
  overwrite(path, data) {
    const fd = openSync(path, "r+");
    try {
      let off = 0;
      while (off < data.byteLength) off += writeSync(fd, data, off, data.byteLength - off, off);
    } finally {
      closeSync(fd);
    }
  },
  link: (a, b) => linkSync(a, b),
  readdir: (path) => readdirSync(path),
  stat: (path): LockStat => statSync(path) as Stats,
  utimes: (path, a, m) => utimesSync(path, a, m),
  bootId: () => nodeFs.bootId?.(),
};

export function lockIoFor(fs: FsSeam): LockIo {
  if (fs === nodeFs) return syncNodeIo;
  return {
    seam: fs,
    mkdir: (path, options) => fs.mkdir(path, options),
    rmdir: (path) => fs.rmdir(path),
    unlink: (path) => fs.unlink(path),
    readFile: (path) => fs.readFile(path),
    createFile: (path, data) => fs.writeFile(path, data, "wx"),
    rename: (from, to) => fs.rename(from, to),
    async overwrite(path, data) {
      const file = await fs.open(path, "r+");
      try {
        await file.write(data, 0);
      } finally {
        await file.close();
      }
    },
    link: (a, b) => fs.link(a, b),
    readdir: (path) => fs.readdir(path),
    stat: (path) => fs.stat(path),
    utimes: (path, a, m) => fs.utimes(path, a, m),
    bootId: () => fs.bootId?.(),
  };
}

/**
 * Replaces `path` with `data` atomically (tmp in the same directory, then rename) WITHOUT
 * fsync: readers see the old or the new content, never a mix, but after power loss the old
 * content (or, on some filesystems, an empty file) may come back. Only for the lock's
 * small bookkeeping files, whose readers handle exactly that (lock-generation.ts); durable
 * writes go through publishFile. Commit point: the rename.
 */
export async function replaceVolatile(io: LockIo, path: string, data: Uint8Array): Promise<void> {
  const tmp = tmpNameIn(dirname(path), "lockgen");
  try {
    await io.createFile(tmp, data);
    await io.rename(tmp, path); // commit point (not durable)
  } catch (err) {
    try {
      await io.unlink(tmp);
    } catch {
      // never created, or already renamed
    }
    throw err;
  }
}
