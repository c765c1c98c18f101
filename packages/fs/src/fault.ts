/**
 * A recording, fault-injecting FsSeam for crash tests (LevelDB's FaultInjectionTestEnv,
 * SQLite's test VFS). It wraps one real directory (`root`) and forwards every call to a
 * base seam, while it keeps a model of what would survive a power loss.
 *
 * The model (see README "The fault seam" for the precise rules and the limits):
 * - Every file under root is a node (hard links share one). A node has a durable content:
 *   its bytes at the last fsync/fdatasync through this seam (its bytes at creation of the
 *   seam for files that already existed; empty for files created since).
 * - Every directory has a durable listing: its names and the nodes they pointed to at the
 *   last syncDir (at creation of the seam for directories that existed; empty for
 *   directories created since).
 * - A symbolic link is a node holding its target text, fixed at creation: a directory
 *   entry like any other name, so it is durable once its directory is fsynced (symlink(2)
 *   writes no data of its own that could be lost separately from the name).
 * - `powerLoss()` rewrites root to the durable state: starting at root, each directory
 *   holds exactly its durable listing, each file its node's durable content. Names created
 *   after the last syncDir of their directory vanish; names unlinked or renamed away since
 *   come back; writes after a file's last fsync are lost.
 * - `failAfter(k)`: the first k mutating operations run, every further one throws
 *   SnapError fault_injected (before touching the disk). `mutations` counts them, so a test
 *   runs a workload once to learn N and then crashes it at every boundary 0..N.
 * - `tearLastWrite(k)`: a process crash in the middle of the most recent write that was not
 *   fsynced yet: the disk keeps the first k bytes of it (everything written before it stays,
 *   as the page cache would keep it); durable contents are not changed.
 * After powerLoss() or tearLastWrite() every handle opened before throws fault_injected
 * (the process that held it is gone); new calls work and see the recovered state.
 * `bootId()` changes at every powerLoss() (a new boot), not at tearLastWrite() (a process
 * crash keeps the page cache).
 * The synchronous facet (`sync`, present when the base has one) is the same seam: every
 * call is counted, logged (with `sync: true`), refused by failAfter and modelled exactly as
 * its async twin, so crash tests cover the fast paths that use it.
 * The blocking facet of an append-mode or "r+" file (`SeamFile.blocking`, present when the
 * base file has one and the base seam has a sync facet) is modelled the same way: its append
 * and writeAt are "write"s (tearable by tearLastWrite; an overwrite's old bytes come back),
 * its datasync a "datasync" (fixes the durable content), all counted, logged with
 * `sync: true` and refused by failAfter.
 */
import { isAbsolute, join, relative, resolve, sep } from "node:path";
import { SnapError } from "@snap/schema";
import {
  type FsSeam,
  type FsSyncFacet,
  type OpenFlags,
  type SeamFile,
  type SeamFileBlocking,
  type SeamStats,
  isCode,
  nodeFs,
} from "./seam.js";

interface FileNode {
  kind: "file";
  durable: Buffer;
}
interface DirNode {
  kind: "dir";
  entries: Map<string, FsNode>;
  durable: Map<string, FsNode>;
}
/** A symbolic link: the name's target text (symlinks are never rewritten in place). */
interface LinkNode {
  kind: "symlink";
  target: string;
}
type FsNode = FileNode | DirNode | LinkNode;

/** Operation kinds counted in `counts.ops`. */
export type FaultOpKind =
  | "open"
  | "write"
  | "truncate"
  | "fsync"
  | "datasync"
  | "writeFile"
  | "link"
  | "rename"
  | "unlink"
  | "mkdir"
  | "rmdir"
  | "utimes"
  | "symlink"
  | "syncDir"
  | "readFile"
  | "readlink"
  | "readdir"
  | "stat"
  | "read"
  | "close";

const MUTATING = new Set<FaultOpKind>([
  "write",
  "truncate",
  "fsync",
  "datasync",
  "writeFile",
  "link",
  "rename",
  "unlink",
  "mkdir",
  "rmdir",
  "utimes",
  "symlink",
  "syncDir",
]);

