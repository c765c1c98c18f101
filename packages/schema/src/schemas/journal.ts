/**
 * The records @snap/journal persists or reports (its FORMAT.md): segment records
 * (`journal_event`, `journal_header`, `journal_seal`, `journal_note`, `seq_repair`),
 * checkpoint lines (`journal_checkpoint_entity`, `journal_checkpoint_footer`), the
 * rebuildable sidecars (`journal_meta`, `journal_index`) and the reports
 * (`journal_recovery_report`, `journal_doctor_report`, `journal_verify_report`,
 * `journal_stats_report`; `snap journal doctor/verify/stats --json` print the last three).
 * Every one carries a literal `type` and an integer `schema_version`. All are strict except
 * `journal_note` (it lets unknown fields through). @snap/journal re-exports them under its
 * historical names (`doctorReportDefinition`, `verifyReportDefinition`, …).
 *
 * The journal's hot read path checks crc and a few fields by hand; these schemas are applied
 * on write (caller input), by `verify()` to every record, and by tests.
 */
import { z } from "zod";
import { defineRecord, recordHeader } from "./define.js";

const hex8 = z.string().regex(/^[0-9a-f]{8}$/);
const sha256 = z.string().regex(/^[0-9a-f]{64}$/);
const ts = z.string().min(1);
const seq = z.int().min(1);
const writer = z.string().regex(/^w_\d+-[0-9a-f]+$/);
const lg = z.int().min(0);
const segment = z.string().regex(/^\d{20}\.ndjson$/);
const jsonValue = z.json();

export const journalActionSchema = z.string().regex(/^[a-z][a-z0-9_.-]*$/).max(64);
export const journalItemTypeSchema = z.string().min(1).max(256);
export const journalItemIdSchema = z.string().min(1).max(1024);
export const journalPayloadRefSchema = z.strictObject({ sha256, bytes: z.int().min(0) });

/** What a caller passes to `append()`. */
export const journalAppendInputSchema = z
  .strictObject({
    action: journalActionSchema,
    item_type: journalItemTypeSchema,
    item_id: journalItemIdSchema,
    payload: jsonValue.optional(),
    payload_ref: journalPayloadRefSchema.optional(),
  })
  .superRefine((r, ctx) => {
    if (r.action === "delete" && (r.payload !== undefined || r.payload_ref !== undefined)) {
      ctx.addIssue({ code: "custom", message: 'a "delete" record carries no payload' });
    }
    if (r.payload !== undefined && r.payload_ref !== undefined) {
      ctx.addIssue({ code: "custom", message: "payload and payload_ref are exclusive" });
    }
  });

export const journalEventDefinition = defineRecord({
  name: "journal_event",
  version: 1,
  description: "One journal record: the envelope the journal adds around a caller's action on an entity.",
  schema: z.strictObject({
    ...recordHeader("journal_event", 1),
    seq,
    ts,
    writer,
    lg,
    action: journalActionSchema,
    item_type: journalItemTypeSchema,
    item_id: journalItemIdSchema,
    entity_rev: z.int().min(1),
    payload: jsonValue.optional(),
    payload_ref: journalPayloadRefSchema.optional(),
    crc: hex8,
  }),
  example: {
    type: "journal_event",
    schema_version: 1,
    seq: 42,
    ts: "2026-11-22T02:31:05.120Z",
    writer: "w_4242-3f9a1c0d2e4b",
    lg: 7,
    action: "put",
    item_type: "ref",
    item_id: "refs/heads/main",
    entity_rev: 3,
    payload: { oid: "ab" },
    crc: "1a2b3c4d",
  },
});

export const journalHeaderDefinition = defineRecord({
  name: "journal_header",
  version: 1,
  description: "First record of every journal segment: store id, first seq, previous segment's seal values.",
  schema: z.strictObject({
    ...recordHeader("journal_header", 1),
    store_id: z.string().min(1).max(128),
    segment,
    first_seq: seq,
    prev_last_seq: z.int().min(0),
    prev_chain: hex8,
    created_at: ts,
    writer,
    lg,
    crc: hex8,
  }),
  example: {
    type: "journal_header",
    schema_version: 1,
    store_id: "0b6f9c1e-1111-4a4a-9f00-000000000001",
    segment: "00000000000000000001.ndjson",
    first_seq: 1,
    prev_last_seq: 0,
    prev_chain: "00000000",
    created_at: "2026-11-22T02:31:05.120Z",
    writer: "w_4242-3f9a1c0d2e4b",
    lg: 1,
    crc: "1a2b3c4d",
  },
});

