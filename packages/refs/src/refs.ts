/**
 * openRefs: git-like refs whose write-ahead log and reflog is the journal (DESIGN.md "Refs").
 *
 * A transaction, under the store lock (the journal's lock hold):
 *   (1) roll forward: apply every committed ref_txn record above what this process knows is
 *       applied (from the durable watermark when it does not know);
 *   (2) check every `expect` against the current value (read AFTER taking the lock);
 *   (3) append one ref_txn record with durability "sync"      <- COMMIT POINT (one fdatasync)
 *   (4) write every ref file (tmp + rename, no fsync): visible to every reader at once;
 *   (5) make ref files durable: with refFiles "per-transaction" now, in one FsyncBatch; with
 *       "deferred" (the default) once the durable watermark lags maxUnflushedSeqs behind, in
 *       one FsyncBatch covering every transaction since; then record the watermark
 *       (refs-applied: every ref file up to that seq is durable; not fsynced).
 * A crash before (3) changes nothing; after (3) the next lock holder rolls forward. A power
 * loss can undo un-fsynced ref files, never the journal: recovery replays every transaction
 * above the durable watermark (idempotent), so ref files are a cache of the journal that is
 * flushed like a database's data pages behind its write-ahead log.
 */
import { randomBytes } from "node:crypto";
import { dirname, join } from "node:path";
import { type FsSeam, FsyncBatch, isCode, nodeFs, removeTree } from "@snap/fs";
import { SnapError, isOid, isSnapError, parseVersioned } from "@snap/schema";
import { type RefValue, isSymbolicValue, symbolicTarget, symbolicValue } from "./format.js";
import { HEAD, assertRefName, assertRefPrefix, findNameConflict, parentNames } from "./names.js";
import {
  REF_TXN_ACTION,
  REF_TXN_ITEM_ID,
  REF_TXN_ITEM_TYPE,
  type RefLog,
  type RefLogHold,
  readRefTxns,
} from "./reflog.js";
import {
  type RefTxnPayload,
  type ReflogEntry,
  type RefsSnapshot,
  type RefsVerifyReport,
  refTxnSchema,
} from "./schema.js";
import { type DurabilityTracker, RefView, ioError } from "./view.js";

/** Symbolic refs resolve to at most this depth. */
export const MAX_SYMREF_DEPTH = 16;

export type RefExpect = string | "absent" | "any";
export type RefSet = string | "delete" | { symbolic: string };

export interface RefUpdate {
  ref: string;
  /** The value the ref must have now: an oid, "absent" (must not exist) or "any" (default). */
  expect?: RefExpect;
  /** The new value: an oid, "delete", or `{symbolic: "refs/heads/x"}`. */
  set: RefSet;
  /**
   * When `ref` is a symbolic ref and `set` is an oid or "delete", the update applies to the
   * ref it resolves to (git's default); `deref: false` replaces the symbolic ref itself.
   * Default true.
   */
  deref?: boolean;
}

export interface TransactionOptions {
  /** Why (recorded in the reflog). */
  reason?: string;
}

export interface TransactionResult {
  /** Journal seq of the committed ref_txn record. */
  seq: number;
  txnId: string;
  /** Every ref written, with its old and new value (after symbolic-ref resolution). */
  updates: { ref: string; old: RefValue | null; new: RefValue | null; via?: string }[];
}

export interface RefEntry {
  name: string;
  /** The oid of a direct ref, null for a symbolic one. */
  oid: string | null;
  /** The target of a symbolic ref, null for a direct one. */
  symbolic: string | null;
}

export interface RecoverResult {
  /** Watermark after recovery: every ref file up to this journal seq is written and durable. */
  appliedSeq: number;
  /**
   * Committed transactions replayed from the journal: every one above the durable watermark
   * (with refFiles "deferred" that includes applied ones whose files were not flushed yet).
   */
  rolledForward: number;
  /** Ref files rewritten (those that did not hold their replayed value). */
  refsWritten: number;
  /** Publish debris (.tmp-*) removed from refs/. */
  debrisRemoved: number;
}

export interface FlushResult {
  /** Every ref file of every transaction up to this journal seq is durable. */
  durableSeq: number;
  /** Ref files and directories fsynced by this flush. */
  files: number;
  dirs: number;
}

/** Default `maxUnflushedSeqs`. */
export const DEFAULT_MAX_UNFLUSHED_SEQS = 64;

