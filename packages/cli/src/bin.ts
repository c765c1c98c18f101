/**
 * The `snap` binary. SIGINT/SIGTERM abort the running command through its AbortSignal: it
 * stops before its next commit point, leaves the store consistent and exits 130. A second
 * signal exits at once (the store's crash safety covers that too).
 */
import { runCli, EXIT } from "./main.js";

const controller = new AbortController();
let signals = 0;
const onSignal = (signal: NodeJS.Signals): void => {
  signals++;
  if (signals === 1) {
    controller.abort(new Error(`received ${signal}`));
    return;
  }
  process.stderr.write(`\nsnap: second ${signal}, exiting now\n`);
  process.exit(EXIT.interrupted);
};
process.on("SIGINT", onSignal);
process.on("SIGTERM", onSignal);
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
}).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`error[internal]: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = EXIT.failure;
  },
);