export interface FaultCounts {
  /** SeamFile.sync() calls (fsync(2)). */
  fsync: number;
  /** SeamFile.datasync() calls (fdatasync(2)). */
  datasync: number;
  /** FsSeam.syncDir() calls (directory fsync). */
  syncDir: number;
  /** Every call by kind, mutating or not (an open with a writing flag counts as "open"). */
  ops: Partial<Record<FaultOpKind, number>>;
}

export interface FaultOp {
  /** 1-based index among mutating operations (0 for non-mutating ones, which are not logged). */
  index: number;
  kind: FaultOpKind;
  path: string;
  /** Second path of link/rename. */
  to?: string;
  /** Bytes written (write, writeFile). */
  bytes?: number;
  /** True when the call came through the synchronous facet (`sync`). */
  sync?: true;
}

export interface FaultFs extends FsSeam {
  readonly root: string;
  readonly counts: FaultCounts;
  /** Mutating operations performed so far (the boundaries failAfter counts). */
  readonly mutations: number;
  /** Every mutating operation performed, in order. */
  readonly log: readonly FaultOp[];
  /** Lets the next `k` mutating operations succeed and fails every later one with
   * fault_injected (k = 0: the very next one fails). null: never fail. */
  failAfter(k: number | null): void;
  /** True once an operation was refused by failAfter. */
  readonly stopped: boolean;
  /** Simulated power loss: rewrites root to its durable state (see the module comment). */
  powerLoss(): Promise<void>;
  /** Simulated crash during the last un-synced write: keeps its first `keep` bytes. */
  tearLastWrite(keep: number): Promise<void>;
  /** Zeroes counts and the log (not the model). */
  resetCounts(): void;
}

export interface FaultFsOptions {
  /** The real directory to wrap (created if missing). Paths outside it pass through untracked. */
  root: string;
  /** The seam the calls go to (default: the real filesystem). */
  base?: FsSeam;
}

interface LastWrite {
  node: FileNode;
  position: number;
  length: number;
  prevSize: number;
  /** The bytes the write overwrote (at most `length`, fewer when it extended the file). */
  overwritten: Buffer;
}

/** Creates the seam, scanning `root` (its current content is taken as durable). */
export async function createFaultFs(options: FaultFsOptions): Promise<FaultFs> {
  const base = options.base ?? nodeFs;
  const root = resolve(options.root);
  await base.mkdir(root, { recursive: true });
  const fault = new FaultSeam(root, base, await scan(base, root));
  return fault;
}

async function scan(base: FsSeam, dir: string): Promise<DirNode> {
  const node: DirNode = { kind: "dir", entries: new Map(), durable: new Map() };
  for (const name of await base.readdir(dir)) {
    const p = join(dir, name);
    const st = await base.lstat(p);
    if (st.isDirectory()) node.entries.set(name, await scan(base, p));
    else if (st.isFile()) node.entries.set(name, { kind: "file", durable: await base.readFile(p) });
    else if (st.isSymbolicLink()) node.entries.set(name, { kind: "symlink", target: await base.readlink(p) });
    // sockets, FIFOs, devices are not modelled (powerLoss drops them)
  }
  node.durable = new Map(node.entries);
  return node;
}

class FaultSeam implements FaultFs {
  counts: FaultCounts = { fsync: 0, datasync: 0, syncDir: 0, ops: {} };
  log: FaultOp[] = [];
  mutations = 0;
  stopped = false;
  private limit: number | null = null;
  private epoch = 0;
  private powerLosses = 0;
  private lastWrite: LastWrite | undefined;
  private readonly openFiles = new Set<FaultFile>();

  readonly sync: FsSyncFacet | undefined;

  constructor(
    readonly root: string,
    readonly base: FsSeam,
    private tree: DirNode,
  ) {
    this.sync = base.sync ? this.syncFacet(base.sync) : undefined;
  }

  failAfter(k: number | null): void {
    this.limit = k === null ? null : this.mutations + k;
    this.stopped = false;
  }