export interface OpenRefsOptions {
  /** The store directory: holds HEAD, refs/ and refs-applied. */
  dir: string;
  /** The write-ahead log: @snap/journal's handle (its lock is the store lock). */
  journal: RefLog;
  /** The filesystem seam (default: the real one). Pass the journal's seam. */
  fs?: FsSeam;
  /** Roll forward committed transactions on open (default true; takes the lock once). */
  recover?: boolean;
  /**
   * When ref files are fsynced (the journal record, fdatasynced before a transaction resolves,
   * is what makes a transaction durable either way):
   * - "deferred" (default): a transaction renames its ref files into place without fsync; one
   *   FsyncBatch makes every ref file written since the last flush durable once the durable
   *   watermark lags `maxUnflushedSeqs` journal seqs behind, and on `flush()` / `recover()`.
   *   After a power loss, recovery replays the transactions above the watermark.
   * - "per-transaction": every transaction ends with one FsyncBatch of its own ref files.
   */
  refFiles?: "deferred" | "per-transaction";
  /** "deferred": flush once the watermark is this many journal seqs behind (default 64, >= 1). */
  maxUnflushedSeqs?: number;
}

export interface Refs {
  readonly dir: string;
  /** The oid of direct ref `name`, or null when it is absent or symbolic (no resolution). */
  read(name: string): Promise<string | null>;
  /** The raw value of `name` (oid, or "ref: <target>"), or null when absent. */
  readValue(name: string): Promise<RefValue | null>;
  /** Follows symbolic refs (depth 16, cycles refused with ref_cycle) to an oid; ref_not_found if missing. */
  resolve(name: string): Promise<string>;
  /** Like resolve, with the name of the direct ref reached; oid null when that ref is absent. */
  resolveRef(name: string): Promise<{ ref: string; oid: string | null }>;
  /** The target of symbolic ref `name` (default HEAD), null if it is a direct ref; ref_not_found if absent. */
  readSymbolic(name?: string): Promise<string | null>;
  /** Points symbolic ref `name` at `target` (journaled like any transaction). */
  setSymbolic(name: string, target: string, options?: TransactionOptions & { expect?: RefExpect }): Promise<TransactionResult>;
  /** Applies `updates` atomically (all or nothing, also across a crash) under the store lock. */
  transaction(updates: RefUpdate[], options?: TransactionOptions): Promise<TransactionResult>;
  /** Refs whose name starts with `prefix` (default: all, with HEAD), sorted by name. */
  list(prefix?: string): Promise<RefEntry[]>;
  /** Reflog of `name`, newest first (read from the journal; survives the ref's deletion). */
  log(name: string, options?: { limit?: number }): Promise<ReflogEntry[]>;
  /** Every ref at one applied seq: never shows a transaction half-applied. Takes the lock. */
  snapshot(): Promise<RefsSnapshot>;
  /** Rolls forward committed transactions and removes publish debris. Takes the lock. */
  recover(): Promise<RecoverResult>;
  /**
   * Makes every ref file durable (one FsyncBatch) and records the watermark durably, so that
   * a power loss from now on needs no replay. Takes the lock. `refFiles: "deferred"` flushes
   * by itself every `maxUnflushedSeqs`; call this before a backup or a planned shutdown.
   */
  flush(): Promise<FlushResult>;
  /** Rebuilds the ref files from the journal in a temporary directory and diffs them with the live ones. */
  verify(options?: { rollForward?: boolean }): Promise<RefsVerifyReport>;
}

let txnCounter = 0;
/** Transaction ids: pid, a per-process random nonce and a counter (no entropy read per transaction). */
let txnNonce: string | undefined;
function nextTxnId(): string {
  txnNonce ??= randomBytes(4).toString("hex");
  return `t_${process.pid}_${++txnCounter}_${txnNonce}`;
}

