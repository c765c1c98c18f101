import { existsSync } from "node:fs";
import { chmod, readdir, readFile, stat, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { objectPath, PACK_DIR_NAME, readPackIndexFile } from "@snap/object-store";
import { openSnapshotStore, initStore, type SnapshotStore, type OpenSnapshotStoreOptions } from "../src/index.js";
import { tempDir } from "./helpers.js";

export interface Fixture {
  root: string;
  dir: string;
  store: SnapshotStore;
  cleanup(): Promise<void>;
}

export async function newStore(options: Partial<OpenSnapshotStoreOptions> = {}): Promise<Fixture> {
  const t = await tempDir();
  const dir = `${t.dir}/.snap`;
  await initStore({ dir });
  const store = await openSnapshotStore({ dir, fsync: "never", ...options });
  return {
    root: t.dir,
    dir,
    store,
    async cleanup() {
      await store.close().catch(() => undefined);
      await t.cleanup();
    },
  };
}

/** One build: label -> text content. */
export async function build(store: SnapshotStore, files: Record<string, string>, options: { pipeline?: string; message?: string; projections?: Record<string, { adapter: string; inputs: string[]; config?: Record<string, unknown> }> } = {}) {
  const txn = await store.begin({ pipeline: options.pipeline ?? "main" });
  for (const [label, content] of Object.entries(files)) await txn.recordArtifact({ label, content });
  for (const [name, p] of Object.entries(options.projections ?? {})) await txn.recordProjection({ name, adapter: p.adapter, inputs: p.inputs, config: p.config ?? {} });
  await txn.assertComplete(Object.keys(files));
  return txn.commit(options.message === undefined ? {} : { message: options.message });
}

/** Where an object's bytes are on disk: its loose file, or its range inside a pack file. */
export async function objectLocation(fx: Fixture, oid: string): Promise<{ path: string; offset: number; length: number }> {
  const objectsDir = join(fx.dir, "objects");
  const loose = objectPath(objectsDir, oid);
  if (existsSync(loose)) return { path: loose, offset: 0, length: (await stat(loose)).size };
  const packDir = join(objectsDir, PACK_DIR_NAME);
  for (const name of await readdir(packDir).catch(() => [] as string[])) {
    if (!name.endsWith(".pack")) continue;
    const entry = (await readPackIndexFile(join(packDir, name))).find((e) => e.oid === oid);
    if (entry) return { path: join(packDir, name), offset: entry.offset, length: entry.length };
  }
  throw new Error(`object ${oid} is neither loose nor packed`);
}

/** Sets the time of every object file and pack file (GC's grace period) to `ms` ago. */
export async function ageObjects(fx: Fixture, ms: number): Promise<void> {
  await fx.store.context.objects.flush();
  const t = new Date(Date.now() - ms);
  const objectsDir = join(fx.dir, "objects");
  for (const entry of await readdir(objectsDir, { recursive: true })) {
    const name = entry.split("/").pop() ?? "";
    if (/^[0-9a-f]{62}$/.test(name) || /^[0-9a-f]{64}\.pack$/.test(name)) await utimes(join(objectsDir, entry), t, t);
  }
}

/** Flips one bit in the middle of an object's stored bytes, in place; returns the undo. */
export async function flipObjectByte(fx: Fixture, oid: string): Promise<() => Promise<void>> {
  const loc = await objectLocation(fx, oid);
  const orig = await readFile(loc.path);
  const flipped = Buffer.from(orig);
  const at = loc.offset + Math.floor(loc.length / 2);
  flipped[at] = (flipped[at] as number) ^ 0x01;
  await chmod(loc.path, 0o644);
  await writeFile(loc.path, flipped);
  return () => writeFile(loc.path, orig);
}