export const journalSealDefinition = defineRecord({
  name: "journal_seal",
  version: 1,
  description: "Last record of a rolled (sealed, immutable) journal segment.",
  schema: z.strictObject({
    ...recordHeader("journal_seal", 1),
    segment,
    first_seq: seq,
    last_seq: z.int().min(0),
    count: z.int().min(0),
    bytes: z.int().min(0),
    chain: hex8,
    sealed_at: ts,
    writer,
    lg,
    crc: hex8,
  }),
  example: {
    type: "journal_seal",
    schema_version: 1,
    segment: "00000000000000000001.ndjson",
    first_seq: 1,
    last_seq: 812,
    count: 812,
    bytes: 16776001,
    chain: "9f00aa11",
    sealed_at: "2026-11-22T02:31:05.120Z",
    writer: "w_4242-3f9a1c0d2e4b",
    lg: 3,
    crc: "1a2b3c4d",
  },
});

const fragmentClass = z.enum(["torn", "zero_filled", "garbage"]);

export const journalNoteDefinition = defineRecord({
  name: "journal_note",
  version: 1,
  description: "A seq-bearing journal-meta record: a torn tail adjudicated, or what a recovery mode did.",
  schema: z.looseObject({
    ...recordHeader("journal_note", 1),
    seq,
    ts,
    writer,
    lg,
    kind: z.enum(["torn_tail_adjudicated", "acknowledged_lost", "point_in_time_cut", "salvage"]),
    segment: segment.optional(),
    byte_start: z.int().min(0).optional(),
    byte_end: z.int().min(0).optional(),
    sha256: sha256.optional(),
    class: fragmentClass.optional(),
    detail: z.string().optional(),
    crc: hex8,
  }),
  example: {
    type: "journal_note",
    schema_version: 1,
    seq: 43,
    ts: "2026-11-22T02:31:05.120Z",
    writer: "w_4242-3f9a1c0d2e4b",
    lg: 8,
    kind: "torn_tail_adjudicated",
    segment: "00000000000000000001.ndjson",
    byte_start: 1234,
    byte_end: 1300,
    sha256: "0".repeat(64),
    class: "torn",
    detail: "66 bytes: a record prefix without terminator",
    crc: "1a2b3c4d",
  },
});

export const seqRepairDefinition = defineRecord({
  name: "seq_repair",
  version: 1,
  description: "Appended when meta.json was found behind the journal's tail: the tail wins.",
  schema: z.strictObject({
    ...recordHeader("seq_repair", 1),
    seq,
    ts,
    writer,
    lg,
    meta_next_seq: z.int().min(0),
    tail_seq: z.int().min(0),
    crc: hex8,
  }),
  example: {
    type: "seq_repair",
    schema_version: 1,
    seq: 44,
    ts: "2026-11-22T02:31:05.120Z",
    writer: "w_4242-3f9a1c0d2e4b",
    lg: 8,
    meta_next_seq: 30,
    tail_seq: 43,
    crc: "1a2b3c4d",
  },
});

export const journalCheckpointEntityDefinition = defineRecord({
  name: "journal_checkpoint_entity",
  version: 1,
  description: "One entity (latest post-image, or a tombstone) in a journal checkpoint.",
  schema: z.strictObject({
    ...recordHeader("journal_checkpoint_entity", 1),
    item_type: journalItemTypeSchema,
    item_id: journalItemIdSchema,
    entity_rev: z.int().min(1),
    seq,
    deleted: z.boolean(),
    payload: jsonValue.optional(),
    payload_ref: journalPayloadRefSchema.optional(),
    crc: hex8,
  }),
  example: {
    type: "journal_checkpoint_entity",
    schema_version: 1,
    item_type: "ref",
    item_id: "refs/heads/main",
    entity_rev: 3,
    seq: 40,
    deleted: false,
    payload: { oid: "ab" },
    crc: "1a2b3c4d",
  },
});

export const journalCheckpointFooterDefinition = defineRecord({
  name: "journal_checkpoint_footer",
  version: 1,
  description: "Last line of a journal checkpoint: count, sha256 of the lines before it, head seq and chain, store id.",
  schema: z.strictObject({
    ...recordHeader("journal_checkpoint_footer", 1),
    store_id: z.string().min(1).max(128),
    head_seq: z.int().min(0),
    head_chain: hex8,
    count: z.int().min(0),
    sha256,
    created_at: ts,
    crc: hex8,
  }),
  example: {
    type: "journal_checkpoint_footer",
    schema_version: 1,
    store_id: "0b6f9c1e-1111-4a4a-9f00-000000000001",
    head_seq: 812,
    head_chain: "9f00aa11",
    count: 120,
    sha256: "0".repeat(64),
    created_at: "2026-11-22T02:31:05.120Z",
    crc: "1a2b3c4d",
  },
});