export async function openRefs(options: OpenRefsOptions): Promise<Refs> {
  if (typeof options?.dir !== "string" || options.dir === "") {
    throw new SnapError("invalid_argument", "openRefs: dir is required", { data: { argument: "dir" } });
  }
  if (options.journal === undefined || typeof options.journal.withLock !== "function") {
    throw new SnapError("invalid_argument", "openRefs: journal is required (an @snap/journal handle)", {
      data: { argument: "journal" },
    });
  }
  const fs = options.fs ?? nodeFs;
  const refFiles = options.refFiles ?? "deferred";
  if (refFiles !== "deferred" && refFiles !== "per-transaction") {
    throw new SnapError("invalid_argument", 'openRefs: refFiles must be "deferred" or "per-transaction"', {
      data: { argument: "refFiles" },
    });
  }
  const maxUnflushedSeqs = options.maxUnflushedSeqs ?? DEFAULT_MAX_UNFLUSHED_SEQS;
  if (!Number.isSafeInteger(maxUnflushedSeqs) || maxUnflushedSeqs < 1) {
    throw new SnapError("invalid_argument", "openRefs: maxUnflushedSeqs must be an integer >= 1", {
      data: { argument: "maxUnflushedSeqs" },
    });
  }
  try {
    await fs.mkdir(join(options.dir, "refs"), { recursive: true });
  } catch (err) {
    throw ioError(err, join(options.dir, "refs"));
  }
  const refs = new RefStore(options.dir, options.journal, fs, refFiles === "per-transaction" ? 0 : maxUnflushedSeqs);
  if (options.recover !== false) await refs.recover();
  return refs;
}

interface PlannedUpdate {
  ref: string;
  via?: string;
  old: RefValue | null;
  new: RefValue | null;
  expect: RefExpect;
}

/** How many file operations of one transaction run at once (the libuv pool has 4 threads). */
const IO_CONCURRENCY = 8;
/** Up to this many ref files per transaction are written synchronously (see RefView.writeValue). */
const SYNC_WRITES_MAX = 4;

/** Runs `fn` over `items` with at most `limit` in flight; results in input order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  });
  await Promise.all(workers);
  return out;
}

interface PreparedUpdate {
  ref: string;
  expect: RefExpect;
  set: RefValue | null; // null: delete
  deref: boolean;
}

/**
 * What the next flush must fsync: every ref file written, and every directory whose listing
 * changed, since the durable watermark (paths; files deleted since are skipped at flush time).
 */
class PendingFlush implements DurabilityTracker {
  readonly files = new Set<string>();
  readonly dirs = new Set<string>();
  addFile(path: string): void {
    this.files.add(path);
  }
  addDir(path: string): void {
    this.dirs.add(path);
  }
  get empty(): boolean {
    return this.files.size === 0 && this.dirs.size === 0;
  }
  clear(): void {
    this.files.clear();
    this.dirs.clear();
  }
}

class RefStore implements Refs {
  private readonly view: RefView;
  /**
   * Seq up to which this process knows every ref_txn's files are written (in the page cache
   * at least), under the lock; -1: unknown (read the watermark and roll forward from it).
   */
  private appliedSeq = -1;
  /** The durable watermark (refs-applied) as this process last read or wrote it. */
  private durableSeq = -1;
  /** Ref files and directories written since `durableSeq`, not yet fsynced. */
  private readonly pending = new PendingFlush();

  constructor(
    readonly dir: string,
    private readonly journal: RefLog,
    private readonly fs: FsSeam,
    /** Flush once the watermark lags this many seqs behind; 0: every transaction. */
    private readonly maxUnflushedSeqs: number,
  ) {
    this.view = new RefView(dir, fs);
  }

  // ---- reads (lock-free) ------------------------------------------------------------------

  async read(name: string): Promise<string | null> {
    assertRefName(name);
    const value = await this.view.readValue(name);
    return value === null || isSymbolicValue(value) ? null : value;
  }

  async readValue(name: string): Promise<RefValue | null> {
    assertRefName(name);
    return this.view.readValue(name);
  }

  async resolve(name: string): Promise<string> {
    const { ref, oid } = await this.resolveRef(name);
    if (oid === null) {
      throw new SnapError("ref_not_found", ref === name ? `no ref ${name}` : `${name} points to ${ref}, which does not exist`, {
        data: { ref: name, resolved: ref },
        hint: "list refs with `snap refs`",
      });
    }
    return oid;
  }

  async resolveRef(name: string): Promise<{ ref: string; oid: string | null }> {
    assertRefName(name);
    const chain = await resolveChain((n) => this.view.readValue(n), name);
    return { ref: chain.ref, oid: chain.value };
  }

  async readSymbolic(name: string = HEAD): Promise<string | null> {
    assertRefName(name);
    const value = await this.view.readValue(name);
    if (value === null) throw new SnapError("ref_not_found", `no ref ${name}`, { data: { ref: name } });
    return symbolicTarget(value);
  }

  async list(prefix = ""): Promise<RefEntry[]> {
    assertRefPrefix(prefix);
    const values = await this.view.listValues(prefix);
    return [...values].map(([name, value]) => toEntry(name, value));
  }

