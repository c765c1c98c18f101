/**
 * The progress and cancellation contract shared by every long snap operation (commitDirectory,
 * gc, fsck, object verify, journal checkpoint/verify/archive). A type only: progress events are
 * never persisted, so they carry no schema_version.
 */

/** One progress report. `total` is absent while the amount of work is still unknown. */
export interface ProgressEvent {
  /** What is being done now, e.g. "hash", "write", "scan", "sweep", "verify". Stable per operation. */
  phase: string;
  /** Units finished in this phase so far (monotonic within a phase). */
  done: number;
  /** Units in this phase, when known. */
  total?: number;
  /** What a unit is: "files", "objects", "records", "bytes". */
  unit?: string;
}

/** Options every long operation accepts. */
export interface LongOperationOptions {
  /** Called at most every few milliseconds and once at the end of each phase; must not throw. */
  onProgress?: (event: ProgressEvent) => void;
  /**
   * Aborting before the operation's commit point stops it with SnapError `interrupted` and
   * leaves nothing moved; once past the commit point the operation finishes and the signal is
   * ignored.
   */
  signal?: AbortSignal;
}
