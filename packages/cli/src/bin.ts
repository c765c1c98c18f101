/**
 * The `snap` binary. It installs its SIGINT/SIGTERM handlers before loading anything else, so
 * that a Ctrl-C while the modules load (a few hundred ms on a busy machine) ends the command
 * with error[interrupted] and exit 130 rather than by the signal's default action; then it
 * loads the CLI (cli-process.ts, built as its own file) and hands the signals over.
 */
const earlySignals: NodeJS.Signals[] = [];
const earlyHandler = (signal: NodeJS.Signals): void => {
  earlySignals.push(signal);
};
process.on("SIGINT", earlyHandler);
process.on("SIGTERM", earlyHandler);

const { startCli } = await import("./cli-process.js");
startCli(earlySignals, earlyHandler);
