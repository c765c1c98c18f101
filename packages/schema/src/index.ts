export * from "./errors.js";
export { canonicalJson, canonicalBytes, parseCanonical, type CanonicalOptions } from "./canonical.js";
export { oidOf, isOid, assertOid, shortOid, createOidHasher, type OidHasher } from "./oid.js";
export {
  defineRecord,
  recordHeader,
  parseVersioned,
  summarizeIssues,
  definitionOf,
  type RecordDefinition,
} from "./schemas/define.js";
export {
  DEFINITIONS,
  SCHEMAS,
  SCHEMA_NAMES,
  CURRENT_SCHEMA_VERSION,
  getDefinition,
  parseByType,
  type SchemaName,
  type RecordOf,
  type AnyRecord,
} from "./schemas/index.js";
export {
  oidSchema,
  sha256HexSchema,
  timestampSchema,
  jsonValueSchema,
  jsonObjectSchema,
  refSegmentSchema,
  labelSchema,
  entryNameSchema,
  isEntryName,
  mediaTypeSchema,
} from "./schemas/common.js";
export { artifactDefinition, artifactSchema, type Artifact } from "./schemas/artifact.js";
export { treeDefinition, treeSchema, treeEntrySchema, type Tree, type TreeEntry } from "./schemas/tree.js";
export { manifestDefinition, manifestSchema, projectionSchema, type Manifest, type Projection } from "./schemas/manifest.js";
export { snapshotDefinition, snapshotSchema, type Snapshot } from "./schemas/snapshot.js";
export { releaseDefinition, releaseSchema, type Release } from "./schemas/release.js";
export { storeConfigDefinition, storeConfigSchema, STORE_FORMAT_VERSION, type StoreConfig } from "./schemas/store-config.js";
export { lockOwnerDefinition, lockOwnerSchema, type LockOwner } from "./schemas/lock-owner.js";
export {
  verifyReportDefinition,
  verifyReportSchema,
  corruptObjectSchema,
  type VerifyReport,
  type CorruptObject,
} from "./schemas/verify-report.js";
export { fsckReportDefinition, fsckReportSchema, missingObjectSchema, danglingRefSchema, type FsckReport } from "./schemas/fsck-report.js";
export { cliErrorDefinition, cliErrorSchema, cliErrorOf, type CliError } from "./schemas/cli-error.js";
export {
  benchResultsDefinition,
  benchResultsSchema,
  benchRowSchema,
  benchTargetSchema,
  type BenchResults,
  type BenchRow,
} from "./schemas/bench-results.js";
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
} from "./schemas/refs.js";
export {
  JOURNAL_DEFINITIONS,
  journalEventDefinition,
  journalHeaderDefinition,
  journalSealDefinition,
  journalNoteDefinition,
  seqRepairDefinition,
  journalCheckpointEntityDefinition,
  journalCheckpointFooterDefinition,
  journalMetaDefinition,
  journalIndexDefinition,
  journalRecoveryReportDefinition,
  journalDoctorReportDefinition,
  journalVerifyReportDefinition,
  journalStatsReportDefinition,
  journalActionSchema,
  journalItemTypeSchema,
  journalItemIdSchema,
  journalPayloadRefSchema,
  journalAppendInputSchema,
  type JournalEventRecord,
  type JournalNoteRecord,
  type SeqRepairRecord,
  type JournalMeta,
  type JournalRecoveryReport,
  type JournalDoctorReport,
  type JournalVerifyReport,
  type JournalStatsReport,
  type JournalAppendInput,
} from "./schemas/journal.js";
export {
  SNAPSHOTS_DEFINITIONS,
  snapshotLeaseDefinition,
  statCacheDefinition,
  statCacheEntrySchema,
  releaseIntentDefinition,
  releaseTargetDefinition,
  releaseMaterializationDefinition,
  gcReportDefinition,
  type SnapshotLease,
  type StatCache,
  type ReleaseIntent,
  type GcReport,
  type ReleaseMaterialization,
} from "./schemas/snapshots.js";
export {
  CLI_DEFINITIONS,
  cliVersionDefinition,
  initResultDefinition,
  commitResultDefinition,
  runsListDefinition,
  logResultDefinition,
  showResultDefinition,
  lsResultDefinition,
  diffResultDefinition,
  lineageResultDefinition,
  releaseResultDefinition,
  revertResultDefinition,
  releasesListDefinition,
  refsListDefinition,
  tagResultDefinition,
  doctorReportDefinition,
  journalRecordSchema,
  journalAppendResultDefinition,
  journalRecordsDefinition,
  journalFollowEventDefinition,
  journalStateDefinition,
  journalCheckpointResultDefinition,
  journalArchiveResultDefinition,
  journalDumpDefinition,
} from "./schemas/cli.js";
export type { ProgressEvent, LongOperationOptions } from "./progress.js";
