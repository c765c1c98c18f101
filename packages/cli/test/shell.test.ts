/** The command shell: global options, help, usage errors, exit codes, colour and the --json error envelope. */
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { ANSI, BIN, CLI_ROOT, cleanEnv, parseJson, snap, tempDir } from "./snap.js";

const pkg = JSON.parse(readFileSync(join(CLI_ROOT, "package.json"), "utf8")) as { version: string };
const tmp = tempDir();
afterAll(() => tmp.cleanup());

/** Every command path `snap --help` and its groups list (walked from the help text), with its help. */
async function commandHelp(prefix: string[] = []): Promise<Map<string, string>> {
  const help = await snap([...prefix, "--help"], { cwd: tmp.dir });
  expect(help.code, prefix.join(" ")).toBe(0);
  expect(help.stderr).toBe("");
  const section = help.stdout.split("\nCommands:\n")[1];
  const out = new Map<string, string>();
  if (section === undefined) {
    out.set(prefix.join(" "), help.stdout);
    return out;
  }
  const names = section
    .split("\n\n")[0]!
    .split("\n")
    .map((l) => /^ {2}(\S+)/.exec(l)?.[1])
    .filter((n): n is string => n !== undefined && n !== "help");
  const children = await Promise.all(names.map((name) => commandHelp([...prefix, name])));
  for (const child of children) for (const [k, v] of child) out.set(k, v);
  return out;
}

