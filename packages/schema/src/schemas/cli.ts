/**
 * The `--json` output of the `snap` command (@snap/cli): one versioned record per command (a
 * literal `type` and a `schema_version`). Like the other reports, outputs let unknown fields
 * through (z.object, not strict), so an older reader can read a newer snap's output.
 * Failures print `cli_error` (cli-error.ts) and `snap fsck --json` prints `fsck_report`
 * (fsck-report.ts). The reports of @snap/journal (`journal_doctor_report`,
 * `journal_verify_report`, `journal_stats_report`) and @snap/snapshots (`gc_report`) that the
 * CLI prints are declared with those packages' records (journal.ts, snapshots.ts);
 * @snap/cli's OUTPUT_DEFINITIONS lists every document it prints.
 *
 * `journal_records` and `journal_follow_event` describe journal records with a generic,
 * loose shape (`journalRecordSchema`): the journal's own, strict envelope is `journal_event`
 * (journal.ts).
 */
import { z } from "zod";
import { jsonObjectSchema, jsonValueSchema, oidSchema, timestampSchema } from "./common.js";
import { defineRecord, recordHeader } from "./define.js";

const O1 = "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb";
const O2 = "3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d";
const O3 = "2e7d2c03a9507ae265ecf5b5356885a53393a2029d241394997265a1a25aefc6";
const T1 = "2026-11-22T02:31:00.000Z";

const count = z.int().min(0);

// ---------------------------------------------------------------- the CLI itself

export const cliVersionDefinition = defineRecord({
  name: "cli_version",
  version: 1,
  description: "snap --version --json: the CLI's version and the Node.js it runs on.",
  schema: z.object({ ...recordHeader("cli_version", 1), version: z.string().min(1), node: z.string().min(1) }),
  example: { type: "cli_version", schema_version: 1, version: "0.1.0", node: "v20.20.2" },
});

// ---------------------------------------------------------------- journal

/**
 * One journal record as `snap journal read/follow` print it: the journal_event envelope
 * (or, with --meta, a journal_note / seq_repair record), as stored.
 */
export const journalRecordSchema = z
  .object({
    type: z.string().min(1),
    schema_version: z.int().min(1),
    seq: count,
    ts: z.string().optional(),
    action: z.string().optional(),
    item_type: z.string().optional(),
    item_id: z.string().optional(),
    entity_rev: count.optional(),
    payload: jsonValueSchema.optional(),
    writer: z.string().optional(),
    lg: count.optional(),
    crc: z.string().optional(),
  })
  .loose();

const EVENT_EXAMPLE = {
  type: "journal_event",
  schema_version: 1,
  seq: 1,
  ts: T1,
  writer: "w_4242-3f9a1c0d2e4b",
  lg: 1,
  action: "put",
  item_type: "note",
  item_id: "n1",
  entity_rev: 1,
  payload: { text: "hi" },
  crc: "1a2b3c4d",
};

export const journalAppendResultDefinition = defineRecord({
  name: "journal_append_result",
  version: 1,
  description: "snap journal append --json: the seq the record was given and the journal's durable watermark.",
  schema: z.object({
    ...recordHeader("journal_append_result", 1),
    journal: z.string().min(1),
    seq: count,
    durable_seq: count,
    item_type: z.string(),
    item_id: z.string(),
    action: z.string(),
  }),
  example: { type: "journal_append_result", schema_version: 1, journal: "/work/site/.snap/journal", seq: 42, durable_seq: 42, item_type: "note", item_id: "n1", action: "put" },
});

export const journalRecordsDefinition = defineRecord({
  name: "journal_records",
  version: 1,
  description: "snap journal read --json: records from a seq on, in seq order.",
  schema: z.object({
    ...recordHeader("journal_records", 1),
    journal: z.string().min(1),
    from_seq: count,
    /** The seq to read from next time (last record's seq + 1). */
    next_seq: count,
    records: z.array(journalRecordSchema),
  }),
  example: { type: "journal_records", schema_version: 1, journal: "/work/site/.snap/journal", from_seq: 1, next_seq: 2, records: [EVENT_EXAMPLE] },
});