  async log(name: string, options: { limit?: number } = {}): Promise<ReflogEntry[]> {
    assertRefName(name);
    const limit = options.limit ?? Infinity;
    if (!(limit >= 0)) throw new SnapError("invalid_argument", "log: limit must be >= 0", { data: { argument: "limit" } });
    const entries: ReflogEntry[] = [];
    for await (const txn of readRefTxns(this.journal, 1)) {
      for (const u of txn.payload.updates) {
        if (u.ref !== name && u.via !== name) continue;
        const entry: ReflogEntry = {
          type: "reflog_entry",
          schema_version: 1,
          ref: name,
          seq: txn.seq,
          txn_id: txn.payload.txn_id,
          old: u.old,
          new: u.new,
          reason: txn.payload.reason,
          writer: txn.writer,
          time: txn.ts,
        };
        if (u.via !== undefined) entry.via = u.via;
        if (u.via === name) entry.ref = u.ref;
        entries.push(entry);
      }
    }
    entries.reverse();
    return Number.isFinite(limit) ? entries.slice(0, limit) : entries;
  }

  // ---- writes (under the lock) ------------------------------------------------------------

  async setSymbolic(
    name: string,
    target: string,
    options: TransactionOptions & { expect?: RefExpect } = {},
  ): Promise<TransactionResult> {
    assertRefName(name);
    assertRefName(target, "symbolic ref target");
    const update: RefUpdate = { ref: name, set: { symbolic: target }, deref: false };
    if (options.expect !== undefined) update.expect = options.expect;
    return this.transaction([update], { reason: options.reason ?? `symbolic ${name} -> ${target}` });
  }

  async transaction(updates: RefUpdate[], options: TransactionOptions = {}): Promise<TransactionResult> {
    const prepared = prepareUpdates(updates);
    const reason = options.reason ?? "";
    if (typeof reason !== "string" || reason.length > 4096) {
      throw new SnapError("invalid_argument", "reason must be a string of at most 4096 characters", { data: { argument: "reason" } });
    }
    // Lock-free pre-check: an obvious a vs a/b conflict is refused before any file (even the
    // lock) is touched. The same check runs again under the lock, where it is authoritative.
    await this.precheckConflicts(prepared);
    return this.locked(async (hold) => {
      await this.rollForward(hold);

      // Resolve symbolic refs and read current values: all after taking the lock.
      const planned = await mapLimit(prepared, IO_CONCURRENCY, async (u) => {
        let target = u.ref;
        let old = await this.view.readValue(u.ref);
        let via: string | undefined;
        if (u.deref && old !== null && isSymbolicValue(old)) {
          const chain = await resolveChain((n) => this.view.readValue(n), u.ref);
          target = chain.ref;
          old = chain.value;
          via = u.ref;
        }
        const item: PlannedUpdate = { ref: target, old, new: u.set, expect: u.expect };
        if (via !== undefined) item.via = via;
        return item;
      });
      const seen = new Set<string>();
      for (const p of planned) {
        if (seen.has(p.ref)) {
          throw new SnapError("invalid_argument", `the transaction updates ${p.ref} twice (through a symbolic ref)`, {
            data: { ref: p.ref },
          });
        }
        seen.add(p.ref);
      }

      // Every expect, against the values read under the lock.
      const mismatches = planned
        .filter((p) => !expectHolds(p.expect, p.old))
        .map((p) => ({ ref: p.ref, expected: p.expect, found: p.old }));
      if (mismatches.length > 0) {
        const first = mismatches[0]!;
        throw new SnapError(
          "ref_expect_mismatch",
          `${first.ref} moved (expected ${describe(first.expected)}, found ${describe(first.found)})` +
            (mismatches.length > 1 ? ` (+${mismatches.length - 1} more)` : ""),
          {
            data: { ref: first.ref, expected: first.expected, found: first.found, mismatches },
            hint: "re-read the ref and retry on top of its new value",
          },
        );
      }

      await this.checkConflicts(planned);

      const txnId = nextTxnId();
      const payload: RefTxnPayload = {
        type: "ref_txn",
        schema_version: 1,
        txn_id: txnId,
        reason,
        updates: planned.map((p) => {
          const u: RefTxnPayload["updates"][number] = { ref: p.ref, old: p.old, new: p.new };
          if (p.via !== undefined) u.via = p.via;
          return u;
        }),
      };
      parseVersioned(refTxnSchema, payload);

      // (3) The commit point: one record, fdatasynced before append() resolves.
      const { seq } = await hold.append(
        { action: REF_TXN_ACTION, item_type: REF_TXN_ITEM_TYPE, item_id: REF_TXN_ITEM_ID, payload },
        { durability: "sync" },
      );

      // (4) + (5): materialize, and flush when due. A failure here leaves a committed
      // transaction that the next lock holder rolls forward: say so, the caller must not retry it.
      this.appliedSeq = -1;
      try {
        await this.applyValues(new Map(planned.map((p) => [p.ref, p.new])), seq, false);
        if (this.appliedSeq - this.durableSeq >= this.maxUnflushedSeqs) await this.flushPending(false);
      } catch (err) {
        this.appliedSeq = -1; // the next lock holder replays from the durable watermark
        const inner = isSnapError(err) ? err.toJSON() : { message: String(err) };
        throw new SnapError(
          isSnapError(err, "fault_injected") ? "fault_injected" : "io_error",
          `transaction ${txnId} is committed (journal seq ${seq}) but its ref files could not be written: ${inner.message}`,
          {
            data: { committed: true, seq, txn_id: txnId, cause: inner },
            hint: "do not retry it: the next transaction, recover() or openRefs() applies it from the journal",
            cause: err,
          },
        );
      }
      return { seq, txnId, updates: payload.updates };
    });
  }