  resetCounts(): void {
    this.counts = { fsync: 0, datasync: 0, syncDir: 0, ops: {} };
    this.log = [];
  }

  /** Counts one call; throws fault_injected when a mutating call is past the limit. */
  gate(kind: FaultOpKind, path: string, extra: Partial<FaultOp> = {}, mutating = MUTATING.has(kind)): void {
    if (mutating) {
      if (this.limit !== null && this.mutations >= this.limit) {
        this.stopped = true;
        throw new SnapError("fault_injected", `fault seam: ${kind} ${path} refused after ${this.limit} operations`, {
          data: { kind, path, limit: this.limit },
        });
      }
      this.mutations++;
      this.log.push({ index: this.mutations, kind, path, ...extra });
    }
    this.counts.ops[kind] = (this.counts.ops[kind] ?? 0) + 1;
    if (kind === "fsync") this.counts.fsync++;
    else if (kind === "datasync") this.counts.datasync++;
    else if (kind === "syncDir") this.counts.syncDir++;
  }

  checkEpoch(epoch: number, path: string): void {
    if (epoch !== this.epoch) {
      throw new SnapError("fault_injected", `fault seam: handle for ${path} is from before a simulated crash`, {
        data: { path },
      });
    }
  }

  // ---- model helpers ------------------------------------------------------------------

  /** Path components below root, or null when `p` is outside root (untracked). */
  private parts(p: string): string[] | null {
    const rel = relative(this.root, resolve(p));
    if (rel === "") return [];
    if (rel.startsWith("..") || isAbsolute(rel)) return null;
    return rel.split(sep);
  }

  lookup(p: string): FsNode | undefined {
    const parts = this.parts(p);
    if (parts === null) return undefined;
    let node: FsNode = this.tree;
    for (const part of parts) {
      if (node.kind !== "dir") return undefined;
      const next: FsNode | undefined = node.entries.get(part);
      if (next === undefined) return undefined;
      node = next;
    }
    return node;
  }

  private parentOf(p: string): { dir: DirNode; name: string } | undefined {
    const parts = this.parts(p);
    if (parts === null || parts.length === 0) return undefined;
    const name = parts.pop() as string;
    const dir = this.lookup(join(this.root, ...parts));
    return dir?.kind === "dir" ? { dir, name } : undefined;
  }

  private setEntry(p: string, node: FsNode): void {
    const parent = this.parentOf(p);
    parent?.dir.entries.set(parent.name, node);
  }

  private deleteEntry(p: string): FsNode | undefined {
    const parent = this.parentOf(p);
    if (!parent) return undefined;
    const node = parent.dir.entries.get(parent.name);
    parent.dir.entries.delete(parent.name);
    return node;
  }

  /** A file node for `p`, created (durable content empty) if the model has none. */
  private fileAt(p: string): FileNode | undefined {
    const existing = this.lookup(p);
    if (existing?.kind === "file") return existing;
    if (this.parentOf(p) === undefined) return undefined;
    const node: FileNode = { kind: "file", durable: Buffer.alloc(0) };
    this.setEntry(p, node);
    return node;
  }

  noteWrite(w: LastWrite): void {
    this.lastWrite = w;
  }

  noteSync(node: FileNode | undefined, content: Buffer): void {
    if (!node) return;
    node.durable = content;
    if (this.lastWrite?.node === node) this.lastWrite = undefined;
  }

  /** Current bytes of a file node (handles may be write-only, so read through a name). */
  async readNode(node: FileNode | undefined, fallbackPath: string, position = 0, length?: number): Promise<Buffer> {
    const path = (node && this.pathOf(node)) ?? fallbackPath;
    const file = await this.base.open(path, "r");
    try {
      const size = length ?? Math.max(0, (await file.stat()).size - position);
      const buf = Buffer.alloc(size);
      let off = 0;
      while (off < size) {
        const n = await file.read(buf, off, size - off, position + off);
        if (n === 0) break;
        off += n;
      }
      return buf.subarray(0, off);
    } finally {
      await file.close();
    }
  }

