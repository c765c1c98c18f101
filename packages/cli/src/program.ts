/**
 * The commander program: every command, its options, its help with examples. Commands are
 * declared as CommandSpecs by the files in commands/ and run by `runCli` (main.ts), which
 * owns output, exit codes and signals.
 */
import { Command, InvalidArgumentError, Option } from "commander";
import type { CommandContext, HandlerResult } from "./context.js";

declare const __SNAP_CLI_VERSION__: string;

/** The version of this CLI (from package.json at build time). */
export const CLI_VERSION: string = typeof __SNAP_CLI_VERSION__ === "string" ? __SNAP_CLI_VERSION__ : "0.0.0-dev";

export interface CommandSpec {
  /** Name and arguments as commander reads them: "commit <dir>", "ls <rev> [prefix]". */
  usage: string;
  summary: string;
  /** Longer text under the usage line. */
  description?: string;
  /** Add options to the command. */
  options?(cmd: Command): void;
  /** [command line, what it does]: at least one per command. */
  examples: [string, string][];
  run(ctx: CommandContext, args: string[], opts: Record<string, unknown>): Promise<HandlerResult>;
  /**
   * True when `run` passes ctx.signal down and stops promptly once it aborts: before its commit
   * point with SnapError `interrupted` (exit 130), or, when past it, by finishing (commit,
   * release, revert, gc, fsck, journal checkpoint/verify/archive and the journal readers).
   * Otherwise SIGINT ends the process at once with exit 130, as a crash would: every snap
   * package is crash-safe (writes commit by one atomic step; the next open recovers; a dead
   * lock holder is taken over), so nothing half-written is ever seen. A second SIGINT always
   * ends the process at once.
   */
  abortable?: boolean;
}

export interface CommandGroup {
  name: string;
  summary: string;
  description?: string;
  options?(cmd: Command): void;
  commands: CommandSpec[];
}

export type Dispatch = (spec: CommandSpec, args: string[], opts: Record<string, unknown>, cmd: Command) => Promise<void>;

/** Parse a non-negative integer option value (commander calls it; errors are usage errors). */
export function parseCount(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError("expected a non-negative integer");
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new InvalidArgumentError("number too large");
  return n;
}

/** Parse a non-negative number (days may be fractional). */
export function parseNumber(value: string): number {
  if (!/^\d+(\.\d+)?$/.test(value)) throw new InvalidArgumentError("expected a non-negative number");
  return Number(value);
}

function examplesText(examples: [string, string][]): string {
  const width = Math.max(...examples.map(([line]) => line.length));
  return `\nExamples:\n${examples.map(([line, what]) => `  $ ${line.padEnd(width)}  # ${what}`).join("\n")}\n`;
}

function addSpec(parent: Command, spec: CommandSpec, dispatch: Dispatch): Command {
  // Commander wraps descriptions to the terminal's width itself: a single line break in the
  // source is a space (a blank line still starts a paragraph).
  const description = (spec.description ?? spec.summary).replace(/(?<!\n)\n(?!\n)/g, " ");
  const cmd = parent.command(spec.usage).summary(spec.summary).description(description);
  spec.options?.(cmd);
  cmd.addHelpText("after", examplesText(spec.examples));
  cmd.action(async (...actionArgs: unknown[]) => {
    const command = actionArgs[actionArgs.length - 1] as Command;
    const opts = command.optsWithGlobals<Record<string, unknown>>();
    const args = command.processedArgs.map((a: unknown) => (a === undefined ? undefined : String(a))) as string[];
    await dispatch(spec, args, opts, command);
  });
  return cmd;
}

export function createProgram(groups: { top: CommandSpec[]; groups: CommandGroup[] }, dispatch: Dispatch, io: { writeOut(s: string): void; writeErr(s: string): void }): Command {
  const program = new Command("snap");
  program
    .description("snap: immutable, content-addressed snapshots of build outputs; diff, release and revert them")
    .version(CLI_VERSION, "-V, --version", "print the snap version")
    .addOption(new Option("--store <dir>", "the .snap store (default: $SNAP_STORE, else the nearest .snap/ above the working directory)"))
    .option("--json", "print exactly one JSON document on stdout (also on failure)")
    .option("-q, --quiet", "print only data and errors")
    .option("--debug", "print stack traces and internal details on errors")
    .option("--no-color", "never colour output (NO_COLOR is honoured too)")
    .helpOption("-h, --help", "show help for a command")
    .helpCommand("help [command]", "show help for a command")
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: io.writeOut,
      writeErr: io.writeErr,
      // runCli prints commander's errors itself, as `error[invalid_argument]: …` or JSON.
      outputError: () => {},
    })
    .addHelpText(
      "after",
      `
Store: --store DIR, else $SNAP_STORE, else the nearest .snap/ walking up from here.
Exit codes: 0 ok, 1 failure, 2 usage, 3 conflict, 4 corruption found, 130 interrupted.

Examples:
  $ snap init                              # create .snap/ here
  $ snap commit ./dist -m "first build"    # snapshot a directory
  $ snap runs                              # list runs
  $ snap diff HEAD~1 HEAD --stat           # what changed
  $ snap release HEAD --to prod --target ./site
  $ snap revert prod                       # back to the previous release
  $ snap fsck --json                       # verify the store, machine-readable
`,
    );
  for (const spec of groups.top) addSpec(program, spec, dispatch);
  for (const group of groups.groups) {
    const g = program.command(group.name).summary(group.summary).description(group.description ?? group.summary);
    group.options?.(g);
    for (const spec of group.commands) addSpec(g, spec, dispatch);
    const all = group.commands.flatMap((c) => c.examples.slice(0, 1));
    g.addHelpText("after", examplesText(all));
  }
  return program;
}
