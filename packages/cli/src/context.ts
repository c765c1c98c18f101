/**
 * What every command handler gets: the parsed global options, the output, the abort signal
 * (SIGINT) and the store location rules. Handlers return an Outcome: the --json document
 * (checked against its schema before it is printed) and how to print it for people.
 */
import type { Readable } from "node:stream";
import type { RecordDefinition } from "@snap/schema";
import type { Output } from "./output.js";
import { locateStore, requireStore, type StoreLocation } from "./store-location.js";

export interface GlobalOptions {
  store?: string | undefined;
  json: boolean;
  quiet: boolean;
  debug: boolean;
  color: boolean;
}

export interface CommandContext {
  readonly globals: GlobalOptions;
  readonly out: Output;
  /** Aborted on SIGINT/SIGTERM: long operations pass it down and stop before their commit point. */
  readonly signal: AbortSignal;
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  readonly stdin: Readable;
  /** The existing store this command works on (throws store_not_found). */
  store(): StoreLocation;
  /** Where `snap init` creates a store. */
  storeForInit(): StoreLocation;
}

export interface Outcome {
  /** The --json document: a record of `definition`. */
  doc: { type: string; schema_version: number };
  definition: RecordDefinition;
  /** Human output (stdout for data, `out.note` for the rest). */
  human(out: Output): void;
  /** Exit code when not 0 (fsck finding corruption: 4). */
  exitCode?: number;
}

/** A handler either returns an Outcome or has already streamed its output (follow, cat). */
export type HandlerResult = Outcome | { streamed: true; exitCode?: number };

export function outcome<D extends RecordDefinition>(
  definition: D,
  doc: D["example"],
  human: (out: Output) => void,
  exitCode?: number,
): Outcome {
  const result: Outcome = { doc: doc as { type: string; schema_version: number }, definition, human };
  if (exitCode !== undefined) result.exitCode = exitCode;
  return result;
}

export function createContext(init: {
  globals: GlobalOptions;
  out: Output;
  signal: AbortSignal;
  cwd: string;
  env: NodeJS.ProcessEnv;
  stdin: Readable;
}): CommandContext {
  return {
    ...init,
    store: () => requireStore(locateStore({ store: init.globals.store, env: init.env, cwd: init.cwd })),
    storeForInit: () => locateStore({ store: init.globals.store, env: init.env, cwd: init.cwd, forInit: true }),
  };
}
