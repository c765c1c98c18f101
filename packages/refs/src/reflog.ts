/**
 * What @snap/refs needs from its write-ahead log: @snap/journal's handle satisfies it
 * structurally (`openJournal(...)`), and a store passes its own journal. Kept this small so
 * the refs logic does not depend on the journal's internals.
 *
 * The journal record of a ref transaction (its commit point and its reflog entry):
 *   action "ref_txn", item_type "refs", item_id "transactions", payload: a `ref_txn` record
 *   (src/schema.ts). One entity for all transactions, so a journal checkpoint carries one line
 *   for refs, not one per transaction ever made.
 */
import { SnapError, isSnapError, parseVersioned } from "@snap/schema";
import { type RefTxnPayload, refTxnSchema } from "./schema.js";

export const REF_TXN_ACTION = "ref_txn";
export const REF_TXN_ITEM_TYPE = "refs";
export const REF_TXN_ITEM_ID = "transactions";

export interface RefLogAppendInput {
  action: string;
  item_type: string;
  item_id: string;
  payload?: unknown;
}

/** The part of a journal lock hold refs uses: @snap/journal's WithLockContext. */
export interface RefLogHold {
  /** Seq of the journal's newest record (0 when empty), current under this hold. */
  readonly lastSeq: number;
  append(record: RefLogAppendInput, options?: { durability?: "sync" | "group" | "none" }): Promise<{ seq: number }>;
}

/** The part of a journal refs uses: @snap/journal's Journal. */
export interface RefLog {
  withLock<T>(fn: (hold: RefLogHold) => Promise<T>): Promise<T>;
  /** Records in seq order; with includeMeta also the journal's own seq-bearing notes, so a
   * reader can tell archived history (a first seq above fromSeq) from ordinary gaps. */
  read(options: { fromSeq?: number; toSeq?: number; includeMeta?: boolean }): AsyncIterable<unknown>;
}

/** A committed ref transaction as read back from the journal. */
export interface CommittedRefTxn {
  seq: number;
  ts: string;
  writer: string;
  payload: RefTxnPayload;
}

/** Whether an item a journal reader yielded marks archived history below the cursor. */
function isGap(item: unknown): boolean {
  return typeof item === "object" && item !== null && (item as { gap?: unknown }).gap === true;
}

/**
 * The ref transactions with seq in [fromSeq, toSeq], in seq order. `onGap` is called when the
 * journal reports history below the cursor as archived (a checkpoint superseded it).
 */
export async function* readRefTxns(
  log: RefLog,
  fromSeq: number,
  toSeq?: number,
  onGap?: () => void,
): AsyncGenerator<CommittedRefTxn> {
  const start = Math.max(1, fromSeq);
  const options: { fromSeq: number; toSeq?: number; includeMeta: boolean } = { fromSeq: start, includeMeta: true };
  if (toSeq !== undefined) options.toSeq = toSeq;
  let first = true;
  for await (const item of log.read(options)) {
    if (isGap(item)) {
      onGap?.();
      continue;
    }
    const rec = item as { seq?: unknown; ts?: unknown; writer?: unknown; action?: unknown; item_type?: unknown; payload?: unknown };
    if (first && typeof rec.seq === "number" && rec.seq > start) onGap?.(); // history below was archived
    first = false;
    if (rec.action !== REF_TXN_ACTION || rec.item_type !== REF_TXN_ITEM_TYPE) continue;
    if (typeof rec.seq !== "number") continue;
    if (toSeq !== undefined && rec.seq > toSeq) break;
    let payload: RefTxnPayload;
    try {
      payload = parseVersioned(refTxnSchema, rec.payload);
    } catch (err) {
      if (isSnapError(err, "schema_version_unsupported")) throw err;
      throw new SnapError("corruption_found", `journal record seq ${rec.seq} is not a valid ref_txn`, {
        data: { seq: rec.seq, cause: isSnapError(err) ? err.toJSON() : String(err) },
        cause: err,
        hint: "run the journal's verify; the ref transaction record is malformed",
      });
    }
    yield { seq: rec.seq, ts: String(rec.ts), writer: String(rec.writer), payload };
  }
}
