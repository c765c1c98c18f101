/**
 * Where every byte the CLI prints goes. Data goes to stdout; progress, notes, warnings and
 * errors go to stderr. With `--json`, stdout carries exactly one JSON document (streams such
 * as `journal follow --json` print one document per line) and nothing else.
 */
import { once } from "node:events";
import type { Writable } from "node:stream";
import { createColors, type Colors } from "./format.js";
import { Progress } from "./progress.js";

export interface OutputStreams {
  stdout: Writable & { isTTY?: boolean; columns?: number };
  stderr: Writable & { isTTY?: boolean; columns?: number };
}

export interface OutputOptions {
  json: boolean;
  quiet: boolean;
  /** false when --no-color was given. */
  color: boolean;
  debug: boolean;
  env: NodeJS.ProcessEnv;
}

/** Colour is on only for a TTY, never with NO_COLOR, --no-color or --json; FORCE_COLOR forces it (tests). */
export function colorEnabled(stream: { isTTY?: boolean }, options: Pick<OutputOptions, "json" | "color" | "env">): boolean {
  if (options.json || !options.color) return false;
  const noColor = options.env.NO_COLOR;
  if (noColor !== undefined && noColor !== "") return false;
  const force = options.env.FORCE_COLOR;
  if (force !== undefined && force !== "" && force !== "0" && force !== "false") return true;
  if (options.env.TERM === "dumb") return false;
  return stream.isTTY === true;
}

export class Output {
  readonly json: boolean;
  readonly quiet: boolean;
  readonly debug: boolean;
  /** Colours for stdout (data). */
  readonly colors: Colors;
  /** Colours for stderr (messages). */
  readonly errColors: Colors;
  private readonly streams: OutputStreams;
  private readonly progressEnabled: boolean;
  private jsonWritten = false;
  private activeProgress: Progress | undefined;

  constructor(streams: OutputStreams, options: OutputOptions) {
    this.streams = streams;
    this.json = options.json;
    this.quiet = options.quiet;
    this.debug = options.debug;
    this.colors = createColors(colorEnabled(streams.stdout, options));
    this.errColors = createColors(colorEnabled(streams.stderr, options));
    this.progressEnabled = streams.stderr.isTTY === true && !options.quiet && !options.json && options.env.TERM !== "dumb";
  }

  /** Human data on stdout (never with --json). */
  data(text: string): void {
    if (this.json) return;
    this.clearProgress();
    this.streams.stdout.write(text.endsWith("\n") || text === "" ? text : `${text}\n`);
  }

  /** Raw bytes on stdout (`snap cat`). */
  raw(bytes: Uint8Array | string): void {
    this.clearProgress();
    this.streams.stdout.write(bytes);
  }

  /** Stream bytes to stdout with backpressure (`snap cat`). */
  async pipeRaw(stream: NodeJS.ReadableStream | AsyncIterable<Uint8Array | string>): Promise<void> {
    this.clearProgress();
    const stdout = this.streams.stdout;
    for await (const chunk of stream as AsyncIterable<Uint8Array | string>) {
      if (!stdout.write(chunk)) await once(stdout, "drain");
    }
  }

  /** The one --json document. */
  document(doc: unknown): void {
    if (this.jsonWritten) throw new Error("internal: a second --json document");
    this.jsonWritten = true;
    this.streams.stdout.write(`${JSON.stringify(doc)}\n`);
  }

  /** One line of a --json stream (journal follow). */
  streamDocument(doc: unknown): void {
    this.streams.stdout.write(`${JSON.stringify(doc)}\n`);
  }

  get documentWritten(): boolean {
    return this.jsonWritten;
  }

  /** A note for people on stderr; silenced by --quiet and --json. */
  note(text: string): void {
    if (this.quiet || this.json) return;
    this.clearProgress();
    this.streams.stderr.write(`${text}\n`);
  }

  /** A warning on stderr; silenced by --quiet only. */
  warn(text: string): void {
    if (this.quiet) return;
    this.clearProgress();
    this.streams.stderr.write(`${this.errColors.yellow("warning")}: ${text}\n`);
  }

  /** Errors always go to stderr, also with --quiet. */
  errorLine(text: string): void {
    this.clearProgress();
    this.streams.stderr.write(`${text}\n`);
  }

  /** A progress bar on stderr, or a no-op when stderr is not a TTY (or --quiet/--json). */
  progress(label: string, total?: number, unit = "items"): Progress {
    this.clearProgress();
    const p = new Progress(this.progressEnabled ? this.streams.stderr : undefined, label, total, unit);
    this.activeProgress = p;
    return p;
  }

  clearProgress(): void {
    if (this.activeProgress !== undefined) {
      this.activeProgress.clear();
      this.activeProgress = undefined;
    }
  }
}