  async snapshot(): Promise<RefsSnapshot> {
    return this.locked(async (hold) => {
      await this.rollForward(hold);
      const values = await this.view.listValues("");
      return {
        type: "refs_snapshot",
        schema_version: 1,
        applied_seq: this.appliedSeq,
        refs: Object.fromEntries(values),
      };
    });
  }

  async recover(): Promise<RecoverResult> {
    return this.locked(async (hold) => {
      this.appliedSeq = -1; // re-read the watermark
      const result = await this.rollForward(hold);
      await this.flushPending(true);
      let debrisRemoved = 0;
      await this.view.walk(
        "refs",
        async () => undefined,
        async (path, debris) => {
          if (!debris) return;
          try {
            await this.fs.unlink(path);
            debrisRemoved++;
          } catch (err) {
            if (!isCode(err, "ENOENT")) throw ioError(err, path);
          }
        },
      );
      return { appliedSeq: this.appliedSeq, ...result, debrisRemoved };
    });
  }

  async flush(): Promise<FlushResult> {
    return this.locked(async (hold) => {
      await this.rollForward(hold);
      const { files, dirs } = await this.flushPending(true);
      return { durableSeq: this.durableSeq, files, dirs };
    });
  }

  async verify(options: { rollForward?: boolean } = {}): Promise<RefsVerifyReport> {
    return this.locked(async (hold) => {
      if (options.rollForward !== false) await this.rollForward(hold);
      const appliedSeq = this.appliedSeq >= 0 ? this.appliedSeq : await this.view.readApplied();
      let historyGap = false;
      const expected = new Map<string, RefValue>();
      let transactions = 0;
      for await (const txn of readRefTxns(this.journal, 1, hold.lastSeq, () => (historyGap = true))) {
        transactions++;
        for (const u of txn.payload.updates) {
          if (u.new === null) expected.delete(u.ref);
          else expected.set(u.ref, u.new);
        }
      }
      // Rebuild the files in a temporary directory with the same writer, then diff the trees.
      const tmpRoot = join(this.dir, "tmp", `refs-verify-${process.pid}-${randomBytes(4).toString("hex")}`);
      const rebuilt = new RefView(tmpRoot, this.fs);
      const unreadable: RefsVerifyReport["unreadable"] = [];
      let live = new Map<string, RefValue>();
      let rebuiltValues = new Map<string, RefValue>();
      try {
        await this.fs.mkdir(join(tmpRoot, "refs"), { recursive: true });
        const scratch = new FsyncBatch({ fs: this.fs });
        for (const [name, value] of expected) await rebuilt.writeValue(name, value, scratch);
        rebuiltValues = await rebuilt.listValues("");
        const head = await this.view.readValue(HEAD).catch((err: unknown) => {
          if (isSnapError(err, "corruption_found")) {
            unreadable.push({ path: this.view.pathOf(HEAD), reason: err.message });
            return null;
          }
          throw err;
        });
        if (head !== null) live.set(HEAD, head);
        await this.view.walk(
          "refs",
          async (name) => {
            try {
              const value = await this.view.readValue(name);
              if (value !== null) live.set(name, value);
            } catch (err) {
              if (!isSnapError(err, "corruption_found")) throw err;
              unreadable.push({ path: this.view.pathOf(name), reason: err.message });
            }
          },
          async (path, debris) => {
            if (!debris) unreadable.push({ path, reason: "not a valid ref name" });
          },
        );
      } finally {
        await removeTree(tmpRoot, { fs: this.fs, durability: "never" });
      }
      const names = [...new Set([...rebuiltValues.keys(), ...live.keys()])].sort();
      const mismatches: RefsVerifyReport["mismatches"] = [];
      for (const name of names) {
        const e = rebuiltValues.get(name) ?? null;
        const f = live.get(name) ?? null;
        if (e !== f) mismatches.push({ ref: name, expected: e, found: f });
      }
      return {
        type: "refs_verify_report",
        schema_version: 1,
        ok: mismatches.length === 0 && unreadable.length === 0 && !historyGap,
        journal_seq: hold.lastSeq,
        applied_seq: appliedSeq,
        transactions,
        refs_checked: names.length,
        mismatches,
        unreadable,
        history_gap: historyGap,
      };
    });
  }

