/**
 * A one-line progress bar with counts and rate, redrawn in place on stderr at most ten times
 * a second. Created disabled (no stream) when stderr is not a TTY: then every call is a no-op.
 */
import type { Writable } from "node:stream";

const REDRAW_MS = 100;
const BAR_WIDTH = 24;

export class Progress {
  private done = 0;
  private total: number | undefined;
  private readonly started = Date.now();
  private lastDraw = 0;
  private drawn = false;
  private timer: NodeJS.Timeout | undefined;
  /** An activity line (no counts known): label and elapsed time, redrawn by a timer. */
  private activity = false;

  constructor(
    private readonly stream: (Writable & { columns?: number }) | undefined,
    private readonly label: string,
    total: number | undefined,
    private readonly unit: string,
  ) {
    this.total = total;
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
   * For work whose package reports no progress: show the label and the elapsed time,
   * redrawn every 200 ms until clear(). A no-op when disabled.
   */
  startActivity(): this {
    if (this.stream === undefined || this.timer !== undefined) return this;
    this.activity = true;
    this.timer = setInterval(() => this.draw(true), 200);
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
    if (this.activity && this.done === 0) return `${this.label}… ${elapsed.toFixed(1)} s`;
    const rate = this.done / elapsed;
    const rateText = `${rate >= 100 ? rate.toFixed(0) : rate.toFixed(1)} ${this.unit}/s`;
    if (this.total === undefined || this.total <= 0) return `${this.label} ${this.done} ${this.unit} (${rateText})`;
    const ratio = Math.min(this.done / this.total, 1);
    const filled = Math.round(ratio * BAR_WIDTH);
    const bar = `[${"#".repeat(filled)}${"-".repeat(BAR_WIDTH - filled)}]`;
    return `${this.label} ${bar} ${this.done}/${this.total} ${(ratio * 100).toFixed(0)}% (${rateText})`;
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
