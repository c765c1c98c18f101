/**
 * Records @snap/snapshots persists outside the object store (each a JSON file written with
 * @snap/fs publishFile), and the --json shape of gc, are declared in @snap/schema (its
 * src/schemas/snapshots.ts, registered in its DEFINITIONS, JSON Schema in
 * `@snap/schema/json-schema/<type>.schema.json`). They are re-exported here, the same schema
 * objects, under this package's historical names, so its public API is unchanged. Every
 * record carries `type` and `schema_version`; readers refuse newer versions (parseVersioned).
 */
export {
  SNAPSHOTS_DEFINITIONS as SNAPSHOT_RECORDS,
  snapshotLeaseDefinition as leaseDefinition,
  statCacheDefinition,
  statCacheEntrySchema,
  releaseIntentDefinition,
  releaseTargetDefinition,
  releaseMaterializationDefinition as materializationDefinition,
  gcReportDefinition,
  type SnapshotLease as Lease,
  type StatCache,
  type ReleaseIntent,
  type GcReport,
  type ReleaseMaterialization as Materialization,
} from "@snap/schema";