  // ---- internals ----------------------------------------------------------------------------

  /** Runs `fn` holding the store lock; lock_timeout becomes ref_locked (holder pid and age). */
  private async locked<T>(fn: (hold: RefLogHold) => Promise<T>): Promise<T> {
    try {
      return await this.journal.withLock(fn);
    } catch (err) {
      if (isSnapError(err, "lock_timeout")) {
        const holder = (err.data.holder ?? null) as { pid?: number } | null;
        const age = err.data.age_ms ?? null;
        throw new SnapError(
          "ref_locked",
          holder?.pid !== undefined
            ? `refs are locked by pid ${holder.pid} (held for ${String(age)} ms)`
            : "refs are locked by another process",
          {
            data: { holder_pid: holder?.pid ?? null, age_ms: age, holder, lock_path: err.data.lock_path ?? null },
            hint: err.hint ?? "wait for the other process and retry",
            cause: err,
          },
        );
      }
      throw err;
    }
  }

  /**
   * (1) Brings the ref files up to the journal's head. When this process does not know them
   * to be (another process wrote since, or a crash or power loss intervened), it replays every
   * committed ref_txn above the durable watermark: folds them to each ref's final value and
   * rewrites only refs whose file differs (a ref never moves backwards for a lock-free reader).
   * Every ref those transactions touched goes into the pending flush: their files may be
   * another process's un-fsynced writes.
   */
  private async rollForward(hold: RefLogHold): Promise<{ rolledForward: number; refsWritten: number }> {
    const head = hold.lastSeq;
    if (this.appliedSeq === head) return { rolledForward: 0, refsWritten: 0 };
    const durable = await this.view.readApplied();
    this.pending.clear();
    if (durable >= head) {
      if (durable > head) {
        // The journal lost records the watermark saw (a journal recovery cut); the files
        // hold them. Lower the watermark, or the seqs the journal hands out next (<= durable)
        // would count as durable before their ref files are.
        await this.view.writeApplied(head, "always");
      }
      this.appliedSeq = head;
      this.durableSeq = head;
      return { rolledForward: 0, refsWritten: 0 };
    }
    const finals = new Map<string, RefValue | null>();
    let rolledForward = 0;
    for await (const txn of readRefTxns(this.journal, durable + 1, head)) {
      rolledForward++;
      for (const u of txn.payload.updates) finals.set(u.ref, u.new);
    }
    for (const name of finals.keys()) this.addWithAncestors(name);
    const refsWritten = await this.applyValues(finals, head, true);
    this.durableSeq = durable;
    return { rolledForward, refsWritten };
  }

  /** A ref's file and every directory above it, up to the store directory, go into the pending flush. */
  private addWithAncestors(name: string): void {
    let path = this.view.pathOf(name);
    this.pending.addFile(path);
    while (path !== this.dir && path.length > this.dir.length) {
      path = dirname(path);
      this.pending.addDir(path);
    }
  }

