/**
 * A one-line progress bar with counts and rate, redrawn in place on stderr at most ten times
 * a second. Created disabled (no stream) when stderr is not a TTY: then every call is a no-op.
 *
 * Long operations report through the shared contract of @snap/schema (`onProgress(event)`
 * with `{phase, done, total?, unit?}`): `report` feeds one event in. A new phase starts a new
 * count and a new rate; the last event of a phase (done === total) is always drawn.
 */
import type { Writable } from "node:stream";
import type { ProgressEvent } from "@snap/schema";
import { formatBytes } from "./format.js";

const REDRAW_MS = 100;
const BAR_WIDTH = 24;
const RATE_AFTER_S = 0.25;

export class Progress {
  private done = 0;
  private total: number | undefined;
  private started = Date.now();
  private lastDraw = 0;
  private drawn = false;
  private timer: NodeJS.Timeout | undefined;
  /** An activity line (no counts known yet): label and elapsed time, redrawn by a timer. */
  private activity = false;
  /** The phase of the last reported event (undefined before the first `report`). */
  private phase: string | undefined;
  private unit: string;

  constructor(
    private readonly stream: (Writable & { columns?: number }) | undefined,
    private readonly label: string,
    total: number | undefined,
    unit: string,
  ) {
    this.total = total;
    this.unit = unit;
  }

  get enabled(): boolean {
    return this.stream !== undefined;
  }

  setTotal(total: number): void {
    this.total = total;
    this.draw(false);
  }

  /** Add `n` finished items. */
  tick(n = 1): void {
    this.done += n;
    this.draw(false);
  }

  /** Set the finished count. */
  update(done: number, total?: number): void {
    this.done = done;
    if (total !== undefined) this.total = total;
    this.draw(false);
  }

  /**
   * One event of a package's onProgress. A phase change resets the count, the total, the unit
   * and the rate's clock, and is drawn at once, as is the end of a phase.
   */
  report(event: ProgressEvent): void {
    let force = false;
    if (event.phase !== this.phase) {
      this.phase = event.phase;
      this.started = Date.now();
      this.total = undefined;
      force = true;
    }
    if (event.unit !== undefined) this.unit = event.unit;
    this.done = event.done;
    this.total = event.total;
    if (event.total !== undefined && event.done >= event.total) force = true;
    this.draw(force);
  }

  /** `(event) => void` for an operation's `onProgress` option; undefined when disabled (saves the package the calls). */
  get onProgress(): ((event: ProgressEvent) => void) | undefined {
    if (this.stream === undefined) return undefined;
    return (event) => this.report(event);
  }

  /**
   * Show the label and the elapsed time, redrawn every 200 ms until the first count or clear()
   * (for work that has not reported progress yet). A no-op when disabled.
   */
  startActivity(): this {
    if (this.stream === undefined || this.timer !== undefined) return this;
    this.activity = true;
    this.timer = setInterval(() => {
      if (this.phase === undefined && this.done === 0) this.draw(true);
    }, 200);
    this.timer.unref();
    return this;
  }

  /** Erase the bar (the caller prints its result afterwards). */
  clear(): void {
    if (this.timer !== undefined) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
    if (this.stream === undefined || !this.drawn) return;
    this.stream.write("\r\u001b[2K");
    this.drawn = false;
  }

  /** The line as it would be drawn now (exported for tests). */
  render(now = Date.now()): string {
    const elapsed = Math.max((now - this.started) / 1000, 0.001);
    const label = this.phase === undefined ? this.label : `${this.label} ${this.phase}`;
    if (this.activity && this.phase === undefined && this.done === 0) return `${label}… ${elapsed.toFixed(1)} s`;
    const bytes = this.unit === "bytes";
    const count = (n: number) => (bytes ? formatBytes(n) : String(n));
    const rate = this.done / elapsed;
    // A rate over the first instants of a phase says nothing: it appears after RATE_AFTER_S.
    const rateText =
      elapsed < RATE_AFTER_S ? "" : ` (${bytes ? `${formatBytes(Math.round(rate))}/s` : `${rate >= 100 ? rate.toFixed(0) : rate.toFixed(1)} ${this.unit}/s`})`;
    if (this.total === undefined || this.total <= 0) return `${label} ${count(this.done)}${bytes ? "" : ` ${this.unit}`}${rateText}`;
    const ratio = Math.min(this.done / this.total, 1);
    const filled = Math.round(ratio * BAR_WIDTH);
    const bar = `[${"#".repeat(filled)}${"-".repeat(BAR_WIDTH - filled)}]`;
    return `${label} ${bar} ${count(this.done)}/${count(this.total)}${bytes ? "" : ` ${this.unit}`} ${(ratio * 100).toFixed(0)}%${rateText}`;
  }

  private draw(force: boolean): void {
    if (this.stream === undefined) return;
    const now = Date.now();
    if (!force && now - this.lastDraw < REDRAW_MS) return;
    this.lastDraw = now;
    let line = this.render(now);
    const columns = this.stream.columns;
    if (columns !== undefined && columns > 10 && line.length >= columns) line = line.slice(0, columns - 1);
    this.stream.write(`\r\u001b[2K${line}`);
    this.drawn = true;
  }
}
