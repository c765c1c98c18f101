/**
 * The one list of error codes shared by every snap package and by the CLI's `--json` output.
 * Callers test `err.code`, never message text. Add a code here (with its exit code and a
 * one-line meaning) before throwing it anywhere.
 */

/** CLI exit code classes: 1 failure, 2 usage, 3 conflict, 4 corruption found. */
export type ExitClass = 1 | 2 | 3 | 4;

export const ERROR_CODES = {
  // generic
  invalid_argument: { exit: 2, meaning: "a function or command was called with bad input" },
  io_error: { exit: 1, meaning: "an operating-system I/O call failed" },
  internal: { exit: 1, meaning: "a bug in snap: an invariant did not hold" },
  interrupted: { exit: 1, meaning: "the operation was interrupted (signal or abort) before its commit point" },
  closed: { exit: 1, meaning: "the store, journal or handle was already closed" },
  // schema / encoding
  schema_invalid: { exit: 4, meaning: "a record or object does not match its schema" },
  schema_version_unsupported: { exit: 1, meaning: "a record was written by a newer snap (schema_version too high)" },
  canonical_json_invalid: { exit: 2, meaning: "a value cannot be encoded as RFC 8785 canonical JSON" },
  // fs / lock
  lock_timeout: { exit: 3, meaning: "the store lock was held by another process past the timeout" },
  lock_compromised: { exit: 1, meaning: "the store lock was lost while held (stale takeover or removal)" },
  lock_not_held: { exit: 1, meaning: "an operation that needs the store lock ran without holding it" },
  fault_injected: { exit: 1, meaning: "the fault-injecting fs seam stopped the operation (tests only)" },
  // object store
  object_not_found: { exit: 1, meaning: "no object with that oid is in the store" },
  object_corrupt: { exit: 4, meaning: "an object's bytes do not hash to its oid" },
  object_invalid: { exit: 4, meaning: "a structured object is malformed or fails its schema" },
  oid_invalid: { exit: 2, meaning: "a string is not a valid lowercase sha256 oid" },
  oid_mismatch: { exit: 2, meaning: "content does not hash to the oid the caller asserted" },
  // journal
  journal_record_too_large: { exit: 2, meaning: "a journal record is larger than 256 KiB" },
  journal_corrupt: { exit: 4, meaning: "a journal segment holds bytes that are neither a record nor an adjudicated torn tail" },
  journal_acknowledged_lost: { exit: 4, meaning: "the journal's tail is behind its durable watermark: acknowledged records were lost" },
  journal_foreign_segment: { exit: 4, meaning: "a segment belongs to another store" },
  journal_segment_missing: { exit: 4, meaning: "a segment in the middle of the chain is missing" },
  journal_stale_writer: { exit: 1, meaning: "a writer's lock generation is older than the journal's newest" },
  journal_gap: { exit: 1, meaning: "history below the cursor was archived" },
  // refs
  ref_locked: { exit: 3, meaning: "another process holds the store lock" },
  ref_expect_mismatch: { exit: 3, meaning: "a ref did not have the value the transaction expected" },
  ref_name_invalid: { exit: 2, meaning: "a ref name breaks the ref-name rules" },
  ref_name_conflict: { exit: 2, meaning: "a ref name conflicts with an existing ref directory or file (a vs a/b)" },
  ref_cycle: { exit: 1, meaning: "symbolic refs form a cycle or are nested deeper than 16" },
  ref_not_found: { exit: 1, meaning: "no such ref" },
  // snapshots
  store_not_found: { exit: 1, meaning: "no .snap store was found" },
  store_exists: { exit: 1, meaning: "a store already exists there" },
  rev_invalid: { exit: 2, meaning: "a revision expression cannot be parsed" },
  rev_not_found: { exit: 1, meaning: "a revision does not resolve to a snapshot" },
  rev_ambiguous: { exit: 2, meaning: "an oid prefix matches more than one object" },
  branch_advanced: { exit: 3, meaning: "the pipeline's branch moved while the build ran" },
  pipeline_mismatch: { exit: 1, meaning: "a parent snapshot belongs to another pipeline" },
  label_invalid: { exit: 2, meaning: "an artifact label is not a safe relative path" },
  artifact_id_mismatch: { exit: 1, meaning: "an artifact id does not match its content" },
  incomplete_closure: { exit: 1, meaning: "expected labels are missing from the build" },
  txn_closed: { exit: 1, meaning: "the build transaction was already committed or aborted" },
  release_failed: { exit: 1, meaning: "a release adapter failed; the previous release still serves" },
  release_not_found: { exit: 1, meaning: "no such release, or no previous release to revert to" },
  target_unsafe: { exit: 1, meaning: "a release target path escapes, or exists and was not made by snap" },
  adapter_unknown: { exit: 2, meaning: "no adapter with that name is registered" },
  corruption_found: { exit: 4, meaning: "fsck or verify found corruption" },
} as const satisfies Record<string, { exit: ExitClass; meaning: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export const ERROR_CODE_LIST = Object.keys(ERROR_CODES) as ErrorCode[];

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && Object.prototype.hasOwnProperty.call(ERROR_CODES, value);
}

export interface SnapErrorJSON {
  code: ErrorCode;
  message: string;
  hint?: string;
  data?: Record<string, unknown>;
}

/**
 * Every error snap throws on purpose. `code` is from ERROR_CODES; `data` carries the facts
 * a caller needs (expected/found values, paths, oids); `hint` says what to do about it.
 */
export class SnapError extends Error {
  readonly code: ErrorCode;
  readonly data: Record<string, unknown>;
  readonly hint: string | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: { data?: Record<string, unknown>; hint?: string; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "SnapError";
    this.code = code;
    this.data = options.data ?? {};
    this.hint = options.hint;
  }

  /** The CLI exit code class for this error. */
  get exitCode(): ExitClass {
    return ERROR_CODES[this.code].exit;
  }

  toJSON(): SnapErrorJSON {
    const out: SnapErrorJSON = { code: this.code, message: this.message };
    if (this.hint !== undefined) out.hint = this.hint;
    if (Object.keys(this.data).length > 0) out.data = this.data;
    return out;
  }
}

/** True for a SnapError (also one from another copy of this package) with the given code. */
export function isSnapError(err: unknown, code?: ErrorCode): err is SnapError {
  if (typeof err !== "object" || err === null) return false;
  const e = err as { name?: unknown; code?: unknown };
  if (e.name !== "SnapError" || !isErrorCode(e.code)) return false;
  return code === undefined || e.code === code;
}
