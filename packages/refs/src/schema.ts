/**
 * The records @snap/refs persists or returns (`ref_txn`, `reflog_entry`, `refs_verify_report`,
 * `refs_snapshot`) are declared in @snap/schema (its src/schemas/refs.ts, registered in its
 * DEFINITIONS, JSON Schema in `@snap/schema/json-schema/<type>.schema.json`). They are
 * re-exported here, the same schema objects, so this package's public API is unchanged.
 *
 * A ref value, wherever one is stored or reported, is a string: a 64-hex oid, or
 * `ref: <name>` for a symbolic ref (the ref file's content without its newline); `null`
 * means the ref does not exist.
 */
export {
  REFS_DEFINITIONS,
  refTxnDefinition,
  refTxnSchema,
  refTxnUpdateSchema,
  reflogEntryDefinition,
  reflogEntrySchema,
  refsVerifyReportDefinition,
  refsVerifyReportSchema,
  refsSnapshotDefinition,
  refsSnapshotSchema,
  refNameSchema,
  refValueSchema,
  nullableRefValueSchema,
  type RefTxnPayload,
  type ReflogEntry,
  type RefsVerifyReport,
  type RefsSnapshot,
} from "@snap/schema";