export const journalFollowEventDefinition = defineRecord({
  name: "journal_follow_event",
  version: 1,
  description: "snap journal follow --json: one line per record (an NDJSON stream), or a gap when history below the cursor was archived.",
  schema: z.object({
    ...recordHeader("journal_follow_event", 1),
    record: journalRecordSchema.optional(),
    gap: z.object({ from_seq: count, oldest_seq: count }).optional(),
  }),
  example: { type: "journal_follow_event", schema_version: 1, record: EVENT_EXAMPLE },
});

export const journalStateDefinition = defineRecord({
  name: "journal_state",
  version: 1,
  description: "snap journal state --json: the live entities the journal materializes (newest checkpoint plus the records after it).",
  schema: z.object({
    ...recordHeader("journal_state", 1),
    journal: z.string().min(1),
    head_seq: count,
    checkpoint_seq: count,
    entities: z.array(
      z.object({
        item_type: z.string(),
        item_id: z.string(),
        entity_rev: count,
        seq: count,
        payload: jsonValueSchema.optional(),
        payload_ref: z.object({ sha256: z.string(), bytes: count }).optional(),
      }),
    ),
  }),
  example: {
    type: "journal_state",
    schema_version: 1,
    journal: "/work/site/.snap/journal",
    head_seq: 9,
    checkpoint_seq: 0,
    entities: [{ item_type: "note", item_id: "n1", entity_rev: 2, seq: 9, payload: { text: "hi" } }],
  },
});

export const journalCheckpointResultDefinition = defineRecord({
  name: "journal_checkpoint_result",
  version: 1,
  description: "snap journal checkpoint --json: the checkpoint file, its head seq and entity count, and whether it is new.",
  schema: z.object({
    ...recordHeader("journal_checkpoint_result", 1),
    journal: z.string().min(1),
    name: z.string().min(1),
    head_seq: count,
    entities: count,
    created: z.boolean(),
  }),
  example: { type: "journal_checkpoint_result", schema_version: 1, journal: "/work/site/.snap/journal", name: "ckpt-00000000000000000009.ndjson", head_seq: 9, entities: 1, created: true },
});

export const journalArchiveResultDefinition = defineRecord({
  name: "journal_archive_result",
  version: 1,
  description: "snap journal archive --json: segments and checkpoints moved to archive/ (never deleted) because two verified checkpoints supersede them.",
  schema: z.object({
    ...recordHeader("journal_archive_result", 1),
    journal: z.string().min(1),
    floor_seq: count.nullable(),
    archived_segments: z.array(z.string()),
    archived_checkpoints: z.array(z.string()),
    kept_checkpoints: z.array(z.string()),
    unverified_checkpoints: z.array(z.object({ name: z.string(), problems: z.array(z.string()) })),
    reason: z.string().optional(),
  }),
  example: {
    type: "journal_archive_result",
    schema_version: 1,
    journal: "/work/site/.snap/journal",
    floor_seq: 1000,
    archived_segments: ["00000000000000000001.ndjson"],
    archived_checkpoints: [],
    kept_checkpoints: ["ckpt-00000000000000002000.ndjson", "ckpt-00000000000000001000.ndjson"],
    unverified_checkpoints: [],
  },
});

export const journalDumpDefinition = defineRecord({
  name: "journal_dump",
  version: 1,
  description: "snap journal dump --json: every frame of every segment with its crc and chain status.",
  schema: z.object({
    ...recordHeader("journal_dump", 1),
    journal: z.string().min(1),
    frames: z.array(
      z
        .object({
          segment: z.string(),
          archived: z.boolean(),
          offset: count,
          end: count,
          status: z.enum(["ok", "invalid", "fragment"]),
          type: z.string().optional(),
          seq: count.optional(),
          writer: z.string().optional(),
          lg: count.optional(),
          crc: z.string().optional(),
          chain: z.string().optional(),
          detail: z.string().optional(),
        })
        .loose(),
    ),
  }),
  example: {
    type: "journal_dump",
    schema_version: 1,
    journal: "/work/site/.snap/journal",
    frames: [{ segment: "00000000000000000001.ndjson", archived: false, offset: 0, end: 180, status: "ok", type: "journal_header", crc: "1a2b3c4d" }],
  },
});

