/**
 * The shared long-operation contract (@snap/schema's LongOperationOptions) for checkpoint(),
 * verify() and archive(): throttled `onProgress` events (at most one per 50 ms, plus one at
 * the end of every phase) and `signal`, checked before the commit point only.
 */
import { SnapError, type LongOperationOptions, type ProgressEvent } from "@snap/schema";

const MIN_INTERVAL_MS = 50;

export class Progress {
  private lastAt = 0;
  private current: ProgressEvent | undefined;

  constructor(
    private readonly op: string,
    private readonly options: LongOperationOptions,
  ) {}

  /** Throws SnapError interrupted when the signal was aborted (call before the commit point only). */
  check(): void {
    if (this.options.signal?.aborted) {
      throw new SnapError("interrupted", `${this.op} was interrupted before its commit point; nothing was published or moved`, {
        data: { operation: this.op, phase: this.current?.phase ?? null },
        hint: "run it again",
      });
    }
  }

  /** A progress report, throttled; a new phase first ends the previous one. */
  report(phase: string, done: number, total?: number, unit?: string): void {
    const cb = this.options.onProgress;
    if (cb === undefined) return;
    if (this.current !== undefined && this.current.phase !== phase) this.end();
    this.current = event(phase, done, total, unit);
    const now = performance.now();
    if (now - this.lastAt >= MIN_INTERVAL_MS) {
      this.lastAt = now;
      cb(this.current);
    }
  }

  /** Ends the current phase: its last event is always delivered. */
  end(phase?: string, done?: number, total?: number, unit?: string): void {
    const cb = this.options.onProgress;
    if (cb === undefined) return;
    if (phase !== undefined) {
      if (this.current !== undefined && this.current.phase !== phase) this.end();
      this.current = event(phase, done ?? 0, total, unit);
    }
    if (this.current === undefined) return;
    const e = this.current;
    this.current = undefined;
    this.lastAt = performance.now();
    cb(e);
  }
}

function event(phase: string, done: number, total: number | undefined, unit: string | undefined): ProgressEvent {
  const e: ProgressEvent = { phase, done };
  if (total !== undefined) e.total = total;
  if (unit !== undefined) e.unit = unit;
  return e;
}
