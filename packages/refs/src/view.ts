/**
 * The materialized view: ref files under `<dir>` (HEAD, refs/...). Reading is lock-free (a ref
 * file is only ever replaced by rename(2), so a reader sees the old or the new bytes, never a
 * torn file); writing happens only under the store lock, from a committed journal record.
 */
import { dirname, join } from "node:path";
import { type FsSeam, type SeamStats, isCode, isTmpName, publishFile } from "@snap/fs";
import { SnapError } from "@snap/schema";
import { APPLIED_FILE, type RefValue, decodeApplied, decodeRefFile, encodeApplied, encodeRefFile } from "./format.js";
import { isValidRefName, parentNames } from "./names.js";

/**
 * Where a write records what must be fsynced to make it durable: the file written and every
 * directory whose listing changed. `FsyncBatch` satisfies it; so does the refs store's
 * deferred-flush set (refs.ts).
 */
export interface DurabilityTracker {
  addFile(path: string): void;
  addDir(path: string): void;
}

/** A ref file is "<64 hex>\n" or "ref: <name of at most 255 bytes>\n": anything larger is not one. */
const MAX_REF_FILE = 1024;

export class RefView {
  constructor(
    readonly dir: string,
    readonly fs: FsSeam,
  ) {}

  /**
   * lstat through the seam's synchronous facet when it has one (metadata from the page cache:
   * microseconds, where a thread-pool round trip costs 50-100 us on a loaded machine).
   */
  private async lstat(path: string): Promise<SeamStats> {
    const facet = this.fs.sync;
    return facet !== undefined ? facet.lstat(path) : this.fs.lstat(path);
  }

  private async mkdirOne(path: string): Promise<void> {
    const facet = this.fs.sync;
    if (facet !== undefined) facet.mkdir(path);
    else await this.fs.mkdir(path);
  }

  /** The bytes of the file at `path`: synchronously when the seam allows; null when it is a directory. */
  private async readBytes(path: string): Promise<Buffer | null> {
    const facet = this.fs.sync;
    if (facet !== undefined) {
      const bytes = facet.readFileUpTo(path, MAX_REF_FILE);
      if (bytes !== undefined) return bytes;
      // Not a regular file, or larger than any ref file: a directory of refs reads as absent.
      if (facet.lstat(path).isDirectory()) return null;
    }
    return this.fs.readFile(path);
  }

  pathOf(name: string): string {
    return join(this.dir, ...name.split("/"));
  }

  /** The value of ref `name` (a valid name), or null when it does not exist. */
  async readValue(name: string): Promise<RefValue | null> {
    const path = this.pathOf(name);
    let bytes: Buffer | null;
    try {
      bytes = await this.readBytes(path);
    } catch (err) {
      if (isCode(err, "ENOENT") || isCode(err, "EISDIR") || isCode(err, "ENOTDIR")) return null;
      throw ioError(err, path);
    }
    if (bytes === null) return null;
    const value = decodeRefFile(bytes);
    if (value === null) {
      throw new SnapError("corruption_found", `ref file ${path} is not a valid ref ("<oid>\\n" or "ref: <name>\\n")`, {
        data: { ref: name, path, bytes: bytes.length },
        hint: "run refs verify: the file was written outside snap; recover() or a new transaction rewrites it",
      });
    }
    return value;
  }

