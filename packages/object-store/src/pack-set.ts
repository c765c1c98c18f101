/**
 * The packs of one objects directory as this process knows them: their indexes merged into
 * one map (oid -> where), kept current with what other processes publish or remove.
 *
 * Freshness: a lookup that misses re-reads the pack directory when its mtime changed since
 * the last listing, or when that listing was taken so soon after the last change that a
 * later one could share its timestamp (coarse filesystem clocks). A read that misses always
 * re-lists before it reports object_not_found, and a read whose pack was removed meanwhile
 * (GC repacked it) re-lists and retries.
 */
import { basename, join } from "node:path";
import { ensureDir, type FsSeam, type FsyncBatch, isCode, nodeFs, publishFile, removeFiles, type SeamFile } from "@snap/fs";
import { isSnapError } from "@snap/schema";
import type { FsyncMode } from "./backend.js";
import { OBJECT_FILE_MODE } from "./format.js";
import {
  encodePack,
  PACK_DIR_NAME,
  PACK_FOOTER_BYTES,
  PACK_HEADER_BYTES,
  PACK_ENTRY_BYTES,
  PACK_NAME,
  type PackEntry,
  parsePackIndex,
  parsePackLayout,
} from "./pack.js";

interface Pack {
  name: string;
  path: string;
  entries: PackEntry[];
}

interface Location {
  pack: Pack;
  offset: number;
  length: number;
}

/** A listing taken this close (ms) to the directory's mtime is not trusted to be the last word. */
const CLOCK_SLACK_MS = 50;
const MAX_OPEN_PACKS = 32;

export class PackSet {
  readonly dir: string;
  private packs = new Map<string, Pack>();
  private index = new Map<string, Location>();
  /** Packs that exist but could not be read, by name -> why. */
  readonly damaged = new Map<string, string>();
  private listedMtimeMs = -1;
  private listedAtMs = 0;
  private dirReady = false;
  private readonly handles = new Map<string, Handle>();

  constructor(
    objectsDir: string,
    private readonly fs: FsSeam,
    private readonly durability: FsyncMode,
    private readonly batch: FsyncBatch | undefined,
    /** Packed objects up to this size are read through the seam's sync facet (0: never). */
    private readonly syncReadMax = 0,
  ) {
    this.dir = join(objectsDir, PACK_DIR_NAME);
  }

  /** Packs known to this process. */
  get count(): number {
    return this.packs.size;
  }

  /** The pack directory's mtime, or -1 when it does not exist. */
  private async dirMtime(): Promise<number> {
    if (this.fs.sync) return this.fs.sync.statIfExists(this.dir)?.mtimeMs ?? -1;
    try {
      const st = await this.fs.stat(this.dir);
      return st.mtimeMs;
    } catch (err) {
      if (isCode(err, "ENOENT") || isCode(err, "ENOTDIR")) return -1;
      throw err;
    }
  }

  /** Re-reads the pack directory when it may have changed (or always, with `force`). */
  async refresh(force = false): Promise<void> {
    const mtime = await this.dirMtime();
    if (!force && mtime === this.listedMtimeMs && this.listedAtMs - mtime > CLOCK_SLACK_MS) return;
    const listedAt = Date.now();
    let names: string[];
    try {
      names = mtime < 0 ? [] : this.fs.sync ? this.fs.sync.readdir(this.dir) : await this.fs.readdir(this.dir);
    } catch (err) {
      if (!isCode(err, "ENOENT")) throw err;
      names = [];
    }
    const present = new Set<string>();
    let changed = false;
    for (const file of names) {
      const m = PACK_NAME.exec(file);
      if (!m) continue;
      const name = m[1] as string;
      present.add(name);
      if (this.packs.has(name) || this.damaged.has(name)) continue;
      const pack = await this.load(name);
      if (pack !== undefined) {
        this.packs.set(name, pack);
        changed = true;
      }
    }
    for (const name of [...this.packs.keys()]) {
      if (!present.has(name)) {
        this.packs.delete(name);
        this.dropHandle(name);
        changed = true;
      }
    }
    for (const name of [...this.damaged.keys()]) if (!present.has(name)) this.damaged.delete(name);
    if (changed) this.rebuildIndex();
    this.listedMtimeMs = mtime;
    this.listedAtMs = listedAt;
  }

  private async load(name: string): Promise<Pack | undefined> {
    const path = join(this.dir, `${name}.pack`);
    try {
      return { name, path, entries: await readPackIndexFile(path, this.fs) };
    } catch (err) {
      if (isCode(err, "ENOENT")) return undefined; // removed between readdir and open
      if (!isSnapError(err, "object_corrupt")) throw err;
      this.damaged.set(name, err.message);
      return undefined;
    }
  }

