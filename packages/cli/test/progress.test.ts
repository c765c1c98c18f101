/**
 * Progress bars on a real terminal (commit, fsck, gc, journal checkpoint and verify). The built binary runs under a pseudo-TTY (util-linux
 * `script`) with stdout redirected to a file, so the pty carries stderr alone: the bar must be
 * there with its counts, erased before the result, and must never reach stdout. Piped stderr,
 * --quiet and --json get no bar and no control sequences at all.
 *
 * Skipped, with the reason printed, on a machine without util-linux `script` (no pty tool).
 */
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { openJournal } from "@snap/journal";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ANSI, BIN, cleanEnv, parseJson, snap, tempDir } from "./snap.js";

const FILES = 1500;
const tmp = tempDir("snap-cli-progress-");
afterAll(() => tmp.cleanup());
const project = tmp.dir;

function utilLinuxScript(): string | undefined {
  const r = spawnSync("script", ["--version"], { encoding: "utf8" });
  if (r.error !== undefined || r.status !== 0) return "no `script` command on PATH";
  if (!/util-linux/.test(`${r.stdout}${r.stderr}`)) return "`script` is not util-linux's (its options differ)";
  return undefined;
}
const skipReason = utilLinuxScript();
if (skipReason !== undefined) console.warn(`progress.test.ts: the pseudo-TTY tests are skipped: ${skipReason} (install util-linux/bsdutils)`);

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

interface TtyResult {
  code: number | null;
  /** Everything the command wrote to the terminal (its stderr: stdout went to a file). */
  tty: string;
  stdout: string;
}

let runs = 0;
/** `snap ARGS` with stderr on a pseudo-TTY and stdout in a file. */
function onTty(args: string[]): Promise<TtyResult> {
  const out = join(project, `stdout-${runs++}.txt`);
  const command = `cd ${quote(project)} && exec ${quote(process.execPath)} ${quote(BIN)} ${args.map(quote).join(" ")} > ${quote(out)}`;
  return new Promise((resolve, reject) => {
    const child = spawn("script", ["-qfec", command, "/dev/null"], {
      env: cleanEnv({ TERM: "xterm", SHELL: "/bin/sh", COLUMNS: "200" }),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let tty = "";
    child.stdout.setEncoding("utf8").on("data", (s: string) => (tty += s));
    child.stderr.setEncoding("utf8").on("data", (s: string) => (tty += s));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, tty, stdout: readFileSync(out, "utf8") }));
  });
}

/** The lines the terminal showed, one per redraw (`\r` + erase-line starts each). */
const frames = (tty: string) => tty.split("\r\u001b[2K").map((f) => f.replace(/\r?\n$/, ""));

