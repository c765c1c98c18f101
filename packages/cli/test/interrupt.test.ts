/**
 * Where the interrupt lands relative to the commit point decides the outcome, pinned here
 * in-process (runCli, the library surface of the binary) by aborting the command's signal at
 * an exact phase: the progress bar is drawn on a fake TTY, and the abort fires when a given
 * phase first appears on it. Before the refs transaction: error[interrupted], exit 130, the
 * branch unmoved. After it (the "commit" phase is reported once the refs moved): the commit
 * finishes, prints its result, exits 0, and says the interrupt came too late.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Readable, Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../src/main.js";
import { tempDir, validateDoc } from "./snap.js";

class Sink extends Writable {
  text = "";
  columns = 200;
  constructor(
    readonly isTTY: boolean,
    private readonly onText?: (text: string) => void,
  ) {
    super();
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString();
    this.onText?.(this.text);
    cb();
  }
}

const tmp = tempDir("snap-cli-interrupt-");
afterAll(() => tmp.cleanup());
const project = tmp.dir;
let version = 0;

function writeTree(): void {
  version++;
  for (let i = 0; i < 200; i++) {
    mkdirSync(join(project, "tree", `d${i % 10}`), { recursive: true });
    writeFileSync(join(project, "tree", `d${i % 10}`, `f${i}`), `v${version} ${i}\n`);
  }
}

/** `snap ARGS` in-process; `abortWhen` sees everything drawn on the (TTY) stderr so far. */
async function run(args: string[], abortWhen?: (stderr: string) => boolean): Promise<{ code: number; stdout: string; stderr: string }> {
  const controller = new AbortController();
  const stdout = new Sink(false);
  const stderr = new Sink(abortWhen !== undefined, (text) => {
    if (abortWhen?.(text) === true && !controller.signal.aborted) controller.abort(new Error("test interrupt"));
  });
  const env: NodeJS.ProcessEnv = { TERM: "xterm" };
  const code = await runCli(args, { stdout, stderr, stdin: Readable.from([]), env, cwd: project, signal: controller.signal });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

async function branchHead(): Promise<string> {
  const r = await run(["show", "HEAD", "--json"]);
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { snapshot: { snapshot_oid: string } }).snapshot.snapshot_oid;
}

describe("an interrupt during snap commit", () => {
  beforeAll(async () => {
    expect((await run(["init"])).code).toBe(0);
    writeTree();
    expect((await run(["commit", "tree"])).code).toBe(0);
  });

  it("before the commit point (while hashing): error[interrupted], exit 130, the branch unmoved, no lease left", async () => {
    const before = await branchHead();
    writeTree();
    const r = await run(["commit", "tree", "--no-color"], (text) => text.includes("commit hash ["));
    expect(r.code, r.stderr).toBe(130);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/\r\u001b\[2Kerror\[interrupted\]: commit interrupted before its commit point/);
    expect(r.stderr).toMatch(/^hint: \S/m);
    expect(await branchHead()).toBe(before);
    const doctor = await run(["doctor", "--json"]);
    const checks = (JSON.parse(doctor.stdout) as { checks: { name: string; detail: string }[] }).checks;
    expect(checks.find((c) => c.name === "leases")?.detail).toBe("no build in flight");
  });

  it("with --json: the cli_error document on stdout, exit 130", async () => {
    writeTree();
    // --json draws no bar to hook the abort on: the signal is already aborted when the command starts
    const controller = new AbortController();
    controller.abort(new Error("test interrupt"));
    const stdout = new Sink(false);
    const code = await runCli(["commit", "tree", "--json"], { stdout, stderr: new Sink(false), stdin: Readable.from([]), env: {}, cwd: project, signal: controller.signal });
    expect(code).toBe(130);
    const doc = JSON.parse(stdout.text) as { type: string; error: { code: string } };
    validateDoc(doc, "cli_error");
    expect(doc.error.code).toBe("interrupted");
  });

  it("after the commit point (refs moved): the commit finishes, prints its result, exits 0 and says the interrupt came too late", async () => {
    const before = await branchHead();
    writeTree();
    const r = await run(["commit", "tree"], (text) => text.includes("commit commit ["));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/the interrupt came after the operation's commit point: it finished/);
    const after = await branchHead();
    expect(after).not.toBe(before);
    expect(r.stdout.startsWith(after.slice(0, 12))).toBe(true);
    expect((await run(["fsck"])).code).toBe(0);
  });
});