export const journalMetaDefinition = defineRecord({
  name: "journal_meta",
  version: 1,
  description: "journal/meta.json: a rebuildable cache of the next seq, durable watermark and active segment.",
  schema: z.strictObject({
    ...recordHeader("journal_meta", 1),
    store_id: z.string().min(1).max(128),
    next_seq: seq,
    durable_seq: z.int().min(0),
    active_segment: segment,
    tail_offset: z.int().min(0),
    max_lg: lg,
    updated_at: ts,
  }),
  example: {
    type: "journal_meta",
    schema_version: 1,
    store_id: "0b6f9c1e-1111-4a4a-9f00-000000000001",
    next_seq: 813,
    durable_seq: 812,
    active_segment: "00000000000000000001.ndjson",
    tail_offset: 16776001,
    max_lg: 8,
    updated_at: "2026-11-22T02:31:05.120Z",
  },
});

export const journalIndexDefinition = defineRecord({
  name: "journal_index",
  version: 1,
  description: "Sparse seq -> byte offset index of one sealed segment (rebuildable sidecar).",
  schema: z.strictObject({
    ...recordHeader("journal_index", 1),
    segment,
    first_seq: seq,
    last_seq: z.int().min(0),
    every_bytes: z.int().min(1),
    entries: z.array(z.tuple([seq, z.int().min(0)])),
  }),
  example: {
    type: "journal_index",
    schema_version: 1,
    segment: "00000000000000000001.ndjson",
    first_seq: 1,
    last_seq: 812,
    every_bytes: 4096,
    entries: [
      [1, 120],
      [40, 4190],
    ],
  },
});

const journalAnomalySchema = z.strictObject({
  kind: z.enum([
    "corrupt",
    "header_missing",
    "header_mismatch",
    "seq_gap",
    "duplicate_seq",
    "stale_writer",
    "seal_mismatch",
    "after_seal",
    "foreign_segment",
    "segment_missing",
    "chain_break",
    "tail_fragment",
  ]),
  segment: z.string(),
  byte_start: z.int().optional(),
  byte_end: z.int().optional(),
  seq: z.int().optional(),
  detail: z.string(),
  fragment_class: fragmentClass.optional(),
});

export const journalRecoveryReportDefinition = defineRecord({
  name: "journal_recovery_report",
  version: 1,
  description: "What opening a journal found and did, under its recovery mode.",
  schema: z.strictObject({
    ...recordHeader("journal_recovery_report", 1),
    mode: z.enum(["tolerate-tail", "absolute", "point-in-time", "salvage"]),
    created: z.boolean(),
    tail_seq: z.int().min(0),
    meta: z.enum(["ok", "missing", "invalid", "behind", "ahead"]),
    fragment: z
      .strictObject({ segment, byte_start: z.int(), byte_end: z.int(), class: fragmentClass, sha256 })
      .optional(),
    anomalies: z.array(journalAnomalySchema),
    actions: z.array(z.string()),
  }),
  example: {
    type: "journal_recovery_report",
    schema_version: 1,
    mode: "tolerate-tail",
    created: false,
    tail_seq: 812,
    meta: "behind",
    anomalies: [],
    actions: ["a seq_repair record will be appended before the next record (meta.json next_seq 800, tail 812)"],
  },
});

const counters = z.strictObject({
  segments: z.int(),
  archived_segments: z.int(),
  records: z.int(),
  torn: z.int(),
  adjudicated: z.int(),
  adjudicated_by_class: z.strictObject({ torn: z.int(), zero_filled: z.int(), garbage: z.int(), unknown: z.int() }),
  corrupt: z.int(),
  duplicates: z.int(),
  stale_writers: z.int(),
  seq_gaps: z.int(),
  missing_segments: z.int(),
  foreign_segments: z.int(),
  seal_mismatches: z.int(),
  chain_breaks: z.int(),
  slow_fsyncs: z.int(),
});