  private rebuildIndex(): void {
    const index = new Map<string, Location>();
    for (const pack of this.packs.values()) {
      for (const e of pack.entries) if (!index.has(e.oid)) index.set(e.oid, { pack, offset: e.offset, length: e.length });
    }
    this.index = index;
  }

  /** Where `oid` is packed, after a refresh when the directory may have changed. */
  async locate(oid: string): Promise<Location | undefined> {
    const hit = this.index.get(oid);
    if (hit !== undefined) return hit;
    await this.refresh();
    return this.index.get(oid);
  }

  /** The packed object's bytes (unverified), or undefined when no pack holds it. */
  async read(oid: string): Promise<Buffer | undefined> {
    // A miss re-lists pack/ before it answers (force: another process may have published a
    // pack within the directory's timestamp granularity); a pack removed under the read (GC
    // rewrote it) re-lists and retries once.
    for (let attempt = 0; attempt < 2; attempt++) {
      let loc = await this.locate(oid);
      if (loc === undefined) {
        await this.refresh(true);
        loc = this.index.get(oid);
      }
      if (loc === undefined) return undefined;
      try {
        return await this.readEntry(loc);
      } catch (err) {
        if (!isCode(err, "ENOENT")) throw err;
        await this.refresh(true);
      }
    }
    return undefined;
  }

  /** The bytes at `loc` (fewer when the pack is short: the store's hash check reports it). */
  private async readEntry(loc: Location): Promise<Buffer> {
    if (loc.length === 0) return Buffer.alloc(0);
    if (this.syncReadMax > 0 && loc.length <= this.syncReadMax && this.fs.sync !== undefined) {
      // Small: open + pread + close synchronously (a few µs from the page cache), not a
      // thread-pool round trip (~50-100 µs); a diff or a view reads objects one by one.
      return this.fs.sync.readAt(loc.pack.path, loc.offset, loc.length);
    }
    const buf = Buffer.allocUnsafe(loc.length);
    const n = await this.withFile(loc.pack, (file) => file.read(buf, 0, loc.length, loc.offset));
    return n === loc.length ? buf : buf.subarray(0, n);
  }