  /** readNode through the base's sync facet (whole content; for the blocking file facet). */
  readNodeSync(node: FileNode | undefined, fallbackPath: string): Buffer {
    const path = (node && this.pathOf(node)) ?? fallbackPath;
    const buf = this.base.sync?.readFileUpTo(path, Number.MAX_SAFE_INTEGER);
    if (buf === undefined) throw new SnapError("internal", `fault seam: cannot read ${path} synchronously`, { data: { path } });
    return buf;
  }

  /** Current path of `target` (any one of its names), by walking the volatile tree. */
  private pathOf(target: FsNode): string | undefined {
    const walk = (dir: DirNode, at: string): string | undefined => {
      for (const [name, node] of dir.entries) {
        const p = join(at, name);
        if (node === target) return p;
        if (node.kind === "dir") {
          const found = walk(node, p);
          if (found) return found;
        }
      }
      return undefined;
    };
    return walk(this.tree, this.root);
  }

  private async crashHandles(): Promise<void> {
    this.epoch++;
    for (const f of this.openFiles) await f.closeBase();
    this.openFiles.clear();
    this.lastWrite = undefined;
    this.limit = null;
    this.stopped = false;
  }

  trackOpen(f: FaultFile): void {
    this.openFiles.add(f);
  }

  untrackOpen(f: FaultFile): void {
    this.openFiles.delete(f);
  }

  get currentEpoch(): number {
    return this.epoch;
  }

  // ---- crashes --------------------------------------------------------------------------

  async powerLoss(): Promise<void> {
    this.powerLosses++; // a new "boot": bootId() changes (un-synced writes are gone)
    await this.crashHandles();
    // Remove everything under root, then write the durable tree back.
    for (const name of await this.base.readdir(this.root)) await removeTree(this.base, join(this.root, name));
    const written = new Map<FileNode, string>();
    const rebuild = async (durable: Map<string, FsNode>, at: string, seen: Set<DirNode>): Promise<DirNode> => {
      const out: DirNode = { kind: "dir", entries: new Map(), durable: new Map() };
      for (const [name, node] of durable) {
        const p = join(at, name);
        if (node.kind === "dir") {
          if (seen.has(node)) continue; // a directory durably listed twice: keep the first
          seen.add(node);
          await this.base.mkdir(p);
          out.entries.set(name, await rebuild(node.durable, p, seen));
        } else if (node.kind === "symlink") {
          await this.base.symlink(node.target, p);
          out.entries.set(name, node);
        } else {
          const first = written.get(node);
          if (first !== undefined) await this.base.link(first, p);
          else {
            await this.base.writeFile(p, node.durable, "wx");
            written.set(node, p);
          }
          out.entries.set(name, node);
        }
      }
      out.durable = new Map(out.entries);
      return out;
    };
    this.tree = await rebuild(this.tree.durable, this.root, new Set());
  }

  async tearLastWrite(keep: number): Promise<void> {
    const w = this.lastWrite;
    if (!w) throw new SnapError("invalid_argument", "tearLastWrite: no un-synced write to tear");
    if (!(keep >= 0 && keep <= w.length)) {
      throw new SnapError("invalid_argument", `tearLastWrite: keep must be in 0..${w.length}`, { data: { keep } });
    }
    const path = this.pathOf(w.node);
    await this.crashHandles();
    if (path === undefined) return; // the file has no name any more: nothing visible to tear
    const file = await this.base.open(path, "r+");
    try {
      const restore = w.overwritten.subarray(Math.min(keep, w.overwritten.length));
      if (restore.length > 0) await file.write(restore, w.position + keep);
      await file.truncate(Math.max(w.prevSize, w.position + keep));
    } finally {
      await file.close();
    }
  }

  // ---- FsSeam ---------------------------------------------------------------------------

