/**
 * The records @snap/snapshots persists outside the object store, each a JSON file written with
 * @snap/fs publishFile (`snapshot_lease`, `stat_cache`, `release_intent`, `release_target`,
 * `release_materialization`), and `gc_report` (`gc()`'s result, printed by `snap gc --json`).
 * All are strict. @snap/snapshots re-exports them under its historical names
 * (`leaseDefinition`, `materializationDefinition`, `SNAPSHOT_RECORDS`, …).
 */
import { z } from "zod";
import { oidSchema, refSegmentSchema, timestampSchema } from "./common.js";
import { defineRecord, recordHeader } from "./define.js";

/** `<store>/leases/<txn-id>.json`: an in-flight build transaction; GC keeps what it wrote. */
export const snapshotLeaseDefinition = defineRecord({
  name: "snapshot_lease",
  version: 1,
  description:
    "An in-flight build transaction. GC keeps every object written or freshened since started_at and everything reachable from base_snapshot_oid while the holder lives.",
  schema: z.strictObject({
    ...recordHeader("snapshot_lease", 1),
    txn_id: z.string().min(1).max(255),
    pipeline: refSegmentSchema,
    run_id: refSegmentSchema,
    base_snapshot_oid: oidSchema.nullable(),
    started_at: timestampSchema,
    started_at_ms: z.number().int().min(0),
    pid: z.int().min(0),
    host: z.string(),
    process_start: z.string(),
  }),
  example: {
    type: "snapshot_lease",
    schema_version: 1,
    txn_id: "main-20261122T024000Z-1a2b3c4d",
    pipeline: "main",
    run_id: "20261122T024000Z-1a2b3c4d",
    base_snapshot_oid: null,
    started_at: "2026-11-22T02:40:00.000Z",
    started_at_ms: 1795315200000,
    pid: 4242,
    host: "build-1",
    process_start: "12345",
  },
});
export type SnapshotLease = z.infer<typeof snapshotLeaseDefinition.schema>;

/**
 * A stat cache entry (version 2), as parsed from one of the cache file's entry lines
 * (`label TAB size TAB mtimeMs TAB inode`): [label, size, mtimeMs, inode] of a file the
 * cache trusts.
 */
export const statCacheEntrySchema = z.tuple([
  z.string(), // relative path (the label)
  z.number(), // size
  z.number(), // mtimeMs
  z.number(), // inode
]);

/** A version 1 entry (read, never written): [label, size, mtimeMs, inode, content oid, artifact oid]. */
const statCacheEntryV1Schema = z.tuple([z.string(), z.number(), z.number(), z.number(), oidSchema, oidSchema]);

/**
 * commitDirectory's stat cache (a cache: deleting it is safe).
 *
 * Version 2 (`<store>/cache/stat-<pipeline>.cache`): this record is the file's first line,
 * followed by `entry_count` entry lines `label TAB size TAB mtimeMs TAB inode LF` sorted by
 * label (UTF-16 code units, strictly increasing). It names the tree the directory was
 * committed as and holds no oids: a later commit starts from that tree and applies only the
 * files whose stat changed (git's index with its cache-tree, without per-file oids). The
 * entries are lines, not JSON, so that a 10k-file cache is read by one merge-join pass
 * instead of parsing and mapping 10k arrays.
 *
 * Version 1 (`<store>/cache/stat-<pipeline>.json`, the whole file one record with
 * `entries`, oids per entry, no tree) still parses; commitDirectory ignores it and removes
 * the file when it first writes version 2.
 */
export const statCacheDefinition = defineRecord({
  name: "stat_cache",
  version: 2,
  description:
    "commitDirectory's stat cache for one pipeline (the header line of the cache file): the root tree committed for a directory, how many (path, size, mtime, inode) entry lines of files trusted to be unchanged since follow (racy-git rule: only files older than the scan), and the tree's other labels.",
  schema: z
    .strictObject({
      ...recordHeader("stat_cache", 2),
      pipeline: refSegmentSchema,
      root: z.string(),
      written_at_ms: z.number().int().min(0),
      /** The root tree committed for `root` when this cache was written (version 2). */
      tree_root: oidSchema.optional(),
      /** How many entry lines follow this header line (version 2). */
      entry_count: z.number().int().min(0).optional(),
      /** Version 1 only: the entries inside the record. */
      entries: z.array(statCacheEntryV1Schema).optional(),
      /** The other labels of tree_root (racy, or changed while read): read again next time (version 2). */
      uncached: z.array(z.string()).optional(),
    })
    .superRefine((cache, ctx) => {
      // Version 1 records always had entries; the schema does not insist (the additive rule:
      // a version 2 record relabelled 1 still reads), commitDirectory ignores version 1 anyway.
      if (cache.schema_version < 2) return;
      const require = (field: "tree_root" | "entry_count" | "uncached"): void => {
        if (cache[field] === undefined) ctx.addIssue({ code: "custom", path: [field], message: "required from schema_version 2" });
      };
      require("tree_root");
      require("entry_count");
      require("uncached");
      if (cache.entries !== undefined) ctx.addIssue({ code: "custom", path: ["entries"], message: "schema_version 2 keeps its entries in lines after the record, not in it" });
    }),
  example: {
    type: "stat_cache",
    schema_version: 2,
    pipeline: "main",
    root: "/home/me/site/dist",
    written_at_ms: 1795315200000,
    tree_root: "c".repeat(64),
    entry_count: 1,
    uncached: ["app.js"],
  },
});
/** The stat cache header as written (version 2). */
export type StatCache = Omit<z.infer<typeof statCacheDefinition.schema>, "entries"> & {
  schema_version: 2;
  tree_root: string;
  entry_count: number;
  uncached: string[];
};

