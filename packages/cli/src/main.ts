/**
 * runCli: parse, run one command, print its result or its error, return the exit code.
 * Exit codes: 0 ok, 1 failure, 2 usage, 3 conflict, 4 corruption found, 130 interrupted.
 */
import type { Readable } from "node:stream";
import { CommanderError, type Command } from "commander";
import { cliErrorOf, isSnapError, SnapError, type RecordDefinition } from "@snap/schema";
import { createContext, type GlobalOptions, type HandlerResult, type Outcome } from "./context.js";
import { Output, type OutputStreams } from "./output.js";
import { CLI_VERSION, createProgram, type CommandSpec } from "./program.js";
import { COMMANDS } from "./commands/index.js";
import { cliVersionDefinition } from "./schema.js";
import { defaultHint } from "./hints.js";

export const EXIT = { ok: 0, failure: 1, usage: 2, conflict: 3, corruption: 4, interrupted: 130 } as const;

export interface CliIo extends OutputStreams {
  stdin: Readable;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Aborted on SIGINT/SIGTERM by the binary. */
  signal?: AbortSignal;
  /** Told which command is about to run (the binary decides how SIGINT ends it). */
  onCommand?(info: { path: string; abortable: boolean }): void;
}

/** The global flags, read before commander so that even its usage errors honour --json. */
export function scanGlobals(argv: readonly string[]): GlobalOptions {
  const globals: GlobalOptions = { json: false, quiet: false, debug: false, color: true };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--") break;
    if (arg === "--json") globals.json = true;
    else if (arg === "--quiet" || arg === "-q") globals.quiet = true;
    else if (arg === "--debug") globals.debug = true;
    else if (arg === "--no-color") globals.color = false;
    else if (arg === "--store") globals.store = argv[i + 1];
    else if (arg?.startsWith("--store=")) globals.store = arg.slice("--store=".length);
  }
  return globals;
}

