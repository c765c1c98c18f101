/**
 * The registry of every versioned record. To add a record type: create `schemas/<name>.ts`
 * with `defineRecord({...})` (see artifact.ts), then add its definition to DEFINITIONS below.
 * Tests, the JSON Schema export and the README checks pick it up from here.
 */
import type { z } from "zod";
import { SnapError } from "../errors.js";
import { artifactDefinition } from "./artifact.js";
import { benchResultsDefinition } from "./bench-results.js";
import { CLI_DEFINITIONS } from "./cli.js";
import { cliErrorDefinition } from "./cli-error.js";
import { parseVersioned, type RecordDefinition } from "./define.js";
import { fsckReportDefinition } from "./fsck-report.js";
import {
  journalCheckpointEntityDefinition,
  journalCheckpointFooterDefinition,
  journalDoctorReportDefinition,
  journalEventDefinition,
  journalHeaderDefinition,
  journalIndexDefinition,
  journalMetaDefinition,
  journalNoteDefinition,
  journalRecoveryReportDefinition,
  journalSealDefinition,
  journalStatsReportDefinition,
  journalVerifyReportDefinition,
  seqRepairDefinition,
} from "./journal.js";
import { lockOwnerDefinition } from "./lock-owner.js";
import { manifestDefinition } from "./manifest.js";
import { refTxnDefinition, reflogEntryDefinition, refsSnapshotDefinition, refsVerifyReportDefinition } from "./refs.js";
import { releaseDefinition } from "./release.js";
import { snapshotDefinition } from "./snapshot.js";
import {
  gcReportDefinition,
  releaseIntentDefinition,
  releaseMaterializationDefinition,
  releaseTargetDefinition,
  snapshotLeaseDefinition,
  statCacheDefinition,
} from "./snapshots.js";
import { storeConfigDefinition } from "./store-config.js";
import { treeDefinition } from "./tree.js";
import { verifyReportDefinition } from "./verify-report.js";

/**
 * Every registered record definition, in documentation order: stored records first (strict,
 * except journal_note), then reports, then the `snap` command's --json outputs. A package's
 * records are listed by group in their file (REFS_DEFINITIONS, JOURNAL_DEFINITIONS,
 * SNAPSHOTS_DEFINITIONS, CLI_DEFINITIONS).
 */
export const DEFINITIONS = [
  artifactDefinition,
  treeDefinition,
  manifestDefinition,
  snapshotDefinition,
  releaseDefinition,
  storeConfigDefinition,
  lockOwnerDefinition,
  refTxnDefinition,
  journalEventDefinition,
  journalHeaderDefinition,
  journalSealDefinition,
  journalNoteDefinition,
  seqRepairDefinition,
  journalCheckpointEntityDefinition,
  journalCheckpointFooterDefinition,
  journalMetaDefinition,
  journalIndexDefinition,
  snapshotLeaseDefinition,
  statCacheDefinition,
  releaseIntentDefinition,
  releaseTargetDefinition,
  releaseMaterializationDefinition,
  verifyReportDefinition,
  fsckReportDefinition,
  cliErrorDefinition,
  benchResultsDefinition,
  reflogEntryDefinition,
  refsVerifyReportDefinition,
  refsSnapshotDefinition,
  journalRecoveryReportDefinition,
  journalDoctorReportDefinition,
  journalVerifyReportDefinition,
  journalStatsReportDefinition,
  gcReportDefinition,
  ...CLI_DEFINITIONS,
] as const;

type Definition = (typeof DEFINITIONS)[number];

/** Name (= the record's `type`) of every registered schema. */
export type SchemaName = Definition["name"];

/** name -> zod schema. */
export const SCHEMAS = Object.fromEntries(DEFINITIONS.map((d) => [d.name, d.schema])) as {
  readonly [D in Definition as D["name"]]: D["schema"];
};

/** name -> the newest schema_version this package reads and writes. */
export const CURRENT_SCHEMA_VERSION = Object.fromEntries(DEFINITIONS.map((d) => [d.name, d.version])) as {
  readonly [D in Definition as D["name"]]: number;
};

/** The record type for each registered name. */
export type RecordOf<N extends SchemaName> = z.output<(typeof SCHEMAS)[N]>;

/** Any registered record. */
export type AnyRecord = { [N in SchemaName]: RecordOf<N> }[SchemaName];

export const SCHEMA_NAMES = DEFINITIONS.map((d) => d.name) as SchemaName[];

/** The definition registered under `name`, or undefined. */
export function getDefinition(name: string): RecordDefinition | undefined {
  return DEFINITIONS.find((d) => d.name === name);
}

/**
 * Parse a record of any registered type, chosen by its `type` field (for readers that do not
 * know in advance what an object is). Throws like parseVersioned; an unknown or missing
 * `type` is `schema_invalid`.
 */
export function parseByType(value: unknown): AnyRecord {
  const type = typeof value === "object" && value !== null ? (value as { type?: unknown }).type : undefined;
  const definition = typeof type === "string" ? getDefinition(type) : undefined;
  if (definition === undefined) {
    throw new SnapError("schema_invalid", `unknown record type ${JSON.stringify(type) ?? "undefined"}`, {
      data: { type: typeof type === "string" ? type : null, known: SCHEMA_NAMES },
    });
  }
  return parseVersioned(definition.schema, value) as AnyRecord;
}