  async open(path: string, flags: OpenFlags, mode?: number): Promise<SeamFile> {
    const writing = flags !== "r" && flags !== "r+";
    this.gate("open", path, {}, writing); // creating or truncating a file is a mutation
    const inner = await this.base.open(path, flags, mode);
    let node: FileNode | undefined;
    if (writing) node = this.fileAt(path);
    else {
      const n = this.lookup(path);
      node = n?.kind === "file" ? n : undefined;
    }
    let cursor = 0;
    if (flags === "a" || flags === "ax") cursor = -1; // append: position is the size at each write
    const f = new FaultFile(this, inner, node, this.currentEpoch, cursor);
    this.trackOpen(f);
    return f;
  }

  async readFile(path: string): Promise<Buffer> {
    this.gate("readFile", path);
    return this.base.readFile(path);
  }

  async writeFile(path: string, data: Uint8Array, flags: "wx" | "w"): Promise<void> {
    this.gate("writeFile", path, { bytes: data.byteLength });
    await this.base.writeFile(path, data, flags);
    this.modelWriteFile(path, data);
  }

  async link(existingPath: string, newPath: string): Promise<void> {
    this.gate("link", existingPath, { to: newPath });
    await this.base.link(existingPath, newPath);
    this.modelLink(existingPath, newPath);
  }

  async rename(from: string, to: string): Promise<void> {
    this.gate("rename", from, { to });
    await this.base.rename(from, to);
    if (!this.modelRename(from, to)) {
      const st = await this.base.lstat(to);
      this.setEntry(
        to,
        st.isDirectory()
          ? await scanVolatile(this.base, to)
          : st.isSymbolicLink()
            ? { kind: "symlink", target: await this.base.readlink(to) }
            : { kind: "file", durable: Buffer.alloc(0) },
      );
    }
  }

  async unlink(path: string): Promise<void> {
    this.gate("unlink", path);
    await this.base.unlink(path);
    this.deleteEntry(path);
  }

  async symlink(target: string, path: string): Promise<void> {
    this.gate("symlink", path, { to: target });
    await this.base.symlink(target, path);
    if (this.parentOf(path)) this.setEntry(path, { kind: "symlink", target });
  }

  async readlink(path: string): Promise<string> {
    this.gate("readlink", path);
    return this.base.readlink(path);
  }

  async mkdir(path: string, options?: { recursive?: boolean }): Promise<void> {
    this.gate("mkdir", path);
    await this.base.mkdir(path, options);
    this.modelMkdir(path);
  }

  // ---- model updates shared by the async calls and the sync facet -----------------------

  /** A whole-file write (create or truncate-and-write): a tear keeps its first k bytes only. */
  private modelWriteFile(path: string, data: Uint8Array): void {
    const node = this.fileAt(path);
    if (node) this.noteWrite({ node, position: 0, length: data.byteLength, prevSize: 0, overwritten: Buffer.alloc(0) });
  }

  private modelLink(existingPath: string, newPath: string): void {
    const node = this.lookup(existingPath);
    if (node) this.setEntry(newPath, node);
    else this.fileAt(newPath);
  }

  /** False when `to` came from outside root and must be scanned by the caller. */
  private modelRename(from: string, to: string): boolean {
    const node = this.deleteEntry(from);
    if (node) this.setEntry(to, node);
    else if (this.parentOf(to)) return false;
    return true;
  }

  private modelMkdir(path: string): void {
    const parts = this.parts(path);
    if (parts === null) return;
    let dir = this.tree;
    for (const part of parts) {
      let next = dir.entries.get(part);
      if (next === undefined) {
        next = { kind: "dir", entries: new Map(), durable: new Map() };
        dir.entries.set(part, next);
      }
      if (next.kind !== "dir") return;
      dir = next;
    }
  }

