/**
 * The refs the snapshot code moves, through @snap/refs (journal-backed transactions: the
 * journal append is each transaction's commit point) over the store's @snap/journal, whose
 * lock is the store lock `<store>/lock`. This module only adapts the calls the snapshot
 * code makes; it writes nothing itself.
 */
import { join } from "node:path";
import { openJournal, type Journal } from "@snap/journal";
import { openRefs, type Refs } from "@snap/refs";
import { isOid, isSnapError } from "@snap/schema";

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
  /** Applies every update or none; throws ref_expect_mismatch (data.ref, data.found) when an expect fails. */
  transaction(updates: RefUpdate[], options: { reason: string }): Promise<void>;
  /** Every direct ref under `prefix` (default "refs/") with its raw value, sorted by name. */
  list(prefix?: string): Promise<{ ref: string; oid: string }[]>;
  /** The underlying @snap/refs handle (reflog, verify, snapshot). */
  readonly refs: Refs;
  readonly journal: Journal;
  close(): Promise<void>;
}

export interface OpenSnapRefsOptions {
  storeId: string;
  durability?: "sync" | "group" | "none";
}

export async function openSnapRefs(storeDir: string, options: OpenSnapRefsOptions): Promise<SnapRefs> {
  const journal = await openJournal({
    dir: join(storeDir, "journal"),
    lockPath: join(storeDir, "lock"),
    storeId: options.storeId,
    durability: options.durability ?? "sync",
  });
  let refs: Refs;
  try {
    refs = await openRefs({ dir: storeDir, journal });
  } catch (err) {
    await journal.close().catch(() => undefined);
    throw err;
  }
  return {
    kind: "@snap/refs",
    refs,
    journal,
    async read(ref) {
      try {
        const r = await refs.resolveRef(ref);
        return r.oid !== null && isOid(r.oid) ? r.oid : undefined;
      } catch (err) {
        if (isSnapError(err, "ref_not_found")) return undefined;
        throw err;
      }
    },
    async readSymbolic(ref) {
      try {
        return (await refs.readSymbolic(ref)) ?? undefined;
      } catch (err) {
        if (isSnapError(err, "ref_not_found")) return undefined;
        throw err;
      }
    },
    async transaction(updates, opts) {
      await refs.transaction(
        updates.map((u) => ({ ref: u.ref, expect: u.expect, set: u.set })),
        { reason: opts.reason },
      );
    },
    async list(prefix = "refs/") {
      const rows = await refs.list(prefix);
      return rows
        .filter((r) => r.symbolic === null)
        .map((r) => ({ ref: r.name, oid: r.oid ?? "" }))
        .sort((a, b) => (a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0));
    },
    async close() {
      await journal.close();
    },
  };
}
