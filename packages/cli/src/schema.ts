/**
 * The `--json` output of every `snap` command: one versioned record per command (a literal
 * `type` and a `schema_version`). Outputs let unknown fields through (z.object, not strict),
 * so an older reader can read a newer snap's output.
 *
 * Where each schema lives:
 * - the CLI's own outputs (cli_version, init_result, commit_result, …, doctor_report,
 *   journal_append_result … journal_dump) are declared in @snap/schema (src/schemas/cli.ts,
 *   registered in its DEFINITIONS) and re-exported here unchanged;
 * - cli_error and fsck_report are @snap/schema's own;
 * - journal_doctor_report, journal_verify_report and journal_stats_report (the reports
 *   @snap/journal returns) and gc_report (@snap/snapshots') are declared in @snap/schema too
 *   (src/schemas/journal.ts and src/schemas/snapshots.ts, registered in its DEFINITIONS) and
 *   re-exported here from there.
 * Every document in OUTPUT_DEFINITIONS is therefore a registered @snap/schema definition.
 *
 * `scripts/write-json-schema.mjs` writes json-schema/<type>.schema.json for every document
 * in OUTPUT_DEFINITIONS at build time (so @snap/cli/json-schema/ stays the complete set of
 * what `snap` prints); @snap/schema publishes its registered ones too.
 */
import {
  CLI_DEFINITIONS,
  cliErrorDefinition,
  fsckReportDefinition,
  gcReportDefinition,
  journalDoctorReportDefinition,
  journalStatsReportDefinition,
  journalVerifyReportDefinition,
  type RecordDefinition,
} from "@snap/schema";
export { journalDoctorReportDefinition, journalVerifyReportDefinition, journalStatsReportDefinition, gcReportDefinition };

export {
  cliVersionDefinition,
  journalRecordSchema,
  journalAppendResultDefinition,
  journalRecordsDefinition,
  journalFollowEventDefinition,
  journalStateDefinition,
  journalCheckpointResultDefinition,
  journalArchiveResultDefinition,
  journalDumpDefinition,
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
} from "@snap/schema";

/**
 * Every --json output this CLI prints, all registered in @snap/schema. journal_doctor_report,
 * journal_verify_report and journal_stats_report are @snap/journal's reports and gc_report is
 * @snap/snapshots', printed as those packages return them.
 */
export const OUTPUT_DEFINITIONS: readonly RecordDefinition[] = [
  ...CLI_DEFINITIONS,
  journalDoctorReportDefinition,
  journalVerifyReportDefinition,
  journalStatsReportDefinition,
  gcReportDefinition,
  fsckReportDefinition,
  cliErrorDefinition,
];
