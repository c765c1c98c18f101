import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type FsSeam } from "@snap/fs";
import { type Journal, openJournal } from "@snap/journal";
import { type Refs, openRefs } from "../src/index.js";

export const here = dirname(fileURLToPath(import.meta.url));
export const fixture = (name: string): string => join(here, "fixtures", name);

export const oid = (s: unknown): string => createHash("sha256").update(String(s)).digest("hex");

export async function tempDir(prefix = "snap-refs-"): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export interface Store {
  dir: string;
  journal: Journal;
  refs: Refs;
  close(): Promise<void>;
}

/** A store layout like snap's: <dir>/HEAD, <dir>/refs, <dir>/journal, the store lock <dir>/lock. */
export async function openStore(
  dir: string,
  options: {
    fs?: FsSeam;
    recover?: boolean;
    lockTimeoutMs?: number;
    lockStaleMs?: number;
    refFiles?: "deferred" | "per-transaction";
    maxUnflushedSeqs?: number;
  } = {},
): Promise<Store> {
  const jopts: Parameters<typeof openJournal>[0] = { dir: join(dir, "journal"), lockPath: join(dir, "lock") };
  if (options.fs) jopts.fs = options.fs;
  if (options.lockTimeoutMs !== undefined) jopts.lockTimeoutMs = options.lockTimeoutMs;
  if (options.lockStaleMs !== undefined) jopts.lockStaleMs = options.lockStaleMs;
  const journal = await openJournal(jopts);
  const ropts: Parameters<typeof openRefs>[0] = { dir, journal };
  if (options.fs) ropts.fs = options.fs;
  if (options.recover !== undefined) ropts.recover = options.recover;
  if (options.refFiles !== undefined) ropts.refFiles = options.refFiles;
  if (options.maxUnflushedSeqs !== undefined) ropts.maxUnflushedSeqs = options.maxUnflushedSeqs;
  const refs = await openRefs(ropts);
  return { dir, journal, refs, close: () => journal.close() };
}

export interface Child {
  proc: ChildProcess;
  lines: string[];
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  waitLine(pred: (line: string) => boolean, timeoutMs?: number): Promise<string>;
}

export function spawnNode(script: string, args: string[], env: Record<string, string> = {}): Child {
  const proc = spawn(process.execPath, [script, ...args], {
    stdio: ["pipe", "pipe", "pipe"],
    env: { ...process.env, ...env },
  });
  const lines: string[] = [];
  let buf = "";
  let err = "";
  const waiters: { pred: (l: string) => boolean; resolve: (l: string) => void }[] = [];
  proc.stdout!.setEncoding("utf8");
  proc.stdout!.on("data", (chunk: string) => {
    buf += chunk;
    let i;
    while ((i = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      lines.push(line);
      for (const w of [...waiters]) {
        if (w.pred(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
  });
  proc.stderr!.setEncoding("utf8");
  proc.stderr!.on("data", (c: string) => (err += c));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on("exit", (code, signal) => resolve({ code, signal })),
  );
  return {
    proc,
    lines,
    stderr: () => err,
    exited,
    waitLine(pred, timeoutMs = 30_000) {
      const found = lines.find(pred);
      if (found !== undefined) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`timeout waiting for a line; stderr: ${err}`)), timeoutMs);
        waiters.push({
          pred,
          resolve: (l) => {
            clearTimeout(t);
            resolve(l);
          },
        });
        void exited.then(() => {
          clearTimeout(t);
          const again = lines.find(pred);
          if (again !== undefined) resolve(again);
          else reject(new Error(`child exited before the line; stderr: ${err}`));
        });
      });
    },
  };
}

export const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
