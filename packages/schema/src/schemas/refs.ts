/**
 * The records @snap/refs persists or returns: `ref_txn` (stored: the journal payload of one
 * ref transaction, strict), `reflog_entry`, `refs_verify_report` and `refs_snapshot` (returned
 * by `log()`, `verify()` and `snapshot()`; they let unknown fields through). @snap/refs
 * re-exports all of them.
 *
 * A ref value, wherever one is stored or reported, is a string: a 64-hex oid, or
 * `ref: <name>` for a symbolic ref (the ref file's content without its newline); `null`
 * means the ref does not exist. `refNameSchema` only bounds the length: @snap/refs applies
 * the full ref-name rules.
 */
import { z } from "zod";
import { timestampSchema } from "./common.js";
import { defineRecord, recordHeader } from "./define.js";

const OID = /^[0-9a-f]{64}$/;
const SYMBOLIC = /^ref: [^\s]+$/;

export const refNameSchema = z.string().min(1).max(255);
export const refValueSchema = z
  .string()
  .refine((v) => OID.test(v) || SYMBOLIC.test(v), "expected a 64-hex oid or 'ref: <name>'");
export const nullableRefValueSchema = refValueSchema.nullable();

export const refTxnUpdateSchema = z.strictObject({
  ref: refNameSchema,
  old: nullableRefValueSchema,
  new: nullableRefValueSchema,
  /** The symbolic ref the update was addressed to (e.g. HEAD) when it was applied to its target. */
  via: refNameSchema.optional(),
});

/** The payload of the journal record that commits one ref transaction (its WAL entry and reflog). */
export const refTxnDefinition = defineRecord({
  name: "ref_txn",
  version: 1,
  description: "One committed ref transaction: its id, reason and every ref's old and new value.",
  schema: z.strictObject({
    ...recordHeader("ref_txn", 1),
    txn_id: z.string().min(1).max(128),
    reason: z.string().max(4096),
    updates: z.array(refTxnUpdateSchema).min(1),
  }),
  example: {
    type: "ref_txn",
    schema_version: 1,
    txn_id: "t_4242_1_9f3a1c2b",
    reason: "commit: nightly build",
    updates: [
      {
        ref: "refs/heads/main",
        old: null,
        new: "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb",
      },
    ],
  },
});
export const refTxnSchema = refTxnDefinition.schema;
export type RefTxnPayload = z.infer<typeof refTxnSchema>;

/** One reflog entry as `log()` returns it (built from a ref_txn journal record). */
export const reflogEntryDefinition = defineRecord({
  name: "reflog_entry",
  version: 1,
  description: "A reflog entry: one ref's old and new value in one transaction, with reason, writer and time.",
  schema: z.object({
    ...recordHeader("reflog_entry", 1),
    ref: refNameSchema,
    seq: z.int().min(1),
    txn_id: z.string(),
    old: nullableRefValueSchema,
    new: nullableRefValueSchema,
    via: refNameSchema.optional(),
    reason: z.string(),
    writer: z.string(),
    time: timestampSchema,
  }),
  example: {
    type: "reflog_entry",
    schema_version: 1,
    ref: "refs/heads/main",
    seq: 12,
    txn_id: "t_4242_1_9f3a1c2b",
    old: null,
    new: "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb",
    reason: "commit: nightly build",
    writer: "w_4242-3f9a1c2b4d5e",
    time: "2026-11-22T02:31:05.120Z",
  },
});
export const reflogEntrySchema = reflogEntryDefinition.schema;
export type ReflogEntry = z.infer<typeof reflogEntrySchema>;

const refDiffSchema = z.object({
  ref: refNameSchema,
  expected: nullableRefValueSchema,
  found: nullableRefValueSchema,
});

/** `verify()`: the ref files rebuilt from the journal, diffed against the live ones. */
export const refsVerifyReportDefinition = defineRecord({
  name: "refs_verify_report",
  version: 1,
  description:
    "Refs verification: ref files rebuilt from the journal in a temporary directory and diffed against the live ones.",
  schema: z
    .object({
      ...recordHeader("refs_verify_report", 1),
      ok: z.boolean(),
      journal_seq: z.int().min(0),
      applied_seq: z.int().min(0),
      transactions: z.int().min(0),
      refs_checked: z.int().min(0),
      /** Refs whose live file differs from the journal's value (missing: found null; extra: expected null). */
      mismatches: z.array(refDiffSchema),
      /** Live files under refs/ that are not valid ref files (bad name or content). */
      unreadable: z.array(z.object({ path: z.string(), reason: z.string() })),
      /** True when history below the journal's oldest record was archived (rebuild incomplete). */
      history_gap: z.boolean(),
    })
    .refine((r) => r.ok === (r.mismatches.length === 0 && r.unreadable.length === 0 && !r.history_gap), {
      message: "ok must be true exactly when nothing was found",
    }),
  example: {
    type: "refs_verify_report",
    schema_version: 1,
    ok: false,
    journal_seq: 40,
    applied_seq: 40,
    transactions: 38,
    refs_checked: 3,
    mismatches: [
      {
        ref: "refs/heads/main",
        expected: "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb",
        found: null,
      },
    ],
    unreadable: [],
    history_gap: false,
  },
});
export const refsVerifyReportSchema = refsVerifyReportDefinition.schema;
export type RefsVerifyReport = z.infer<typeof refsVerifyReportSchema>;

/** `snapshot()`: every ref's value at one applied journal seq (a consistent read). */
export const refsSnapshotDefinition = defineRecord({
  name: "refs_snapshot",
  version: 1,
  description: "Every ref's value at one applied journal seq: a consistent read across transactions.",
  schema: z.object({
    ...recordHeader("refs_snapshot", 1),
    applied_seq: z.int().min(0),
    refs: z.record(refNameSchema, refValueSchema),
  }),
  example: {
    type: "refs_snapshot",
    schema_version: 1,
    applied_seq: 40,
    refs: {
      HEAD: "ref: refs/heads/main",
      "refs/heads/main": "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb",
    },
  },
});
export const refsSnapshotSchema = refsSnapshotDefinition.schema;
export type RefsSnapshot = z.infer<typeof refsSnapshotSchema>;

/** The records of @snap/refs, in documentation order (all registered in DEFINITIONS). */
export const REFS_DEFINITIONS = [
  refTxnDefinition,
  reflogEntryDefinition,
  refsVerifyReportDefinition,
  refsSnapshotDefinition,
] as const;