  /** Size and current mtime (the pack file's: GC's grace period) of a packed object. */
  async stat(oid: string): Promise<{ size: number; mtimeMs: number } | undefined> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const loc = await this.locate(oid);
      if (loc === undefined) return undefined;
      try {
        const st = this.fs.sync ? this.fs.sync.stat(loc.pack.path) : await this.fs.stat(loc.pack.path);
        return { size: loc.length, mtimeMs: st.mtimeMs };
      } catch (err) {
        if (!isCode(err, "ENOENT")) throw err;
        await this.refresh(true);
      }
    }
    return undefined;
  }

  /** Refreshes the time of the pack holding `oid`; false when no pack holds it. */
  async freshen(oid: string): Promise<boolean> {
    const loc = await this.locate(oid);
    if (loc === undefined) return false;
    const now = new Date();
    try {
      await this.fs.utimes(loc.pack.path, now, now);
    } catch (err) {
      if (isCode(err, "ENOENT")) {
        await this.refresh(true);
        return this.index.has(oid) ? this.freshen(oid) : false;
      }
      if (!isCode(err, "EPERM") && !isCode(err, "EACCES")) throw err;
    }
    return true;
  }

  /** Every packed oid (after a refresh). */
  async oids(): Promise<string[]> {
    await this.refresh();
    return [...this.index.keys()];
  }

  private async ensureDir(): Promise<void> {
    if (this.dirReady) return;
    await ensureDir(this.dir, { fs: this.fs, durability: this.durability, batch: this.batch });
    this.dirReady = true;
  }

  /**
   * Writes `objects` as one pack (tmp -> [fsync] -> link -> [fsync dir], per the durability
   * mode; "batch": made durable by the next flush) and adds it to the index.
   */
  async publish(objects: Iterable<[string, Uint8Array]>, durability: FsyncMode = this.durability): Promise<void> {
    const pack = encodePack(objects);
    if (pack.entries.length === 0) return;
    await this.ensureDir();
    const path = join(this.dir, `${pack.name}.pack`);
    const batch = durability === "batch" ? this.batch : undefined;
    const options = { fs: this.fs, mode: "no-clobber", durability, batch, fileMode: OBJECT_FILE_MODE } as const;
    try {
      await publishFile(path, pack.bytes, options);
    } catch (err) {
      if (!isCode(err, "ENOENT")) throw err;
      this.dirReady = false; // the directory was removed behind our back
      await this.ensureDir();
      await publishFile(path, pack.bytes, options);
    }
    if (!this.packs.has(pack.name)) {
      const added: Pack = { name: pack.name, path, entries: pack.entries };
      this.packs.set(pack.name, added);
      for (const e of pack.entries) if (!this.index.has(e.oid)) this.index.set(e.oid, { pack: added, offset: e.offset, length: e.length });
    }
  }

  /**
   * Removes `oids` from every pack that holds them: a pack left empty is unlinked; a pack
   * with survivors is rewritten as a new pack of them (published first), then the old one
   * is unlinked. Returns the oids that were packed. A rewritten pack is made durable before
   * the old one is unlinked (except in "never" mode); the unlinks are durable when this
   * resolves ("always") or at the next flush ("batch").
   */
  async remove(oids: Set<string>): Promise<Set<string>> {
    await this.refresh(true);
    const removed = new Set<string>();
    const rewritten: Pack[] = [];
    for (const pack of [...this.packs.values()]) {
      const hits = pack.entries.filter((e) => oids.has(e.oid));
      if (hits.length === 0) continue;
      for (const e of hits) removed.add(e.oid);
      const survivors = pack.entries.filter((e) => !oids.has(e.oid));
      if (survivors.length > 0) {
        const kept: [string, Uint8Array][] = [];
        await this.withFile(pack, async (file) => {
          for (const e of survivors) {
            const buf = Buffer.allocUnsafe(e.length);
            if (e.length > 0) await file.read(buf, 0, e.length, e.offset);
            kept.push([e.oid, buf]); // copied verbatim: a corrupt survivor stays visible to verify
          }
        });
        // The survivors were durable in the old pack: their new pack must be durable (file
        // and directory entry fsynced) before the old one's unlink can reach the disk, which
        // the kernel may write back at any moment, long before a batch flush. Only "never"
        // (nothing promised) skips it.
        await this.publish(kept, this.durability === "never" ? "never" : "always");
      }
      rewritten.push(pack);
    }
    for (const pack of rewritten) {
      this.dropHandle(pack.name);
      this.packs.delete(pack.name);
    }
    // @snap/fs removeFiles: the unlinks (commit points), then pack/ fsynced once ("always")
    // or handed to the flush ("batch").
    await removeFiles(
      rewritten.map((p) => p.path),
      { fs: this.fs, durability: this.durability, batch: this.batch },
    );
    this.rebuildIndex();
    return removed;
  }

  /**
   * Runs `fn` with an open handle on the pack (at most MAX_OPEN_PACKS stay open, least
   * recently used closed first). A handle is closed only once no read is using it: closing
   * an fd under a read in the thread pool could make that read hit a reused descriptor.
   */
  private async withFile<T>(pack: Pack, fn: (file: SeamFile) => Promise<T>): Promise<T> {
    let h = this.handles.get(pack.name);
    if (h === undefined) {
      h = { file: this.fs.open(pack.path, "r"), users: 0, dropped: false };
      h.file.catch(() => undefined);
      this.handles.set(pack.name, h);
      for (const [name, other] of this.handles) {
        if (this.handles.size <= MAX_OPEN_PACKS) break;
        if (other !== h) this.dropHandle(name);
      }
    } else {
      this.handles.delete(pack.name); // most recently used goes last
      this.handles.set(pack.name, h);
    }
    h.users++;
    try {
      let file: SeamFile;
      try {
        file = await h.file;
      } catch (err) {
        if (this.handles.get(pack.name) === h) this.handles.delete(pack.name);
        throw err;
      }
      return await fn(file);
    } finally {
      h.users--;
      if (h.dropped && h.users === 0) closeHandle(h);
    }
  }

  private dropHandle(name: string): void {
    const h = this.handles.get(name);
    if (h === undefined) return;
    this.handles.delete(name);
    h.dropped = true;
    if (h.users === 0) closeHandle(h);
  }

  async close(): Promise<void> {
    const all = [...this.handles.keys()];
    for (const name of all) this.dropHandle(name);
  }
}

/**
 * A pack file's index (header, footer and index block only; the objects are not read).
 * Throws object_corrupt when the file is not a well-formed pack.
 */
export async function readPackIndexFile(path: string, fs: FsSeam = nodeFs): Promise<PackEntry[]> {
  const name = basename(path).replace(/\.pack$/, "");
  const file = await fs.open(path, "r");
  try {
    const { size } = await file.stat();
    const header = Buffer.alloc(PACK_HEADER_BYTES);
    const footer = Buffer.alloc(PACK_FOOTER_BYTES);
    await file.read(header, 0, PACK_HEADER_BYTES, 0);
    await file.read(footer, 0, PACK_FOOTER_BYTES, Math.max(0, size - PACK_FOOTER_BYTES));
    const layout = parsePackLayout(name, size, header, footer);
    const index = Buffer.alloc(layout.count * PACK_ENTRY_BYTES);
    if (index.byteLength > 0) await file.read(index, 0, index.byteLength, layout.indexOffset);
    return parsePackIndex(name, layout, index);
  } finally {
    await file.close();
  }
}

interface Handle {
  file: Promise<SeamFile>;
  users: number;
  dropped: boolean;
}

function closeHandle(h: Handle): void {
  void h.file.then((f) => f.close()).catch(() => undefined);
}
