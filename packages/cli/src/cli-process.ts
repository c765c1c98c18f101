/**
 * The `snap` process, loaded by bin.ts once its early signal handlers are in place.
 * SIGINT/SIGTERM abort the running command through its AbortSignal: an
 * abortable command (CommandSpec.abortable) stops before its commit point, reports
 * error[interrupted] (the --json error document with --json) and exits 130, or finishes when
 * already past it. Any other command, and any second signal, exits 130 at once (the store's
 * crash safety covers that too).
 */
import { SnapError } from "@snap/schema";
import { runCli, EXIT, reportError, scanGlobals } from "./main.js";
import { Output } from "./output.js";

/**
 * Run the command line of this process. `earlySignals` are the signals bin.ts caught while
 * this module loaded; `earlyHandler` is its listener, replaced here.
 */
export function startCli(earlySignals: readonly NodeJS.Signals[], earlyHandler: (signal: NodeJS.Signals) => void): void {
  const argv = process.argv.slice(2);
  const controller = new AbortController();
  let signals = 0;
  let abortable = false;
  /** Set once the command has returned its exit code: only stdout's flush is left. */
  let finishedWith: number | undefined;

  /** Report the interruption (one JSON document with --json) and exit 130 now. */
  function exitInterrupted(signal: NodeJS.Signals): never {
    const globals = scanGlobals(argv);
    const out = new Output(process, { json: globals.json, quiet: globals.quiet, color: globals.color, debug: false, env: process.env });
    const err = new SnapError("interrupted", `interrupted by ${signal}`, {
      hint: "nothing after the last commit point was written and the next snap command recovers the rest; run the command again (`snap fsck` checks the store)",
      data: { signal },
    });
    reportError(out, err, EXIT.interrupted);
    process.exit(EXIT.interrupted);
  }

  const onSignal = (signal: NodeJS.Signals): void => {
    signals++;
    // The command already reported its outcome: a signal now only cuts the wait for stdout.
    if (finishedWith !== undefined) process.exit(finishedWith);
    if (signals === 1 && abortable) {
      controller.abort(new Error(`received ${signal}`));
      return;
    }
    exitInterrupted(signal);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.off(signal, earlyHandler);
  // A signal that arrived while the modules loaded: nothing has started, stop now.
  if (earlySignals[0] !== undefined) exitInterrupted(earlySignals[0]);
  // A closed pipe (`snap log | head`) is not an error worth a stack trace.
  process.stdout.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw err;
  });

  runCli(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    cwd: process.cwd(),
    signal: controller.signal,
    onCommand: (info) => {
      abortable = info.abortable;
    },
  }).then(
    (code) => exitWhenFlushed(code),
    (err: unknown) => {
      process.stderr.write(`error[internal]: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      exitWhenFlushed(EXIT.failure);
    },
  );

  /**
   * Exit explicitly once stdout has taken everything written. Letting the event loop drain
   * instead would close the signal watchers during teardown, restoring SIGINT's default
   * action: a signal landing in that window would kill the process rather than reach
   * onSignal, and the caller would see "killed by SIGINT" for a command that completed.
   */
  function exitWhenFlushed(code: number): void {
    finishedWith = code;
    process.exitCode = code;
    process.stdout.write("", () => process.exit(code));
  }
}