  /** The synchronous facet over `base`: the same gates and model updates as the async calls. */
  private syncFacet(base: FsSyncFacet): FsSyncFacet {
    const sync = { sync: true } as const;
    return {
      writeFileExcl: (path, data, mode) => {
        this.gate("writeFile", path, { bytes: data.byteLength, ...sync });
        base.writeFileExcl(path, data, mode);
        this.modelWriteFile(path, data);
      },
      readFileUpTo: (path, maxBytes) => {
        this.gate("readFile", path);
        return base.readFileUpTo(path, maxBytes);
      },
      readAt: (path, position, length) => {
        this.gate("readFile", path);
        return base.readAt(path, position, length);
      },
      link: (existingPath, newPath) => {
        this.gate("link", existingPath, { to: newPath, ...sync });
        base.link(existingPath, newPath);
        this.modelLink(existingPath, newPath);
      },
      rename: (from, to) => {
        this.gate("rename", from, { to, ...sync });
        base.rename(from, to);
        if (!this.modelRename(from, to)) {
          const st = base.lstat(to);
          // (a symlink renamed in from outside root through the sync facet is modelled as
          // an empty file: the facet has no readlink; snap renames symlinks asynchronously)
          this.setEntry(to, st.isDirectory() ? scanVolatileSync(base, to) : { kind: "file", durable: Buffer.alloc(0) });
        }
      },
      unlink: (path) => {
        this.gate("unlink", path, sync);
        base.unlink(path);
        this.deleteEntry(path);
      },
      mkdir: (path, options) => {
        this.gate("mkdir", path, sync);
        base.mkdir(path, options);
        this.modelMkdir(path);
      },
      readdir: (path) => {
        this.gate("readdir", path);
        return base.readdir(path);
      },
      stat: (path) => {
        this.gate("stat", path);
        return base.stat(path);
      },
      statIfExists: (path) => {
        this.gate("stat", path);
        return base.statIfExists(path);
      },
      lstat: (path) => {
        this.gate("stat", path);
        return base.lstat(path);
      },
    };
  }

  async rmdir(path: string): Promise<void> {
    this.gate("rmdir", path);
    await this.base.rmdir(path);
    this.deleteEntry(path);
  }

  async readdir(path: string): Promise<string[]> {
    this.gate("readdir", path);
    return this.base.readdir(path);
  }

  async stat(path: string): Promise<SeamStats> {
    this.gate("stat", path);
    return this.base.stat(path);
  }

  async lstat(path: string): Promise<SeamStats> {
    this.gate("stat", path);
    return this.base.lstat(path);
  }

  async utimes(path: string, atime: Date, mtime: Date): Promise<void> {
    this.gate("utimes", path);
    await this.base.utimes(path, atime, mtime);
  }

  async syncDir(path: string): Promise<void> {
    this.gate("syncDir", path);
    await this.base.syncDir(path);
    const node = this.lookup(path);
    if (node?.kind === "dir") node.durable = new Map(node.entries);
  }

  /** The base's boot id plus the number of simulated power losses: each one is a new boot. */
  bootId(): string | undefined {
    const base = this.base.bootId?.();
    return base === undefined ? undefined : `${base}+powerloss${this.powerLosses}`;
  }
}

/** A directory moved in from outside root: its current content, nothing durable in it. */
async function scanVolatile(base: FsSeam, dir: string): Promise<DirNode> {
  const node = await scan(base, dir);
  node.durable = new Map();
  for (const child of node.entries.values()) if (child.kind === "file") child.durable = Buffer.alloc(0);
  return node;
}

/** scanVolatile through a sync facet (a directory renamed in from outside root). */
function scanVolatileSync(base: FsSyncFacet, dir: string): DirNode {
  const node: DirNode = { kind: "dir", entries: new Map(), durable: new Map() };
  for (const name of base.readdir(dir)) {
    const p = join(dir, name);
    const st = base.lstat(p);
    if (st.isDirectory()) node.entries.set(name, scanVolatileSync(base, p));
    else if (st.isFile()) node.entries.set(name, { kind: "file", durable: Buffer.alloc(0) });
  }
  return node;
}

async function removeTree(base: FsSeam, p: string): Promise<void> {
  const st = await base.lstat(p);
  if (st.isDirectory()) {
    for (const name of await base.readdir(p)) await removeTree(base, join(p, name));
    await base.rmdir(p);
  } else await base.unlink(p);
}

class FaultFile implements SeamFile {
  private open = true;
  readonly blocking: SeamFileBlocking | undefined;