function usageError(err: CommanderError, commandPath: string): SnapError {
  const message = err.message.replace(/^error: /, "");
  return new SnapError("invalid_argument", message, {
    hint: `run \`${commandPath} --help\` for usage`,
    data: { reason: err.code.replace(/^commander\./, "").replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`) },
  });
}

function exitCodeOf(err: unknown): number {
  if (isSnapError(err)) return err.exitCode;
  return EXIT.failure;
}

export function reportError(out: Output, err: unknown, exitCode: number): number {
  if (out.json) {
    if (!out.documentWritten) {
      const doc = cliErrorOf(err);
      doc.error.hint ??= defaultHint(doc.error.code);
      out.document(doc);
    }
  } else {
    const c = out.errColors;
    const doc = cliErrorOf(err);
    out.errorLine(`${c.red(c.bold(`error[${doc.error.code}]`))}: ${doc.error.message}`);
    const hint = doc.error.hint ?? defaultHint(doc.error.code);
    out.errorLine(`${c.dim("hint:")} ${hint}`);
  }
  if (out.debug && err instanceof Error) {
    out.errorLine(err.stack ?? String(err));
    if (isSnapError(err) && Object.keys(err.data).length > 0) out.errorLine(`data: ${JSON.stringify(err.data)}`);
    if (err.cause !== undefined) out.errorLine(`cause: ${err.cause instanceof Error ? (err.cause.stack ?? err.cause.message) : String(err.cause)}`);
  }
  return exitCode;
}

function emit(out: Output, result: Outcome): void {
  if (out.json) {
    const definition: RecordDefinition = result.definition;
    const parsed = definition.schema.safeParse(result.doc);
    if (!parsed.success) {
      throw new SnapError("internal", `--json output of type ${result.doc.type} does not match its schema`, {
        data: { type: result.doc.type, issues: parsed.error.issues.slice(0, 5).map((i) => ({ path: i.path.join("."), message: i.message })) },
      });
    }
    out.document(result.doc);
  } else {
    result.human(out);
  }
}

/** The error a command interrupted by a signal reports. */
export function interruptedError(): SnapError {
  return new SnapError("interrupted", "interrupted by a signal before the operation's commit point", {
    hint: "nothing after the last commit point was written; run the command again",
  });
}

/** Run one `snap` command line (argv without `node` and the script). Returns the exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const globals = scanGlobals(argv);
  const out = new Output(io, { json: globals.json, quiet: globals.quiet, color: globals.color, debug: globals.debug, env: io.env });
  const signal = io.signal ?? new AbortController().signal;
  let exitCode: number = EXIT.ok;
  let ran = false;

  if (globals.json && (argv.includes("--version") || argv.includes("-V"))) {
    out.document({ type: cliVersionDefinition.name, schema_version: cliVersionDefinition.version, version: CLI_VERSION, node: process.version });
    return EXIT.ok;
  }

  const dispatch = async (spec: CommandSpec, args: string[], opts: Record<string, unknown>, cmd: Command): Promise<void> => {
    ran = true;
    const parsedGlobals: GlobalOptions = {
      store: typeof opts.store === "string" ? opts.store : undefined,
      json: opts.json === true,
      quiet: opts.quiet === true,
      debug: opts.debug === true,
      color: opts.color !== false,
    };
    const ctx = createContext({ globals: parsedGlobals, out, signal, cwd: io.cwd, env: io.env, stdin: io.stdin });
    io.onCommand?.({ path: commandPathOf(program, argv), abortable: spec.abortable === true });
    let result: HandlerResult;
    try {
      if (signal.aborted) throw interruptedError();
      result = await spec.run(ctx, args, opts);
    } catch (err) {
      out.clearProgress();
      if (signal.aborted) {
        exitCode = reportError(out, isSnapError(err, "interrupted") ? err : interruptedError(), EXIT.interrupted);
        return;
      }
      exitCode = reportError(out, err, exitCodeOf(err));
      return;
    }
    out.clearProgress();
    if ("streamed" in result) {
      exitCode = result.exitCode ?? (signal.aborted ? EXIT.interrupted : EXIT.ok);
      return;
    }
    if (signal.aborted) out.note("the interrupt came after the operation's commit point: it finished");
    try {
      emit(out, result);
      exitCode = result.exitCode ?? EXIT.ok;
    } catch (err) {
      exitCode = reportError(out, err, exitCodeOf(err));
    }
    void cmd;
  };
  // eslint-disable-next-line prefer-const
  let program: Command;

  program = createProgram(COMMANDS, dispatch, {
    writeOut: (s) => io.stdout.write(globals.json ? "" : s),
    writeErr: (s) => io.stderr.write(s),
  });

  try {
    await program.parseAsync([...argv], { from: "user" });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === "commander.helpDisplayed" || err.code === "commander.version" || (err.code === "commander.help" && err.exitCode === 0)) {
        if (globals.json && err.code !== "commander.version") {
          return reportError(out, new SnapError("invalid_argument", "--help prints text, not JSON", { hint: "run the command with --help and without --json" }), EXIT.usage);
        }
        return EXIT.ok;
      }
      const path = commandPathOf(program, argv);
      if (err.code === "commander.help" || err.code === "commander.executeSubCommandAsync") {
        return reportError(out, new SnapError("invalid_argument", `${path}: a command is required`, { hint: `run \`${path} --help\` for the list of commands` }), EXIT.usage);
      }
      return reportError(out, usageError(err, path), EXIT.usage);
    }
    return reportError(out, err, exitCodeOf(err));
  }
  if (!ran) {
    return reportError(out, new SnapError("invalid_argument", "a command is required", { hint: "run `snap --help` for the list of commands" }), EXIT.usage);
  }
  return exitCode;
}

/** "snap journal" for `snap journal bogus`, for the hint line. */
function commandPathOf(program: Command, argv: readonly string[]): string {
  const path = ["snap"];
  let current: Command = program;
  for (const arg of argv) {
    if (arg.startsWith("-")) continue;
    const sub = current.commands.find((c) => c.name() === arg || c.aliases().includes(arg));
    if (sub === undefined) break;
    path.push(sub.name());
    current = sub;
  }
  return path.join(" ");
}
