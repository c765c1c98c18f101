/**
 * Spawning the built `snap` binary (node dist/bin.js) and checking its --json output against
 * the schemas the build exported.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, expect, inject } from "vitest";
import type { z } from "zod";
import { OUTPUT_DEFINITIONS } from "../src/schema.js";

export const CLI_ROOT = fileURLToPath(new URL("..", import.meta.url));
export const BIN = join(CLI_ROOT, "dist", "bin.js");

export interface SnapResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface SnapOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  input?: string;
}

/** An environment without colour forcing or a store from the caller's shell. */
export function cleanEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NO_COLOR;
  delete env.FORCE_COLOR;
  delete env.SNAP_STORE;
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

export function startSnap(args: readonly string[], options: SnapOptions = {}): ChildProcess {
  return spawn(process.execPath, [BIN, ...args], {
    cwd: options.cwd ?? tmpdir(),
    env: cleanEnv(options.env),
    stdio: ["pipe", "pipe", "pipe"],
  });
}

export function collect(child: ChildProcess, input?: string): Promise<SnapResult> {
  return new Promise((resolve, reject) => {
    let stdout = "";
    let stderr = "";
    child.stdout!.setEncoding("utf8").on("data", (s: string) => (stdout += s));
    child.stderr!.setEncoding("utf8").on("data", (s: string) => (stderr += s));
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
    if (input !== undefined) child.stdin!.end(input);
    else child.stdin!.end();
  });
}

export function snap(args: readonly string[], options: SnapOptions = {}): Promise<SnapResult> {
  return collect(startSnap(args, options), options.input);
}

const SCHEMAS = new Map<string, z.ZodType>(OUTPUT_DEFINITIONS.map((d) => [d.name, d.schema as z.ZodType]));

/** Every --json document type the CLI can print. */
export const OUTPUT_TYPES: readonly string[] = OUTPUT_DEFINITIONS.map((d) => d.name);

/** Types seen in --json output during this test file (the global teardown checks them). */
export const seenTypes = new Set<string>();

// Each test file importing this module records the document types it validated; after a full
// run, test/global-setup.ts fails the run if some type the CLI prints was never checked.
afterAll(() => {
  const dir = inject("snapSeenTypesDir");
  const path = expect.getState().testPath;
  const name = path === undefined ? undefined : basename(path);
  if (dir !== undefined && name !== undefined) writeFileSync(join(dir, `${name}.json`), JSON.stringify([...seenTypes]));
});

/**
 * Parse stdout as exactly one JSON document and validate it against the schema of its
 * `type`; `expectType` pins which document it must be.
 */
export function parseJson<T = Record<string, unknown>>(result: SnapResult, expectType?: string): T {
  const text = result.stdout;
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  if (lines.length !== 1) throw new Error(`expected exactly one JSON document on stdout, got ${lines.length} lines:\n${text}\nstderr:\n${result.stderr}`);
  const doc = JSON.parse(lines[0]!) as { type?: string };
  validateDoc(doc, expectType);
  return doc as T;
}

export function validateDoc(doc: { type?: string }, expectType?: string): void {
  if (expectType !== undefined && doc.type !== expectType) throw new Error(`expected a ${expectType} document, got ${JSON.stringify(doc).slice(0, 500)}`);
  const schema = SCHEMAS.get(String(doc.type));
  if (schema === undefined) throw new Error(`no schema for --json type ${String(doc.type)}`);
  const parsed = schema.safeParse(doc);
  if (!parsed.success) throw new Error(`${doc.type} does not match its schema: ${JSON.stringify(parsed.error.issues.slice(0, 3))}`);
  seenTypes.add(String(doc.type));
}

// eslint-disable-next-line no-control-regex
export const ANSI = /\u001b\[/;

export function tempDir(prefix = "snap-cli-"): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