function writeTree(version: number): void {
  for (let i = 0; i < FILES; i++) {
    const dir = join(project, "tree", `d${i % 30}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `f${i}.txt`), `v${version} ${i}\n`);
  }
}

describe.skipIf(skipReason !== undefined)("progress on a TTY (util-linux script as the pseudo-TTY)", () => {
  beforeAll(async () => {
    expect((await snap(["init"], { cwd: project })).code).toBe(0);
  });

  it(`commit of ${FILES} files draws scan and hash bars with counts on the TTY, erases them, and keeps stdout clean`, async () => {
    writeTree(1);
    const r = await onTty(["commit", "tree", "-m", "one"]);
    expect(r.code, r.tty).toBe(0);
    const shown = frames(r.tty);
    expect(shown.some((f) => /^commit scan \d+ files/.test(f)), r.tty).toBe(true);
    expect(shown.some((f) => /^commit hash \[[#-]{24}\] \d+\/1500 files \d+%/.test(f)), r.tty).toBe(true);
    // the end of the phase is always drawn
    expect(shown).toContainEqual(expect.stringMatching(/^commit hash \[#{24}\] 1500\/1500 files 100%/));
    // the bar is erased before the note that ends the command
    expect(r.tty).toMatch(/\r\u001b\[2Kcommitted 1500 files/);
    expect(r.stdout).toMatch(/^[0-9a-f]{12} main \S+\n$/);
    expect(r.stdout).not.toMatch(ANSI);
  });

  it("fsck and gc draw their phases with counts on the TTY", async () => {
    writeTree(2);
    expect((await snap(["commit", "tree"], { cwd: project })).code).toBe(0);
    const fsck = await onTty(["fsck"]);
    expect(fsck.code, fsck.tty).toBe(0);
    expect(frames(fsck.tty)).toContainEqual(expect.stringMatching(/^fsck verify \d+ objects/));
    expect(fsck.stdout).toMatch(/^ok: \d+ objects checked/);
    expect(fsck.stdout).not.toMatch(/\r|\u001b/);

    // garbage, as an interrupted commit leaves it: unreferenced blobs under their oid
    for (let i = 0; i < 40; i++) {
      const bytes = `orphan ${i}\n`;
      const oid = createHash("sha256").update(bytes).digest("hex");
      mkdirSync(join(project, ".snap", "objects", oid.slice(0, 2)), { recursive: true });
      writeFileSync(join(project, ".snap", "objects", oid.slice(0, 2), oid.slice(2)), bytes);
    }
    const gc = await onTty(["gc", "--grace", "0"]);
    expect(gc.code, gc.tty).toBe(0);
    const shown = frames(gc.tty);
    expect(shown).toContainEqual(expect.stringMatching(/^gc scan \d+ objects/));
    // the sweep's total is known: a bar, ending full
    expect(shown).toContainEqual(expect.stringMatching(/^gc sweep \[#{24}\] (\d+)\/\1 objects 100%/));
    expect(gc.stdout).toMatch(/^removed (4\d|[5-9]\d|\d{3,}) objects/);
    expect(gc.stdout).not.toMatch(/\r|\u001b/);
  });

  it("journal checkpoint and verify draw their phases with counts on the TTY", async () => {
    // a standalone journal with enough records for several segments
    const dir = join(project, "journal");
    const journal = await openJournal({ dir, segmentBytes: 64 * 1024 });
    for (let batch = 0; batch < 20; batch++) {
      const records = Array.from({ length: 500 }, (_, i) => ({ action: "put", item_type: "note", item_id: `n${(batch * 500 + i) % 3000}`, payload: { batch, i, text: "x".repeat(40) } }));
      await journal.appendMany(records, { durability: "none" });
    }
    await journal.close();

    const ckpt = await onTty(["journal", "checkpoint", "--dir", dir]);
    expect(ckpt.code, ckpt.tty).toBe(0);
    const shownCkpt = frames(ckpt.tty);
    expect(shownCkpt, ckpt.tty).toContainEqual(expect.stringMatching(/^checkpoint scan \[#{24}\] 10000\/10000 records 100%/));
    expect(shownCkpt).toContainEqual(expect.stringMatching(/^checkpoint write \[#{24}\] [\d.]+ (B|KiB|MiB)\/[\d.]+ (B|KiB|MiB) 100%/));
    expect(ckpt.stdout).toMatch(/^wrote ckpt-/);
    expect(ckpt.stdout).not.toMatch(/\r|\u001b/);

    const verify = await onTty(["journal", "verify", "--dir", dir]);
    expect(verify.code, verify.tty).toBe(0);
    const shownVerify = frames(verify.tty);
    expect(shownVerify, verify.tty).toContainEqual(expect.stringMatching(/^verify scan \[#{24}\] (\d+)\/\1 segments 100%/));
    expect(shownVerify).toContainEqual(expect.stringMatching(/^verify rebuild \[#{24}\] 3000\/3000 entities 100%/));
    expect(verify.stdout).toMatch(/^10000 records, 3000 entities/);
    expect(verify.stdout).not.toMatch(/\r|\u001b/);
  });

  it("--quiet and --json draw nothing on the TTY; --json still prints its one document", async () => {
    writeTree(3);
    const quiet = await onTty(["commit", "tree", "--quiet"]);
    expect(quiet.code).toBe(0);
    expect(quiet.tty).toBe("");
    expect(quiet.stdout).toMatch(/^[0-9a-f]{12} main /);
    const json = await onTty(["fsck", "--json"]);
    expect(json.code).toBe(0);
    expect(json.tty).toBe("");
    parseJson({ code: json.code, signal: null, stdout: json.stdout, stderr: "" }, "fsck_report");
  });
});

describe("progress with stderr piped", () => {
  it("draws no bar and writes no control sequence to a piped stderr", async () => {
    const dir = join(project, "piped");
    mkdirSync(join(dir, "tree"), { recursive: true });
    for (let i = 0; i < 300; i++) writeFileSync(join(dir, "tree", `f${i}`), `${i}\n`);
    expect((await snap(["init"], { cwd: dir })).code).toBe(0);
    for (const args of [["commit", "tree"], ["fsck"], ["gc", "--grace", "0"]]) {
      const r = await snap(args, { cwd: dir, env: { TERM: "xterm" } });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).not.toMatch(/\r/);
      expect(r.stderr).not.toMatch(ANSI);
      expect(r.stdout).not.toMatch(ANSI);
      expect(r.stderr).not.toMatch(/\[[#-]{24}\]/);
    }
  });
});