  /**
   * Writes (renames into place) the ref files of `values` without fsync, adds them to the
   * pending flush, and records `seq` as applied by this process.
   */
  private async applyValues(values: Map<string, RefValue | null>, seq: number, skipEqual = false): Promise<number> {
    const changedDirs = new Set<string>();
    let written: number;
    let entries = [...values];
    if (skipEqual) {
      const current = await mapLimit(entries, IO_CONCURRENCY, async ([name]) => {
        try {
          return await this.view.readValue(name);
        } catch (err) {
          if (!isSnapError(err, "corruption_found")) throw err;
          return "corrupt";
        }
      });
      entries = entries.filter(([, value], i) => current[i] !== value);
    }
    // Deletions first (a ref deleted in the same transaction may free a directory name),
    // then the writes; the final names are conflict-free, so writes can run side by side.
    await mapLimit(
      entries.filter(([, v]) => v === null),
      IO_CONCURRENCY,
      ([name]) => this.view.deleteValue(name, changedDirs),
    );
    const writes = entries.filter(([, v]) => v !== null);
    const concurrent = writes.length > SYNC_WRITES_MAX;
    await mapLimit(writes, IO_CONCURRENCY, ([name, value]) => this.view.writeValue(name, value as RefValue, this.pending, concurrent));
    written = entries.length;
    for (const dir of changedDirs) this.pending.addDir(dir);
    this.appliedSeq = seq;
    return written;
  }

  /**
   * (5) Makes every pending ref file and directory durable in one FsyncBatch (files first,
   * then directories: the batch's order), then records the watermark. Under the lock only.
   * Commit point of the flush: the watermark write; before it, a crash or power loss only
   * means the same transactions are replayed again.
   */
  private async flushPending(durableWatermark: boolean): Promise<{ files: number; dirs: number }> {
    if (this.pending.empty && this.durableSeq === this.appliedSeq) return { files: 0, dirs: 0 };
    const batch = new FsyncBatch({ fs: this.fs });
    for (const file of this.pending.files) if (await this.view.isFile(file)) batch.addFile(file);
    await this.view.addExistingDirs(this.pending.dirs, batch);
    const counts = { files: batch.pendingFiles, dirs: batch.pendingDirs };
    if (counts.files + counts.dirs > 0) await batch.flush(); // ref files durable
    await this.view.writeApplied(this.appliedSeq, durableWatermark ? "always" : "never");
    this.durableSeq = this.appliedSeq;
    this.pending.clear();
    return counts;
  }

  /**
   * Lock-free: refuses an obvious D/F conflict of a ref this transaction would create. A ref
   * whose file exists now cannot be in one (it is a file, and its parents are directories),
   * so only absent refs are checked (the authoritative check runs again under the lock).
   */
  private async precheckConflicts(prepared: PreparedUpdate[]): Promise<void> {
    const deleted = new Set(prepared.filter((p) => p.set === null).map((p) => p.ref));
    const names: string[] = [];
    for (const u of prepared) {
      if (u.set === null || u.ref === HEAD) continue;
      const exists = await this.view.readValue(u.ref).then(
        (v) => v !== null,
        () => true, // unreadable: a file is there; the check under the lock decides
      );
      if (!exists) names.push(u.ref);
    }
    if (names.length > 0) await this.checkDiskConflicts(names, deleted, false);
  }

  /** D/F and case conflicts of the refs this transaction creates, against the disk and each other. */
  private async checkConflicts(planned: PlannedUpdate[]): Promise<void> {
    const deleted = new Set(planned.filter((p) => p.new === null).map((p) => p.ref));
    const created = planned.filter((p) => p.new !== null && p.old === null).map((p) => p.ref);
    const staying = planned.filter((p) => p.new !== null).map((p) => p.ref);
    const inTxn = findNameConflict(staying);
    if (inTxn !== null) throw conflictError(inTxn[1], inTxn[0]);
    await this.checkDiskConflicts(created, deleted, true);
  }

  /**
   * For each name to create: no parent path is a ref, no refs live below it, and (withCase)
   * no ref in its directory differs from it only by case; refs in `deleted` do not count.
   */
  private async checkDiskConflicts(names: string[], deleted: Set<string>, withCase: boolean): Promise<void> {
    const parents = new Map<string, Promise<RefValue | null | "unreadable">>();
    const readParent = (p: string) => {
      let v = parents.get(p);
      if (v === undefined) {
        v = this.view.readValue(p).catch(() => "unreadable" as const);
        parents.set(p, v);
      }
      return v;
    };
    const listings = new Map<string, Promise<string[]>>();
    const conflicts = await mapLimit(names, IO_CONCURRENCY, async (name): Promise<[string, string] | null> => {
      for (const parent of parentNames(name)) {
        if (deleted.has(parent)) continue;
        if ((await readParent(parent)) !== null) return [name, parent];
      }
      if (await this.view.holdsRefsBelow(name)) {
        const below: string[] = [];
        await this.view.walk(name, async (n) => {
          if (!deleted.has(n)) below.push(n);
        });
        if (below.length > 0) return [name, below[0]!];
      }
      if (withCase) {
        for (const twin of await this.view.caseTwins(name, listings)) {
          if (!deleted.has(twin)) return [name, twin];
        }
      }
      return null;
    });
    const first = conflicts.find((c) => c !== null);
    if (first) throw conflictError(first[0], first[1]);
  }
}