export const journalDoctorReportDefinition = defineRecord({
  name: "journal_doctor_report",
  version: 1,
  description: "journal.doctor(): counters over every segment, and optionally a disk qualification.",
  schema: z.strictObject({
    ...recordHeader("journal_doctor_report", 1),
    ok: z.boolean(),
    head_seq: z.int().min(0),
    counters,
    anomalies: z.array(journalAnomalySchema),
    fsync: z.strictObject({ count: z.int(), p50_ms: z.number(), p99_ms: z.number(), max_ms: z.number() }),
    bench: z
      .strictObject({
        samples: z.int(),
        record_bytes: z.int(),
        p50_ms: z.number(),
        p99_ms: z.number(),
        max_ms: z.number(),
        appends_per_sec: z.number(),
        verdict: z.enum(["good", "slow", "unsafe-fast"]),
        detail: z.string(),
      })
      .optional(),
  }),
  example: {
    type: "journal_doctor_report",
    schema_version: 1,
    ok: true,
    head_seq: 0,
    counters: {
      segments: 1,
      archived_segments: 0,
      records: 0,
      torn: 0,
      adjudicated: 0,
      adjudicated_by_class: { torn: 0, zero_filled: 0, garbage: 0, unknown: 0 },
      corrupt: 0,
      duplicates: 0,
      stale_writers: 0,
      seq_gaps: 0,
      missing_segments: 0,
      foreign_segments: 0,
      seal_mismatches: 0,
      chain_breaks: 0,
      slow_fsyncs: 0,
    },
    anomalies: [],
    fsync: { count: 0, p50_ms: 0, p99_ms: 0, max_ms: 0 },
  },
});

export const journalVerifyReportDefinition = defineRecord({
  name: "journal_verify_report",
  version: 1,
  description: "journal.verify(): state rebuilt from genesis in a temporary directory, diffed against checkpoints and the live state.",
  schema: z.strictObject({
    ...recordHeader("journal_verify_report", 1),
    ok: z.boolean(),
    head_seq: z.int().min(0),
    records: z.int(),
    entities: z.int(),
    checkpoints_checked: z.int(),
    from_genesis: z.boolean(),
    differences: z.array(z.strictObject({ where: z.string(), item_type: z.string(), item_id: z.string(), detail: z.string() })),
    anomalies: z.array(journalAnomalySchema),
  }),
  example: {
    type: "journal_verify_report",
    schema_version: 1,
    ok: true,
    head_seq: 0,
    records: 0,
    entities: 0,
    checkpoints_checked: 0,
    from_genesis: true,
    differences: [],
    anomalies: [],
  },
});

export const journalStatsReportDefinition = defineRecord({
  name: "journal_stats_report",
  version: 1,
  description: "journal.stats(): live vs superseded bytes per segment and what archiving would reclaim.",
  schema: z.strictObject({
    ...recordHeader("journal_stats_report", 1),
    head_seq: z.int().min(0),
    segments: z.array(
      z.strictObject({
        segment,
        first_seq: z.int(),
        last_seq: z.int(),
        sealed: z.boolean(),
        bytes: z.int(),
        live_bytes: z.int(),
        superseded_bytes: z.int(),
        tombstone_bytes: z.int(),
        meta_bytes: z.int(),
        archivable: z.boolean(),
      }),
    ),
    total_bytes: z.int(),
    live_bytes: z.int(),
    superseded_bytes: z.int(),
    tombstone_bytes: z.int(),
    reclaimable_bytes: z.int(),
    checkpoints: z.array(z.strictObject({ name: z.string(), head_seq: z.int(), bytes: z.int() })),
    archived_bytes: z.int(),
  }),
  example: {
    type: "journal_stats_report",
    schema_version: 1,
    head_seq: 0,
    segments: [],
    total_bytes: 0,
    live_bytes: 0,
    superseded_bytes: 0,
    tombstone_bytes: 0,
    reclaimable_bytes: 0,
    checkpoints: [],
    archived_bytes: 0,
  },
});

/** The records of @snap/journal, in documentation order (all registered in DEFINITIONS). */
export const JOURNAL_DEFINITIONS = [
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
] as const;

export type JournalEventRecord = z.infer<typeof journalEventDefinition.schema>;
export type JournalNoteRecord = z.infer<typeof journalNoteDefinition.schema>;
export type SeqRepairRecord = z.infer<typeof seqRepairDefinition.schema>;
export type JournalMeta = z.infer<typeof journalMetaDefinition.schema>;
export type JournalRecoveryReport = z.infer<typeof journalRecoveryReportDefinition.schema>;
export type JournalDoctorReport = z.infer<typeof journalDoctorReportDefinition.schema>;
export type JournalVerifyReport = z.infer<typeof journalVerifyReportDefinition.schema>;
export type JournalStatsReport = z.infer<typeof journalStatsReportDefinition.schema>;
/** What a caller passes to the journal's `append()`. */
export type JournalAppendInput = z.input<typeof journalAppendInputSchema>;
