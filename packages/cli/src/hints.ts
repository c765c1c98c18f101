/**
 * The `hint:` line for errors thrown without one: what to do about each error code, in the
 * CLI's words (after @snap/schema's error table). Every error the CLI prints has a hint.
 */
const HINTS: Record<string, string> = {
  invalid_argument: "check the command line; `snap <command> --help` shows usage and examples",
  io_error: "check permissions, disk space and the path in the message, then retry",
  internal: "this is a bug in snap: run again with --debug and report the output",
  interrupted: "run the command again; nothing after the last commit point was written",
  closed: "run the command again",
  schema_invalid: "a record is malformed: run `snap fsck`",
  schema_version_unsupported: "this store or record was written by a newer snap: upgrade snap",
  canonical_json_invalid: "store only plain JSON values",
  lock_timeout: "another snap process holds the store lock: wait for it (`snap doctor` shows the holder)",
  lock_compromised: "another process took the store lock over: run the command again",
  object_not_found: "check the oid; run `snap fsck` if a ref points at it",
  object_corrupt: "run `snap fsck` to list damaged objects; rewrite them from their source",
  object_invalid: "run `snap fsck`; the object fails its schema",
  oid_invalid: "give 64 lowercase hex characters, or a revision such as HEAD",
  oid_mismatch: "the content changed while it was read; run the command again",
  journal_corrupt: "run `snap journal doctor`; read past the damage with --recovery salvage",
  journal_acknowledged_lost: "acknowledged journal records are gone: restore from backup or open with --recovery salvage",
  journal_foreign_segment: "a journal segment belongs to another store: move it out of journal/segments",
  journal_segment_missing: "restore the missing segment, or read what remains with --recovery salvage",
  journal_gap: "read from the oldest seq still in the journal, or from a checkpoint",
  ref_locked: "another snap process holds the store lock: wait and retry",
  ref_expect_mismatch: "the ref moved meanwhile: look at it with `snap refs` and retry",
  ref_name_invalid: "use names made of [A-Za-z0-9._-] segments",
  ref_name_conflict: "pick a name that is neither inside nor a parent of an existing ref",
  ref_cycle: "point one of the symbolic refs at an oid",
  ref_not_found: "list refs with `snap refs`",
  store_not_found: "run `snap init`, pass --store DIR or set SNAP_STORE",
  store_exists: "use the existing store, or choose another directory with --store",
  rev_invalid: "use a ref, an oid (or a unique prefix) or REV~N",
  rev_not_found: "list snapshots with `snap log` or `snap runs`",
  rev_ambiguous: "give more characters of the oid",
  branch_advanced: "another build committed meanwhile: run the build again on top of it",
  pipeline_mismatch: "use a parent snapshot of the same pipeline",
  label_invalid: "labels are relative /-separated paths without ., .. or empty segments",
  incomplete_closure: "record the missing labels before committing",
  release_failed: "the previous release still serves; fix the cause in the message and release again",
  release_not_found: "list releases with `snap releases`",
  target_unsafe: "choose another --target, or pass --force to move the existing one aside",
  adapter_unknown: "use the files or concat adapter",
  corruption_found: "read the report; restore or rewrite the listed objects and refs",
};

export function defaultHint(code: string): string {
  return HINTS[code] ?? "run the command with --debug for details";
}
