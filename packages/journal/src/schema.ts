/**
 * The records the journal persists or reports (FORMAT.md) are declared in @snap/schema (its
 * src/schemas/journal.ts, registered in its DEFINITIONS, JSON Schema in
 * `@snap/schema/json-schema/<type>.schema.json`). They are re-exported here, the same schema
 * objects, under this package's historical names, so its public API is unchanged. Each
 * carries a literal `type` and an integer `schema_version`.
 * The hot read path checks crc and a few fields by hand; these schemas are applied on
 * write (caller input), by `verify()` to every record, and by tests.
 */
import type { z } from "zod";
import { JOURNAL_DEFINITIONS } from "@snap/schema";

export {
  JOURNAL_DEFINITIONS,
  journalEventDefinition,
  journalHeaderDefinition,
  journalSealDefinition,
  journalNoteDefinition,
  seqRepairDefinition,
  journalCheckpointEntityDefinition as checkpointEntityDefinition,
  journalCheckpointFooterDefinition as checkpointFooterDefinition,
  journalMetaDefinition,
  journalIndexDefinition,
  journalRecoveryReportDefinition as recoveryReportDefinition,
  journalDoctorReportDefinition as doctorReportDefinition,
  journalVerifyReportDefinition as verifyReportDefinition,
  journalStatsReportDefinition as statsReportDefinition,
  journalActionSchema as actionSchema,
  journalItemTypeSchema as itemTypeSchema,
  journalItemIdSchema as itemIdSchema,
  journalPayloadRefSchema as payloadRefSchema,
  journalAppendInputSchema as appendInputSchema,
  type JournalMeta,
  type JournalRecoveryReport as RecoveryReport,
  type JournalDoctorReport as DoctorReport,
  type JournalVerifyReport as VerifyReport,
  type JournalStatsReport as StatsReport,
  type JournalEventRecord,
  type JournalNoteRecord,
  type SeqRepairRecord,
  type JournalAppendInput as AppendInput,
} from "@snap/schema";

/** Schema of an on-disk record by its `type`. */
export const RECORD_SCHEMAS: Record<string, z.ZodType> = Object.fromEntries(
  JOURNAL_DEFINITIONS.map((d) => [d.name, d.schema as z.ZodType]),
);