// ---------------------------------------------------------------- store and snapshots

export const initResultDefinition = defineRecord({
  name: "init_result",
  version: 1,
  description: "snap init --json: the store created.",
  schema: z.object({ ...recordHeader("init_result", 1), store: z.string().min(1), store_id: z.string().min(1), created_at: timestampSchema }),
  example: { type: "init_result", schema_version: 1, store: "/work/site/.snap", store_id: "6f1c2f4e-8a0c-4b53-9d49-0d6c1f6f2b1a", created_at: T1 },
});

export const commitResultDefinition = defineRecord({
  name: "commit_result",
  version: 1,
  description: "snap commit --json: the snapshot committed, the refs moved, and how much was new.",
  schema: z.object({
    ...recordHeader("commit_result", 1),
    snapshot_oid: oidSchema,
    manifest_oid: oidSchema,
    run_ref: z.string().min(1),
    branch_ref: z.string().min(1),
    pipeline: z.string().min(1),
    run_id: z.string().min(1),
    parent_snapshot_oids: z.array(oidSchema),
    /** Number of artifacts (files) in the snapshot. */
    artifacts: count,
    /** Files read and hashed (the rest were unchanged according to the stat cache). */
    hashed: count,
    /** Objects this commit wrote that were not already in the store. */
    new_objects: count,
    skipped_symlinks: z.array(z.string()),
  }),
  example: {
    type: "commit_result",
    schema_version: 1,
    snapshot_oid: O1,
    manifest_oid: O2,
    run_ref: "refs/runs/main/2026-11-22T02-31-00Z-7f3a",
    branch_ref: "refs/heads/main",
    pipeline: "main",
    run_id: "2026-11-22T02-31-00Z-7f3a",
    parent_snapshot_oids: [O3],
    artifacts: 12,
    hashed: 1,
    new_objects: 3,
    skipped_symlinks: [],
  },
});

const runSchema = z.object({
  ref: z.string().min(1),
  snapshot_oid: oidSchema,
  run_id: z.string().min(1),
  created_at: timestampSchema,
  pipeline: z.string().min(1),
  message: z.string().optional(),
});

export const runsListDefinition = defineRecord({
  name: "runs_list",
  version: 1,
  description: "snap runs --json: every run ref, newest first.",
  schema: z.object({ ...recordHeader("runs_list", 1), runs: z.array(runSchema) }),
  example: {
    type: "runs_list",
    schema_version: 1,
    runs: [{ ref: "refs/runs/main/2026-11-22T02-31-00Z-7f3a", snapshot_oid: O1, run_id: "2026-11-22T02-31-00Z-7f3a", created_at: T1, pipeline: "main" }],
  },
});

const snapshotSummarySchema = z.object({
  snapshot_oid: oidSchema,
  manifest_oid: oidSchema,
  parent_snapshot_oids: z.array(oidSchema),
  created_at: timestampSchema,
  pipeline: z.string().min(1),
  run_id: z.string().min(1),
  message: z.string().optional(),
});

export const logResultDefinition = defineRecord({
  name: "log_result",
  version: 1,
  description: "snap log --json: snapshots from REV back through their first parents, newest first.",
  schema: z.object({ ...recordHeader("log_result", 1), rev: z.string().min(1), snapshots: z.array(snapshotSummarySchema) }),
  example: {
    type: "log_result",
    schema_version: 1,
    rev: "HEAD",
    snapshots: [{ snapshot_oid: O1, manifest_oid: O2, parent_snapshot_oids: [], created_at: T1, pipeline: "main", run_id: "r1" }],
  },
});