describe("snap shell", () => {
  it("--version prints the package version; with --json a cli_version document", async () => {
    const plain = await snap(["--version"]);
    expect(plain.code).toBe(0);
    expect(plain.stdout.trim()).toBe(pkg.version);
    const json = await snap(["--version", "--json"]);
    expect(json.code).toBe(0);
    expect(parseJson<{ version: string }>(json, "cli_version").version).toBe(pkg.version);
  });

  it("every command's --help shows usage and at least one example, on stdout, exit 0", async () => {
    const helps = await commandHelp();
    expect(helps.size).toBeGreaterThanOrEqual(10);
    for (const [path, help] of helps) {
      expect(help, path).toContain(`Usage: snap ${path}`);
      expect(help, path).toMatch(/Examples:\n {2}\$ snap /);
    }
  });

  it("no command is a usage error (exit 2), in JSON too", async () => {
    const none = await snap([], { cwd: tmp.dir });
    expect(none.code).toBe(2);
    expect(none.stdout).toBe("");
    expect(none.stderr).toMatch(/^error\[invalid_argument\]: /m);
    const json = await snap(["--json"], { cwd: tmp.dir });
    expect(json.code).toBe(2);
    expect(parseJson<{ error: { code: string } }>(json, "cli_error").error.code).toBe("invalid_argument");
  });

  it("unknown commands and options, missing and bad arguments exit 2 with error[invalid_argument] and a hint", async () => {
    for (const args of [["frobnicate"], ["journal", "frobnicate"], ["journal", "read", "--bogus"], ["journal", "append"], ["journal", "read", "--from", "x"]]) {
      const r = await snap(args, { cwd: tmp.dir });
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stdout, args.join(" ")).toBe("");
      const lines = r.stderr.trimEnd().split("\n");
      expect(lines[0], args.join(" ")).toMatch(/^error\[invalid_argument\]: \S/);
      expect(lines[1], args.join(" ")).toMatch(/^hint: /);
      const json = await snap([...args, "--json"], { cwd: tmp.dir });
      expect(json.code).toBe(2);
      const doc = parseJson<{ ok: boolean; error: { code: string; message: string; hint?: string } }>(json, "cli_error");
      expect(doc.ok).toBe(false);
      expect(doc.error.code).toBe("invalid_argument");
      expect(doc.error.hint).toMatch(/--help/);
    }
  });

  it("a missing store is error[store_not_found] (exit 1) naming the three ways to find one", async () => {
    const r = await snap(["journal", "read"], { cwd: tmp.dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error\[store_not_found\]: no \.snap store in /);
    expect(r.stderr).toMatch(/hint: run `snap init`, pass --store DIR or set SNAP_STORE/);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack without --debug
    const json = await snap(["journal", "read", "--json"], { cwd: tmp.dir });
    expect(parseJson<{ error: { code: string } }>(json, "cli_error").error.code).toBe("store_not_found");
    // errors thrown without a hint of their own still get one
    const noHint = await snap(["--store", join(tmp.dir, "nowhere"), "show", "HEAD"], { cwd: tmp.dir });
    expect(noHint.stderr.split("\n")[1]).toMatch(/^hint: \S/);
    const debug = await snap(["journal", "read", "--debug"], { cwd: tmp.dir });
    expect(debug.code).toBe(1);
    expect(debug.stderr).toMatch(/\n\s+at /); // the stack, only with --debug
  });

  it("--store, SNAP_STORE and the walk up to the nearest .snap/ pick the store, in that order", async () => {
    const project = join(tmp.dir, "project");
    const deep = join(project, "a", "b");
    mkdirSync(deep, { recursive: true });
    const other = join(tmp.dir, "other", ".snap");
    const third = join(tmp.dir, "third", ".snap");
    const inits = await Promise.all([
      snap(["init"], { cwd: project }),
      snap(["init"], { cwd: tmp.dir, env: { SNAP_STORE: other } }),
      snap(["--store", third, "init"], { cwd: tmp.dir }),
    ]);
    for (const r of inits) expect(r.code, r.stderr).toBe(0);
    expect(inits[1]!.stdout).toContain(other);
    const where = async (args: string[], env: Record<string, string> = {}) => parseJson<{ journal: string }>(await snap(["journal", "read", "--json", ...args], { cwd: deep, env }), "journal_records").journal;
    expect(await where([])).toBe(join(project, ".snap", "journal"));
    expect(await where([], { SNAP_STORE: other })).toBe(join(other, "journal"));
    expect(await where(["--store", third], { SNAP_STORE: other })).toBe(join(third, "journal"));
    // --store may name the project directory holding .snap/
    expect(await where(["--store", join(tmp.dir, "third")])).toBe(join(third, "journal"));
  });

  it("piped output has no ANSI codes; FORCE_COLOR colours it unless NO_COLOR or --no-color", async () => {
    const piped = await snap(["frobnicate"], { cwd: tmp.dir });
    expect(piped.stderr).not.toMatch(ANSI);
    const forced = await snap(["frobnicate"], { cwd: tmp.dir, env: { FORCE_COLOR: "1" } });
    expect(forced.stderr).toMatch(ANSI);
    const noColor = await snap(["frobnicate"], { cwd: tmp.dir, env: { FORCE_COLOR: "1", NO_COLOR: "1" } });
    expect(noColor.stderr).not.toMatch(ANSI);
    const flag = await snap(["frobnicate", "--no-color"], { cwd: tmp.dir, env: { FORCE_COLOR: "1" } });
    expect(flag.stderr).not.toMatch(ANSI);
    const json = await snap(["frobnicate", "--json"], { cwd: tmp.dir, env: { FORCE_COLOR: "1" } });
    expect(json.stdout).not.toMatch(ANSI);
  });

  const hasScript = spawnSync("script", ["--version"], { encoding: "utf8" }).status === 0;
  it.skipIf(!hasScript)("on a terminal (a pty from script(1)) errors are coloured, unless NO_COLOR or --no-color", () => {
    const onTty = (args: string, env: Record<string, string | undefined> = {}) =>
      spawnSync("script", ["-qec", `${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} ${args}`, "/dev/null"], { cwd: tmp.dir, env: cleanEnv({ TERM: "xterm", ...env }), encoding: "utf8" }).stdout;
    expect(onTty("frobnicate")).toMatch(/\u001b\[31m\u001b\[1merror\[invalid_argument\]/);
    expect(onTty("frobnicate", { NO_COLOR: "1" })).not.toMatch(ANSI);
    expect(onTty("frobnicate --no-color")).not.toMatch(ANSI);
    expect(onTty("--version")).not.toMatch(ANSI);
  });

  it("--help with --json is refused with a cli_error (help is text)", async () => {
    const r = await snap(["journal", "--help", "--json"], { cwd: tmp.dir });
    expect(r.code).toBe(2);
    parseJson(r, "cli_error");
  });
});
