export { assertLabel, labelSegments, assertName } from "./label.js";
export {
  updateTree,
  writeTree,
  readTree,
  lookupLabel,
  walkTree,
  findEntry,
  compareNames,
  EMPTY_TREE,
  EMPTY_TREE_OID,
  type ObjectIO,
  type TreeChanges,
  type TreeWriteResult,
} from "./tree.js";
export { diffTrees, diffManifests, type TreeChange, type ArtifactChange, type ProjectionChange, type SnapshotDiff } from "./diff.js";
export { pipelineFingerprint, configFingerprint, normalizePipeline, isSecretKey, isMachineLocalPath } from "./fingerprint.js";
export {
  leaseDefinition,
  statCacheDefinition,
  releaseIntentDefinition,
  releaseTargetDefinition,
  gcReportDefinition,
  SNAPSHOT_RECORDS,
  type Lease,
  type StatCache,
  type ReleaseIntent,
  type GcReport,
} from "./schema.js";
export { materializationDefinition, type Materialization } from "./schema.js";
export { initStore, readStoreConfig, STORE_DIRS, type InitStoreOptions, type OpenSnapshotStoreOptions, type StoreContext } from "./store.js";
export { openSnapshotStore, type SnapshotStore } from "./snapshot-store.js";
export {
  BuildTransaction,
  newRunId,
  readSnapshot,
  readManifest,
  type ArtifactContent,
  type RecordArtifactInput,
  type RecordedArtifact,
  type RecordProjectionInput,
  type BeginOptions,
  type CommitResult,
  type CommitOptions,
} from "./transaction.js";
export { commitDirectory, type CommitDirectoryOptions, type CommitDirectoryResult } from "./commit-directory.js";
export { resolveRev, type ResolvedRev } from "./resolve.js";
export { openView, logFrom, listRuns, type SnapshotView, type ArtifactView, type LogEntry, type RunEntry } from "./view.js";
export { filesAdapter, concatAdapter, safeJoin, AdapterRegistry, type ReleaseAdapter, type AdapterContext, type AdapterPlan } from "./adapters.js";
export { type ReleaseOptions, type RevertOptions, type ReleaseResult, type ReleaseInfo, type ReleaseStep, type ReleaseSwap } from "./release.js";
export { gc, type GcOptions } from "./gc.js";
export { fsck, assertFsckClean, type FsckOptions, type FsckResult } from "./fsck.js";
export { linksOf, markReachable } from "./reachability.js";
export { openSnapRefs, type SnapRefs, type RefUpdate } from "./refs-backend.js";
/** Re-exported so callers can test `err.code` without a direct @snap/schema dependency. */
export { SnapError, isSnapError, type ErrorCode } from "@snap/schema";
export { unifiedDiff, isText, type UnifiedDiffOptions } from "./text-diff.js";
export type { ProgressEvent, LongOperationOptions } from "./progress.js";