  /** Every ref under refs/ (and HEAD when `withHead`), sorted by name. Skips publish debris. */
  async listValues(prefix = "", withHead = true): Promise<Map<string, RefValue>> {
    const out = new Map<string, RefValue>();
    if (withHead && "HEAD".startsWith(prefix)) {
      const head = await this.readValue("HEAD");
      if (head !== null) out.set("HEAD", head);
    }
    if (prefix === "" || prefix.startsWith("refs") || "refs/".startsWith(prefix)) {
      // Start the walk at the deepest complete directory of the prefix.
      const cut = prefix.lastIndexOf("/");
      const startName = cut <= 0 ? "refs" : prefix.slice(0, cut);
      await this.walk(startName, async (name) => {
        if (!name.startsWith(prefix) || !isValidRefName(name)) return;
        const value = await this.readValueTolerant(name);
        if (value !== null) out.set(name, value);
      });
    }
    return new Map([...out.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  /** Like readValue, but a file that vanished or is unreadable as a ref is skipped (listing). */
  private async readValueTolerant(name: string): Promise<RefValue | null> {
    try {
      return await this.readValue(name);
    } catch (err) {
      if (err instanceof SnapError && err.code === "corruption_found") return null;
      throw err;
    }
  }

  /**
   * Calls `onFile` with the ref name of every regular file under directory `startName`
   * (itself a ref-name-like path), and `onOther` with every name that is not a valid ref
   * (debris, foreign files) and whether it is publish debris.
   */
  async walk(
    startName: string,
    onFile: (name: string) => Promise<void>,
    onOther?: (path: string, debris: boolean) => Promise<void>,
  ): Promise<void> {
    const root = this.pathOf(startName);
    let entries: string[];
    try {
      entries = await this.fs.readdir(root);
    } catch (err) {
      if (isCode(err, "ENOENT") || isCode(err, "ENOTDIR")) return;
      throw ioError(err, root);
    }
    entries.sort();
    for (const entry of entries) {
      const path = join(root, entry);
      const name = `${startName}/${entry}`;
      if (isTmpName(entry)) {
        await onOther?.(path, true);
        continue;
      }
      let st;
      try {
        st = await this.lstat(path);
      } catch (err) {
        if (isCode(err, "ENOENT")) continue;
        throw ioError(err, path);
      }
      if (st.isDirectory()) await this.walk(name, onFile, onOther);
      else if (st.isFile() && isValidRefName(name)) await onFile(name);
      else await onOther?.(path, false);
    }
  }

  // ---- writing (under the store lock only) -------------------------------------------------

  /**
   * Writes `value` as ref `name` (rename over the old file: readers see old or new bytes;
   * commit point of this file: the rename), WITHOUT fsync: the file and every directory whose
   * listing changed are added to `pending`, whose owner fsyncs them (an FsyncBatch, or the
   * refs store's deferred flush). Directories that stand where the file goes (left empty by
   * earlier deletions) are removed first.
   */
  async writeValue(name: string, value: RefValue, pending: DurabilityTracker, concurrent = false): Promise<void> {
    const path = this.pathOf(name);
    await this.ensureParents(name, pending);
    await this.clearEmptyDirAt(path);
    // durability "never": small, so publishFile runs it through the seam's synchronous facet
    // (microseconds of CPU, no thread-pool hop), unless the caller writes many refs at once:
    // then through the thread pool (`syncMax: 0`), where the file creations and renames,
    // which mostly wait on the filesystem's journal, overlap (2x faster for 100 refs here).
    await publishFile(path, encodeRefFile(value), {
      fs: this.fs,
      mode: "replace",
      durability: "never",
      ...(concurrent ? { syncMax: 0 } : {}),
    });
    pending.addFile(path);
    pending.addDir(dirname(path));
  }

  /**
   * Removes ref `name` (no error when it is absent). The directories whose listing changed go
   * into `dirs` (the caller adds those that still exist to its batch before flushing).
   */
  async deleteValue(name: string, dirs: Set<string>): Promise<void> {
    const path = this.pathOf(name);
    try {
      await this.fs.unlink(path);
    } catch (err) {
      if (isCode(err, "ENOENT") || isCode(err, "ENOTDIR")) return;
      if (isCode(err, "EISDIR") || isCode(err, "EPERM")) return; // a directory is not this ref
      throw ioError(err, path);
    }
    dirs.add(dirname(path));
    await this.pruneEmptyParents(name, dirs);
  }

  /** Adds to `batch` every directory of `dirs` that still exists. */
  async addExistingDirs(dirs: Iterable<string>, batch: DurabilityTracker): Promise<void> {
    for (const dir of dirs) {
      try {
        if ((await this.lstat(dir)).isDirectory()) batch.addDir(dir);
      } catch (err) {
        if (!isCode(err, "ENOENT") && !isCode(err, "ENOTDIR")) throw ioError(err, dir);
      }
    }
  }

  /**
   * True when `path` is a regular file now (false when absent). The deferred flush uses it to
   * skip files deleted since they were written.
   */
  async isFile(path: string): Promise<boolean> {
    try {
      return (await this.lstat(path)).isFile();
    } catch (err) {
      if (isCode(err, "ENOENT") || isCode(err, "ENOTDIR")) return false;
      throw ioError(err, path);
    }
  }

  /** Creates the directories above ref `name`; each new directory's parent goes into `batch`. */
  private async ensureParents(name: string, batch: DurabilityTracker): Promise<void> {
    if (!name.includes("/")) return;
    try {
      if ((await this.lstat(dirname(this.pathOf(name)))).isDirectory()) return; // the common case
    } catch (err) {
      if (!isCode(err, "ENOENT") && !isCode(err, "ENOTDIR")) throw ioError(err, dirname(this.pathOf(name)));
    }
    for (const parent of ["refs", ...parentNames(name)]) {
      if (!name.startsWith(parent + "/")) continue;
      const path = this.pathOf(parent);
      try {
        await this.mkdirOne(path);
        batch.addDir(dirname(path));
      } catch (err) {
        if (!isCode(err, "EEXIST")) throw ioError(err, path);
        // A file where a directory must go is a ref: the caller checked conflicts already,
        // so this is a ref being replaced by a directory in this same transaction (deleted
        // before), or debris.
        const st = await this.lstat(path);
        if (!st.isDirectory()) {
          throw new SnapError("ref_name_conflict", `cannot create ${name}: ${parent} exists as a ref`, {
            data: { ref: name, conflict: parent },
          });
        }
      }
    }
  }

  /** If `path` is a directory tree holding no files but debris, removes it. */
  private async clearEmptyDirAt(path: string): Promise<void> {
    let st;
    try {
      st = await this.lstat(path);
    } catch (err) {
      if (isCode(err, "ENOENT")) return;
      throw ioError(err, path);
    }
    if (!st.isDirectory()) return;
    await this.removeEmptyTree(path);
  }

  private async removeEmptyTree(path: string): Promise<void> {
    for (const entry of await this.fs.readdir(path)) {
      const child = join(path, entry);
      const st = await this.fs.lstat(child);
      if (st.isDirectory()) await this.removeEmptyTree(child);
      else if (isTmpName(entry)) await this.fs.unlink(child);
      else throw new SnapError("ref_name_conflict", `${path} holds refs`, { data: { path } });
    }
    await this.fs.rmdir(path);
  }

  /** Removes directories left empty above a deleted ref (best effort; refs/<kind> stays). */
  private async pruneEmptyParents(name: string, dirs: Set<string>): Promise<void> {
    const parents = parentNames(name).reverse();
    for (const parent of parents) {
      if (parent.split("/").length <= 2) return;
      const path = this.pathOf(parent);
      try {
        await this.fs.rmdir(path);
      } catch {
        return; // not empty (or raced): stop
      }
      dirs.add(dirname(path));
    }
  }

  /** True when something under refs/ lives at `name` as a directory holding refs. */
  async holdsRefsBelow(name: string): Promise<boolean> {
    let found = false;
    const path = this.pathOf(name);
    try {
      const st = await this.lstat(path);
      if (!st.isDirectory()) return false;
    } catch (err) {
      if (isCode(err, "ENOENT") || isCode(err, "ENOTDIR")) return false;
      throw ioError(err, path);
    }
    await this.walk(name, async () => {
      found = true;
    });
    return found;
  }

  /** Names in the directory of ref `name` that equal its last segment ignoring case (not itself). */
  async caseTwins(name: string, listings?: Map<string, Promise<string[]>>): Promise<string[]> {
    const dirPath = dirname(this.pathOf(name));
    const base = name.slice(name.lastIndexOf("/") + 1);
    let listing = listings?.get(dirPath);
    if (listing === undefined) {
      listing = this.fs.readdir(dirPath).catch((err: unknown) => {
        if (isCode(err, "ENOENT") || isCode(err, "ENOTDIR")) return [];
        throw ioError(err, dirPath);
      });
      listings?.set(dirPath, listing);
    }
    const entries = await listing;
    const lower = base.toLowerCase();
    const prefix = name.slice(0, name.lastIndexOf("/") + 1);
    return entries.filter((e) => e !== base && e.toLowerCase() === lower).map((e) => prefix + e);
  }

  // ---- the applied watermark -----------------------------------------------------------------

  async readApplied(): Promise<number> {
    try {
      return decodeApplied(await this.fs.readFile(join(this.dir, APPLIED_FILE))) ?? 0;
    } catch (err) {
      if (isCode(err, "ENOENT")) return 0;
      throw ioError(err, join(this.dir, APPLIED_FILE));
    }
  }

  /**
   * Records `seq` as the watermark: every ref file of every ref_txn up to `seq` is durable.
   * Written only after the flush that made them durable (refs.ts), never fsynced on the
   * transaction path: if it is lost, the watermark reads lower (or 0) and the next holder of
   * the lock rolls forward again from the journal, which is idempotent.
   */
  async writeApplied(seq: number, durability: "never" | "always" = "never"): Promise<void> {
    await publishFile(join(this.dir, APPLIED_FILE), encodeApplied(seq), { fs: this.fs, mode: "replace", durability });
  }
}

export function ioError(err: unknown, path: string): unknown {
  if (err instanceof SnapError) return err;
  const code = typeof err === "object" && err !== null ? (err as { code?: unknown }).code : undefined;
  return new SnapError("io_error", `${String(code ?? "error")} on ${path}: ${err instanceof Error ? err.message : String(err)}`, {
    data: { path, errno_code: typeof code === "string" ? code : null },
    cause: err,
  });
}
