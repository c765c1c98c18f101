/**
 * The filesystem seam: the few fs calls snap's durable code makes, behind one interface,
 * so the crash harness can substitute a recording, fault-injecting implementation
 * (LevelDB's FaultInjectionTestEnv, SQLite's test VFS). Every byte any snap package writes
 * goes through a `FsSeam`; nothing else in the repository imports node:fs for writing.
 */
import * as fsp from "node:fs/promises";
import { constants as fsConstants } from "node:fs";
import { currentBootId } from "./process-identity.js";

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
  /** Opens a directory and fsyncs it, making the names in it durable. */
  syncDir(path: string): Promise<void>;
  /**
   * Names the lifetime of the page cache behind this seam: it changes whenever writes that
   * were not fsynced may have been lost (a reboot of the real machine; `powerLoss()` of the
   * fault seam). undefined when unknown. The store lock trusts an un-fsynced `<lock>.gen`
   * only when it was written under the current boot id (see lock-generation.ts).
   */
  bootId?(): string | undefined;
}

class NodeSeamFile implements SeamFile {
  constructor(
    readonly path: string,
    private readonly handle: fsp.FileHandle,
  ) {}

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

/** The real filesystem (node:fs/promises). */
export const nodeFs: FsSeam = {
  async open(path, flags, mode) {
    return new NodeSeamFile(path, await fsp.open(path, flags, mode));
  },
  readFile: (path) => fsp.readFile(path),
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

export function isCode(err: unknown, code: string): boolean {
  return typeof err === "object" && err !== null && (err as { code?: unknown }).code === code;
}