  constructor(
    private readonly seam: FaultSeam,
    private readonly inner: SeamFile,
    private readonly node: FileNode | undefined,
    private readonly epoch: number,
    /** Next write position for writes without one; -1: append mode (write at the size). */
    private cursor: number,
  ) {
    const ib = inner.blocking;
    if (ib !== undefined && seam.base.sync !== undefined) {
      const sync = { sync: true } as const;
      const facet = seam.base.sync;
      this.blocking = {
        append: (data) => {
          this.check("write", { bytes: data.byteLength, ...sync });
          const prevSize = ib.size();
          ib.append(data);
          if (this.node) this.seam.noteWrite({ node: this.node, position: prevSize, length: data.byteLength, prevSize, overwritten: Buffer.alloc(0) });
        },
        writeAt: (data, position) => {
          this.check("write", { bytes: data.byteLength, ...sync });
          const prevSize = ib.size();
          // What the write replaces, so that tearLastWrite can put back the part it drops.
          const overlap = Math.max(0, Math.min(data.byteLength, prevSize - position));
          const overwritten = overlap > 0 ? Buffer.from(facet.readAt(this.path, position, overlap)) : Buffer.alloc(0);
          ib.writeAt(data, position);
          if (this.node) this.seam.noteWrite({ node: this.node, position, length: data.byteLength, prevSize, overwritten });
        },
        readAt: (buffer, offset, length, position) => {
          this.check("read", sync);
          return ib.readAt(buffer, offset, length, position);
        },
        datasync: () => {
          this.check("datasync", sync);
          ib.datasync();
          this.seam.noteSync(this.node, this.seam.readNodeSync(this.node, this.path));
        },
        size: () => {
          this.check("stat");
          return ib.size();
        },
      };
    }
  }

  get path(): string {
    return this.inner.path;
  }

  private check(kind: FaultOpKind, extra: Partial<FaultOp> = {}): void {
    this.seam.checkEpoch(this.epoch, this.path);
    this.seam.gate(kind, this.path, extra);
  }

  async write(data: Uint8Array, position?: number): Promise<void> {
    this.check("write", { bytes: data.byteLength });
    const prevSize = (await this.inner.stat()).size;
    const pos = position ?? (this.cursor < 0 ? prevSize : this.cursor);
    const overlap = Math.max(0, Math.min(data.byteLength, prevSize - pos));
    const overwritten = Buffer.alloc(overlap);
    if (overlap > 0) (await this.seam.readNode(this.node, this.path, pos, overlap)).copy(overwritten);
    await this.inner.write(data, this.cursor < 0 && position === undefined ? undefined : pos);
    if (position === undefined && this.cursor >= 0) this.cursor = pos + data.byteLength;
    if (this.node) this.seam.noteWrite({ node: this.node, position: pos, length: data.byteLength, prevSize, overwritten });
  }

  async read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    this.check("read");
    return this.inner.read(buffer, offset, length, position);
  }

  private content(): Promise<Buffer> {
    return this.seam.readNode(this.node, this.path);
  }

  async sync(): Promise<void> {
    this.check("fsync");
    await this.inner.sync();
    this.seam.noteSync(this.node, await this.content());
  }

  async datasync(): Promise<void> {
    this.check("datasync");
    await this.inner.datasync();
    this.seam.noteSync(this.node, await this.content());
  }

  async stat(): Promise<SeamStats> {
    this.check("stat");
    return this.inner.stat();
  }

  async truncate(length: number): Promise<void> {
    this.check("truncate");
    await this.inner.truncate(length);
  }

  async close(): Promise<void> {
    if (!this.open) return;
    this.open = false;
    this.seam.untrackOpen(this);
    if (this.epoch !== this.seam.currentEpoch) return; // closed by the crash already
    this.seam.gate("close", this.path);
    await this.inner.close();
  }

  /** Closes the real handle (simulated crash). */
  async closeBase(): Promise<void> {
    this.open = false;
    await this.inner.close().catch((err: unknown) => {
      if (!isCode(err, "EBADF")) throw err;
    });
  }
}