function conflictError(name: string, other: string): SnapError {
  return new SnapError("ref_name_conflict", `'${other}' exists; cannot create '${name}'`, {
    data: { ref: name, conflict: other },
    hint: "a ref cannot be both a ref and a directory of refs (a vs a/b), nor differ from another only by case",
  });
}

function toEntry(name: string, value: RefValue): RefEntry {
  const target = symbolicTarget(value);
  return { name, oid: target === null ? value : null, symbolic: target };
}

function describe(v: RefValue | RefExpect | null): string {
  if (v === null) return "absent";
  return v;
}

function expectHolds(expect: RefExpect, current: RefValue | null): boolean {
  if (expect === "any") return true;
  if (expect === "absent") return current === null;
  return current === expect;
}

/** Follows symbolic refs from `name` to a direct ref (or a missing one). */
async function resolveChain(
  readValue: (name: string) => Promise<RefValue | null>,
  name: string,
): Promise<{ ref: string; value: string | null }> {
  const chain = [name];
  let current = name;
  for (let depth = 0; ; depth++) {
    const value = await readValue(current);
    const target = value === null ? null : symbolicTarget(value);
    if (target === null) return { ref: current, value };
    if (chain.includes(target)) {
      throw new SnapError("ref_cycle", `symbolic refs form a cycle: ${[...chain, target].join(" -> ")}`, {
        data: { ref: name, chain: [...chain, target] },
        hint: "point one of the symbolic refs at a direct ref",
      });
    }
    if (depth + 1 >= MAX_SYMREF_DEPTH) {
      throw new SnapError("ref_cycle", `symbolic refs from ${name} nest deeper than ${MAX_SYMREF_DEPTH}`, {
        data: { ref: name, chain: [...chain, target], max_depth: MAX_SYMREF_DEPTH },
        hint: "point one of the symbolic refs at a direct ref",
      });
    }
    chain.push(target);
    current = target;
  }
}

/** Validates every update before anything is touched (ref_name_invalid / ref_name_conflict). */
function prepareUpdates(updates: RefUpdate[]): PreparedUpdate[] {
  if (!Array.isArray(updates) || updates.length === 0) {
    throw new SnapError("invalid_argument", "a transaction needs at least one update", { data: { argument: "updates" } });
  }
  const out: PreparedUpdate[] = [];
  const names = new Set<string>();
  for (const [i, u] of updates.entries()) {
    if (typeof u !== "object" || u === null) {
      throw new SnapError("invalid_argument", `update ${i} is not an object`, { data: { argument: `updates[${i}]` } });
    }
    assertRefName(u.ref);
    const expect = u.expect ?? "any";
    if (expect !== "any" && expect !== "absent" && !isOid(expect)) {
      throw new SnapError("invalid_argument", `update ${u.ref}: expect must be an oid, "absent" or "any"`, {
        data: { argument: `updates[${i}].expect`, ref: u.ref },
      });
    }
    let set: RefValue | null;
    if (u.set === "delete") set = null;
    else if (typeof u.set === "string" && isOid(u.set)) set = u.set;
    else if (typeof u.set === "object" && u.set !== null && typeof u.set.symbolic === "string") {
      assertRefName(u.set.symbolic, "symbolic ref target");
      if (u.set.symbolic === u.ref) {
        throw new SnapError("ref_cycle", `${u.ref} cannot point to itself`, { data: { ref: u.ref, chain: [u.ref, u.ref] } });
      }
      set = symbolicValue(u.set.symbolic);
    } else {
      throw new SnapError("invalid_argument", `update ${u.ref}: set must be an oid, "delete" or {symbolic}`, {
        data: { argument: `updates[${i}].set`, ref: u.ref },
      });
    }
    if (names.has(u.ref)) {
      throw new SnapError("invalid_argument", `the transaction updates ${u.ref} twice`, { data: { ref: u.ref } });
    }
    names.add(u.ref);
    out.push({ ref: u.ref, expect, set, deref: u.deref ?? (set === null || !isSymbolicValue(set)) });
  }
  const conflict = findNameConflict(out.filter((u) => u.set !== null).map((u) => u.ref));
  if (conflict !== null) throw conflictError(conflict[1], conflict[0]);
  return out;
}