export const showResultDefinition = defineRecord({
  name: "show_result",
  version: 1,
  description: "snap show --json: a snapshot with its manifest summary.",
  schema: z.object({
    ...recordHeader("show_result", 1),
    rev: z.string().min(1),
    snapshot: snapshotSummarySchema,
    pipeline_fingerprint: z.string(),
    root_tree_oid: oidSchema,
    artifacts: count,
    projections: z.record(z.string(), z.object({ adapter: z.string(), input_artifacts: z.array(z.string()) }).loose()),
  }),
  example: {
    type: "show_result",
    schema_version: 1,
    rev: "HEAD",
    snapshot: { snapshot_oid: O1, manifest_oid: O2, parent_snapshot_oids: [], created_at: T1, pipeline: "main", run_id: "r1" },
    pipeline_fingerprint: O3,
    root_tree_oid: O2,
    artifacts: 2,
    projections: { site: { adapter: "files", input_artifacts: ["index.html"] } },
  },
});

const artifactEntrySchema = z.object({
  label: z.string().min(1),
  content_oid: oidSchema,
  artifact_oid: oidSchema.optional(),
  size: count,
  artifact_type: z.string().optional(),
  media_type: z.string().optional(),
});

export const lsResultDefinition = defineRecord({
  name: "ls_result",
  version: 1,
  description: "snap ls --json: the artifacts of a snapshot under a label prefix, sorted by label.",
  schema: z.object({ ...recordHeader("ls_result", 1), snapshot_oid: oidSchema, prefix: z.string(), artifacts: z.array(artifactEntrySchema) }),
  example: { type: "ls_result", schema_version: 1, snapshot_oid: O1, prefix: "", artifacts: [{ label: "index.html", content_oid: O2, size: 14, artifact_type: "file" }] },
});

const labelOidSchema = z.object({ label: z.string().min(1), oid: oidSchema });

export const diffResultDefinition = defineRecord({
  name: "diff_result",
  version: 1,
  description: "snap diff --json: artifacts added, removed and changed (by content oid), projections changed, and whether the pipeline fingerprint changed.",
  schema: z.object({
    ...recordHeader("diff_result", 1),
    from: z.object({ rev: z.string(), snapshot_oid: oidSchema }),
    to: z.object({ rev: z.string(), snapshot_oid: oidSchema }),
    added: z.array(labelOidSchema),
    removed: z.array(labelOidSchema),
    changed: z.array(z.object({ label: z.string().min(1), from_oid: oidSchema, to_oid: oidSchema })),
    projections: z.object({ added: z.array(z.string()), removed: z.array(z.string()), changed: z.array(z.string()) }),
    fingerprint_changed: z.boolean(),
  }),
  example: {
    type: "diff_result",
    schema_version: 1,
    from: { rev: "HEAD~1", snapshot_oid: O1 },
    to: { rev: "HEAD", snapshot_oid: O2 },
    added: [{ label: "about.html", oid: O3 }],
    removed: [],
    changed: [{ label: "index.html", from_oid: O1, to_oid: O2 }],
    projections: { added: [], removed: [], changed: [] },
    fingerprint_changed: false,
  },
});

export const lineageResultDefinition = defineRecord({
  name: "lineage_result",
  version: 1,
  description: "snap lineage --json: an artifact and its ancestors through parent_labels, breadth first, with depth.",
  schema: z.object({
    ...recordHeader("lineage_result", 1),
    snapshot_oid: oidSchema,
    label: z.string().min(1),
    nodes: z.array(z.object({ label: z.string().min(1), depth: count, content_oid: oidSchema.nullable(), parent_labels: z.array(z.string()), missing: z.boolean() })),
  }),
  example: {
    type: "lineage_result",
    schema_version: 1,
    snapshot_oid: O1,
    label: "summary.md",
    nodes: [
      { label: "summary.md", depth: 0, content_oid: O2, parent_labels: ["notes/a.md"], missing: false },
      { label: "notes/a.md", depth: 1, content_oid: O3, parent_labels: [], missing: false },
    ],
  },
});

const releaseResultShape = {
  release_oid: oidSchema,
  snapshot_oid: oidSchema,
  name: z.string().min(1),
  target: z.string().nullable(),
  previous_release_oid: oidSchema.nullable(),
  previous_snapshot_oid: oidSchema.nullable(),
  /** True when the materialization already existed and only the pointer was swapped. */
  reused_materialization: z.boolean(),
};

