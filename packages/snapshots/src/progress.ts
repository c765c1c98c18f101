/**
 * The shared progress/cancellation contract (@snap/schema `LongOperationOptions`) as the
 * long operations of this package use it: `ProgressReporter` throttles `onProgress` to one
 * call per THROTTLE_MS per phase plus one at the end of each phase; `checkAborted` turns an
 * aborted signal into SnapError `interrupted`, and is called only before an operation's
 * commit point.
 */
import { SnapError, type ProgressEvent } from "@snap/schema";

export type { ProgressEvent, LongOperationOptions } from "@snap/schema";

const THROTTLE_MS = 50;

export class ProgressReporter {
  private lastAt = 0;
  private lastPhase = "";

  constructor(
    private readonly onProgress: ((event: ProgressEvent) => void) | undefined,
    private readonly now: () => number = Date.now,
  ) {}

  get enabled(): boolean {
    return this.onProgress !== undefined;
  }

  /** Reports progress within a phase; calls through at most once per THROTTLE_MS (the first of a phase always). */
  update(phase: string, done: number, total?: number, unit?: string): void {
    if (this.onProgress === undefined) return;
    const t = this.now();
    if (phase === this.lastPhase && t - this.lastAt < THROTTLE_MS) return;
    this.lastAt = t;
    this.lastPhase = phase;
    this.emit(phase, done, total, unit);
  }

  /** The last event of a phase: always delivered. */
  end(phase: string, done: number, total?: number, unit?: string): void {
    if (this.onProgress === undefined) return;
    this.lastAt = this.now();
    this.lastPhase = phase;
    this.emit(phase, done, total, unit);
  }

  private emit(phase: string, done: number, total: number | undefined, unit: string | undefined): void {
    const event: ProgressEvent = { phase, done };
    if (total !== undefined) event.total = total;
    if (unit !== undefined) event.unit = unit;
    try {
      (this.onProgress as (e: ProgressEvent) => void)(event);
    } catch {
      // The contract says onProgress must not throw; a bar that breaks must not break the operation.
    }
  }
}

/** Throws SnapError `interrupted` when `signal` is aborted. Call only before the commit point. */
export function checkAborted(signal: AbortSignal | undefined, operation: string): void {
  if (signal?.aborted) {
    const reason = signal.reason instanceof Error ? signal.reason.message : signal.reason === undefined ? "aborted" : String(signal.reason);
    throw new SnapError("interrupted", `${operation} interrupted before its commit point (${reason}); nothing was changed`, {
      data: { operation },
      cause: signal.reason,
    });
  }
}