/** `<store>/releases/<name>/pending.json`: a release between materialization and its ref move. */
export const releaseIntentDefinition = defineRecord({
  name: "release_intent",
  version: 1,
  description:
    "A release in progress: written before the target is switched, removed after the release ref moved. Recovery finishes it (target already switched) or rolls it back (target not switched).",
  schema: z.strictObject({
    ...recordHeader("release_intent", 1),
    name: refSegmentSchema,
    snapshot_oid: oidSchema,
    release_oid: oidSchema,
    previous_release_oid: oidSchema.nullable(),
    previous_snapshot_oid: oidSchema.nullable(),
    target: z.string().min(1),
    started_at: timestampSchema,
  }),
  example: {
    type: "release_intent",
    schema_version: 1,
    name: "prod",
    snapshot_oid: "a".repeat(64),
    release_oid: "b".repeat(64),
    previous_release_oid: null,
    previous_snapshot_oid: null,
    target: "/srv/site",
    started_at: "2026-11-22T02:40:00.000Z",
  },
});
export type ReleaseIntent = z.infer<typeof releaseIntentDefinition.schema>;

/** `<store>/releases/<name>/target.json`: where a release name materializes (its last target). */
export const releaseTargetDefinition = defineRecord({
  name: "release_target",
  version: 1,
  description: "The target path a release name switches, recorded at its first release.",
  schema: z.strictObject({
    ...recordHeader("release_target", 1),
    name: refSegmentSchema,
    target: z.string().min(1),
  }),
  example: { type: "release_target", schema_version: 1, name: "prod", target: "/srv/site" },
});

/** `snap gc --json`. */
export const gcReportDefinition = defineRecord({
  name: "gc_report",
  version: 1,
  description: "What gc removed (or, with dry_run, would remove): objects, run refs, bytes; and what it kept.",
  schema: z.strictObject({
    ...recordHeader("gc_report", 1),
    dry_run: z.boolean(),
    grace_ms: z.number().int().min(0),
    objects_total: z.int().min(0),
    objects_reachable: z.int().min(0),
    objects_kept_young: z.int().min(0),
    objects_removed: z.array(oidSchema),
    bytes_removed: z.int().min(0),
    run_refs_removed: z.array(z.string()),
    release_dirs_removed: z.array(z.string()),
    leases: z.int().min(0),
    stale_leases_removed: z.array(z.string()),
  }),
  example: {
    type: "gc_report",
    schema_version: 1,
    dry_run: true,
    grace_ms: 3600000,
    objects_total: 10,
    objects_reachable: 8,
    objects_kept_young: 1,
    objects_removed: ["c".repeat(64)],
    bytes_removed: 120,
    run_refs_removed: ["refs/runs/main/20261101T000000Z-00000000"],
    release_dirs_removed: [],
    leases: 0,
    stale_leases_removed: [],
  },
});
export type GcReport = z.infer<typeof gcReportDefinition.schema>;

/** `<store>/releases/<name>/<snapshot-oid>.json`: the receipts of a complete materialization (written after its directory). */
export const releaseMaterializationDefinition = defineRecord({
  name: "release_materialization",
  version: 1,
  description: "Marks releases/<name>/<snapshot-oid>/ complete and holds the adapter receipts it was built with.",
  schema: z.strictObject({
    ...recordHeader("release_materialization", 1),
    name: refSegmentSchema,
    snapshot_oid: oidSchema,
    adapters: z.record(z.string(), z.record(z.string(), z.json())),
    created_at: timestampSchema,
  }),
  example: {
    type: "release_materialization",
    schema_version: 1,
    name: "prod",
    snapshot_oid: "a".repeat(64),
    adapters: { files: { adapter: "files", files: 3, bytes: 120 } },
    created_at: "2026-11-22T02:40:00.000Z",
  },
});
export type ReleaseMaterialization = z.infer<typeof releaseMaterializationDefinition.schema>;

/** The records of @snap/snapshots, in documentation order (all registered in DEFINITIONS). */
export const SNAPSHOTS_DEFINITIONS = [
  snapshotLeaseDefinition,
  statCacheDefinition,
  releaseIntentDefinition,
  releaseTargetDefinition,
  releaseMaterializationDefinition,
  gcReportDefinition,
] as const;
