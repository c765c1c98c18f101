/**
 * The refs the snapshot code moves, behind one small interface. With @snap/refs available
 * (its `openRefs` export) the store uses it (journal-backed transactions and reflog);
 * otherwise a minimal built-in file backend with the same on-disk ref format
 * (`refs/...` files holding "<oid>\n", `HEAD` holding "ref: refs/heads/main\n") and a
 * one-record redo log (`refs-txn.json`) so a multi-ref transaction is all-or-nothing.
 */
import { join } from "node:path";
import { fsyncDir, isCode, nodeFs, publishFile, withLock } from "@snap/fs";
import { isOid, isSnapError, SnapError } from "@snap/schema";

export interface RefUpdate {
  ref: string;
  /** The value the ref must hold: an oid, "absent", or "any". */
  expect: string;
  /** The new value: an oid, or "delete". */
  set: string;
}

export interface SnapRefs {
  readonly kind: string;
  /** The oid a ref (or HEAD, following symbolic refs) holds, or undefined. */
  read(ref: string): Promise<string | undefined>;
  /** The target of a symbolic ref (HEAD), or undefined when it is direct or absent. */
  readSymbolic(ref: string): Promise<string | undefined>;
  /** Applies every update or none; throws ref_expect_mismatch (data.ref) when an expect fails. */
  transaction(updates: RefUpdate[], options: { reason: string }): Promise<void>;
  /** Every ref under `prefix` (default all), sorted by name. */
  list(prefix?: string): Promise<{ ref: string; oid: string }[]>;
  close(): Promise<void>;
}

const REF_SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;

export function assertRefName(ref: string): void {
  const ok =
    ref === "HEAD" ||
    (ref.startsWith("refs/") && ref.length <= 255 && ref.split("/").slice(1).every((s) => REF_SEGMENT.test(s) && !s.endsWith(".lock")));
  if (!ok) throw new SnapError("ref_name_invalid", `invalid ref name ${JSON.stringify(ref)}`, { data: { ref } });
}

interface RefsModule {
  openRefs?: (options: { dir: string; journal?: unknown }) => Promise<unknown>;
}

/** Opens @snap/refs when it provides openRefs, else the built-in file backend. */
export async function openSnapRefs(storeDir: string, options: { preferBuiltin?: boolean } = {}): Promise<SnapRefs> {
  if (!options.preferBuiltin && process.env.SNAP_REFS_BACKEND !== "builtin") {
    const external = await tryExternal(storeDir);
    if (external) return external;
  }
  return new FileRefs(storeDir);
}

async function tryExternal(storeDir: string): Promise<SnapRefs | undefined> {
  let mod: RefsModule;
  let journalMod: { openJournal?: (o: { dir: string; lockPath?: string }) => Promise<unknown> };
  try {
    mod = (await import("@snap/refs")) as unknown as RefsModule;
    journalMod = (await import("@snap/journal")) as unknown as typeof journalMod;
  } catch {
    return undefined;
  }
  if (typeof mod.openRefs !== "function" || typeof journalMod.openJournal !== "function") return undefined;
  const journal = await journalMod.openJournal({ dir: join(storeDir, "journal") });
  const refs = (await mod.openRefs({ dir: storeDir, journal })) as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const call = (name: string, ...args: unknown[]) => {
    const fn = refs[name];
    if (typeof fn !== "function") throw new SnapError("internal", `@snap/refs has no ${name}()`);
    return fn.apply(refs, args);
  };
  return {
    kind: "@snap/refs",
    async read(ref) {
      try {
        const v = (await call("resolve", ref)) as unknown;
        if (typeof v === "string") return v;
        if (v && typeof v === "object" && "oid" in v) return (v as { oid: string }).oid;
        return undefined;
      } catch (err) {
        if (isSnapError(err, "ref_not_found")) return undefined;
        throw err;
      }
    },
    async readSymbolic(ref) {
      const v = (await call("readSymbolic", ref).catch((err: unknown) => {
        if (isSnapError(err, "ref_not_found")) return undefined;
        throw err;
      })) as unknown;
      return typeof v === "string" ? v : v && typeof v === "object" && "target" in v ? String((v as { target: string }).target) : undefined;
    },
    async transaction(updates, opts) {
      await call("transaction", updates, opts);
    },
    async list(prefix) {
      const rows = (await call("list", prefix)) as unknown[];
      return rows
        .map((r) => {
          const row = r as { ref?: string; name?: string; oid?: string; value?: string };
          return { ref: (row.ref ?? row.name) as string, oid: (row.oid ?? row.value) as string };
        })
        .filter((r) => isOid(r.oid))
        .sort((a, b) => (a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0));
    },
    async close() {
      await (refs.close?.() ?? Promise.resolve());
      const j = journal as { close?: () => Promise<void> };
      await j.close?.();
    },
  };
}

interface PendingTxn {
  type: "ref_txn_pending";
  schema_version: 1;
  updates: RefUpdate[];
}

