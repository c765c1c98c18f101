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