export const releaseResultDefinition = defineRecord({
  name: "release_result",
  version: 1,
  description: "snap release --json: the release object written, the snapshot released, its name and target.",
  schema: z.object({ ...recordHeader("release_result", 1), ...releaseResultShape }),
  example: { type: "release_result", schema_version: 1, release_oid: O1, snapshot_oid: O2, name: "prod", target: "/srv/site", previous_release_oid: null, previous_snapshot_oid: null, reused_materialization: false },
});

export const revertResultDefinition = defineRecord({
  name: "revert_result",
  version: 1,
  description: "snap revert --json: the release object written for the older snapshot, its name and target.",
  schema: z.object({ ...recordHeader("revert_result", 1), ...releaseResultShape }),
  example: { type: "revert_result", schema_version: 1, release_oid: O3, snapshot_oid: O1, name: "prod", target: "/srv/site", previous_release_oid: O1, previous_snapshot_oid: O2, reused_materialization: true },
});

export const releasesListDefinition = defineRecord({
  name: "releases_list",
  version: 1,
  description: "snap releases --json: the current release of every name, or the history of one name (newest first).",
  schema: z.object({
    ...recordHeader("releases_list", 1),
    name: z.string().nullable(),
    releases: z.array(
      z.object({
        name: z.string().min(1),
        release_oid: oidSchema,
        snapshot_oid: oidSchema,
        released_at: timestampSchema,
        source_ref: z.string(),
        previous_release_oid: oidSchema.nullable(),
        target: z.string().nullable().optional(),
        current: z.boolean(),
      }),
    ),
  }),
  example: {
    type: "releases_list",
    schema_version: 1,
    name: null,
    releases: [{ name: "prod", release_oid: O1, snapshot_oid: O2, released_at: T1, source_ref: "HEAD", previous_release_oid: null, target: "/srv/site", current: true }],
  },
});

export const refsListDefinition = defineRecord({
  name: "refs_list",
  version: 1,
  description: "snap refs --json: refs under a prefix with their values (symbolic refs with their target).",
  schema: z.object({
    ...recordHeader("refs_list", 1),
    prefix: z.string(),
    refs: z.array(z.object({ ref: z.string().min(1), oid: oidSchema.nullable(), symbolic: z.string().optional() })),
  }),
  example: { type: "refs_list", schema_version: 1, prefix: "refs/", refs: [{ ref: "refs/heads/main", oid: O1 }] },
});

export const tagResultDefinition = defineRecord({
  name: "tag_result",
  version: 1,
  description: "snap tag --json: the tag ref created and the snapshot it points at.",
  schema: z.object({ ...recordHeader("tag_result", 1), ref: z.string().min(1), snapshot_oid: oidSchema }),
  example: { type: "tag_result", schema_version: 1, ref: "refs/tags/v1", snapshot_oid: O1 },
});

export const doctorReportDefinition = defineRecord({
  name: "doctor_report",
  version: 1,
  description: "snap doctor --json: the store's health checks (config, lock, journal, refs, pending releases, staging debris), each ok, a warning or an error.",
  schema: z.object({
    ...recordHeader("doctor_report", 1),
    store: z.string().min(1),
    ok: z.boolean(),
    /** ok is false exactly when a check has status "error" (exit 4). */
    checks: z.array(z.object({ name: z.string().min(1), status: z.enum(["ok", "warning", "error"]), detail: z.string(), data: jsonObjectSchema.optional() })),
  }),
  example: { type: "doctor_report", schema_version: 1, store: "/work/site/.snap", ok: true, checks: [{ name: "config", status: "ok", detail: "format_version 1" }] },
});

/** The CLI's own --json outputs declared here, in documentation order (all registered in DEFINITIONS). */
export const CLI_DEFINITIONS = [
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
  journalAppendResultDefinition,
  journalRecordsDefinition,
  journalFollowEventDefinition,
  journalStateDefinition,
  journalCheckpointResultDefinition,
  journalArchiveResultDefinition,
  journalDumpDefinition,
] as const;