/** Built-in file refs: lock -> recover -> check -> publish redo record (commit point) -> apply -> remove. */
class FileRefs implements SnapRefs {
  readonly kind = "builtin";
  private readonly lockPath: string;
  private readonly redoPath: string;

  constructor(private readonly dir: string) {
    this.lockPath = join(dir, "lock");
    this.redoPath = join(dir, "refs-txn.json");
  }

  private path(ref: string): string {
    assertRefName(ref);
    return join(this.dir, ...ref.split("/"));
  }

  private async readRaw(ref: string): Promise<string | undefined> {
    try {
      return (await nodeFs.readFile(this.path(ref))).toString("utf8").trim();
    } catch (err) {
      if (isCode(err, "ENOENT") || isCode(err, "ENOTDIR") || isCode(err, "EISDIR")) return undefined;
      throw err;
    }
  }

  async readSymbolic(ref: string): Promise<string | undefined> {
    const raw = await this.readRaw(ref);
    return raw?.startsWith("ref: ") ? raw.slice(5).trim() : undefined;
  }

  async read(ref: string): Promise<string | undefined> {
    let name = ref;
    for (let depth = 0; depth < 16; depth++) {
      const raw = await this.readRaw(name);
      if (raw === undefined) return undefined;
      if (raw.startsWith("ref: ")) {
        name = raw.slice(5).trim();
        continue;
      }
      return isOid(raw) ? raw : undefined;
    }
    throw new SnapError("ref_cycle", `symbolic ref ${ref} nests deeper than 16`, { data: { ref } });
  }

  private async recover(): Promise<void> {
    let raw: Buffer;
    try {
      raw = await nodeFs.readFile(this.redoPath);
    } catch (err) {
      if (isCode(err, "ENOENT")) return;
      throw err;
    }
    const pending = JSON.parse(raw.toString("utf8")) as PendingTxn;
    await this.apply(pending.updates);
    await nodeFs.unlink(this.redoPath);
    await fsyncDir(this.dir);
  }

  private async apply(updates: RefUpdate[]): Promise<void> {
    for (const u of updates) {
      const p = this.path(u.ref);
      if (u.set === "delete") {
        await nodeFs.unlink(p).catch((err: unknown) => {
          if (!isCode(err, "ENOENT")) throw err;
        });
      } else {
        await nodeFs.mkdir(join(p, ".."), { recursive: true });
        await publishFile(p, Buffer.from(`${u.set}\n`), { mode: "replace" });
      }
    }
  }

  async transaction(updates: RefUpdate[], options: { reason: string }): Promise<void> {
    for (const u of updates) {
      assertRefName(u.ref);
      if (u.set !== "delete" && !isOid(u.set)) throw new SnapError("invalid_argument", `ref ${u.ref}: set must be an oid or "delete"`);
    }
    void options;
    await withLock(this.lockPath, async () => {
      await this.recover();
      for (const u of updates) {
        if (u.expect === "any") continue;
        const current = await this.read(u.ref);
        const ok = u.expect === "absent" ? current === undefined : current === u.expect;
        if (!ok) {
          throw new SnapError("ref_expect_mismatch", `${u.ref} moved (expected ${u.expect}, found ${current ?? "absent"})`, {
            data: { ref: u.ref, expected: u.expect, found: current ?? null },
          });
        }
      }
      const record: PendingTxn = { type: "ref_txn_pending", schema_version: 1, updates };
      await publishFile(this.redoPath, Buffer.from(JSON.stringify(record)), { mode: "replace" }); // commit point
      await this.apply(updates);
      await nodeFs.unlink(this.redoPath);
      await fsyncDir(this.dir);
    });
  }

  async list(prefix = "refs/"): Promise<{ ref: string; oid: string }[]> {
    await this.recoverIfPending();
    const out: { ref: string; oid: string }[] = [];
    const walk = async (rel: string): Promise<void> => {
      let names: string[];
      try {
        names = await nodeFs.readdir(join(this.dir, ...rel.split("/")));
      } catch (err) {
        if (isCode(err, "ENOENT") || isCode(err, "ENOTDIR")) return;
        throw err;
      }
      for (const name of names) {
        if (name.startsWith(".tmp-")) continue;
        const child = `${rel}/${name}`;
        const st = await nodeFs.lstat(join(this.dir, ...child.split("/")));
        if (st.isDirectory()) await walk(child);
        else if (child.startsWith(prefix)) {
          const v = await this.readRaw(child);
          if (v !== undefined) out.push({ ref: child, oid: v });
        }
      }
    };
    await walk("refs");
    return out.sort((a, b) => (a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0));
  }

  private async recoverIfPending(): Promise<void> {
    try {
      await nodeFs.stat(this.redoPath);
    } catch {
      return;
    }
    await withLock(this.lockPath, () => this.recover());
  }

  async close(): Promise<void> {}
}
