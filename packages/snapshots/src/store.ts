/**
 * The `.snap` store on disk and its lifecycle (DESIGN.md "The store on disk"):
 *
 *   config.json      store_config record (format_version, store_id, created_at)
 *   HEAD             "ref: refs/heads/main\n"
 *   objects/         content-addressed objects (@snap/object-store)
 *   refs/            heads/<pipeline>, runs/<pipeline>/<run-id>, releases/<name>, tags/<name>
 *   journal/         the refs' write-ahead log (@snap/journal, via @snap/refs)
 *   releases/<name>/ immutable materializations <snapshot-oid>/, pending.json, target.json
 *   leases/          <txn-id>.json: in-flight build transactions (GC keeps their objects)
 *   cache/           stat-<pipeline>.cache: commitDirectory's stat cache (safe to delete)
 *   tmp/             staging on the same filesystem; never wiped wholesale
 *   snapshots.lock   serializes commit critical sections, releases and gc (taken before the
 *                    refs' own lock, never after it)
 */
import { randomUUID } from "node:crypto";
import { join, resolve as resolvePath } from "node:path";
import { type FsSeam, isCode, nodeFs, publishFile } from "@snap/fs";
import { openObjectStore, type ObjectStore } from "@snap/object-store";
import { parseCanonical, parseVersioned, SnapError, STORE_FORMAT_VERSION, storeConfigSchema, type StoreConfig } from "@snap/schema";
import type { ObjectIO } from "./tree.js";
import { openSnapRefs, type SnapRefs } from "./refs-backend.js";

export const STORE_DIRS = ["objects", "refs", "refs/heads", "refs/runs", "refs/releases", "refs/tags", "journal", "releases", "tmp", "leases", "cache"];

export interface InitStoreOptions {
  dir: string;
  /** The branch HEAD points at (default "main"). */
  defaultPipeline?: string;
}

/** Creates a store at `dir` (store_exists when one is there). Returns its config. */
export async function initStore(options: InitStoreOptions): Promise<StoreConfig> {
  const dir = resolvePath(options.dir);
  const configPath = join(dir, "config.json");
  try {
    await nodeFs.stat(configPath);
    throw new SnapError("store_exists", `a snap store already exists at ${dir}`, { data: { dir } });
  } catch (err) {
    if (!isCode(err, "ENOENT")) throw err;
  }
  for (const d of STORE_DIRS) await nodeFs.mkdir(join(dir, d), { recursive: true });
  const config: StoreConfig = {
    type: "store_config",
    schema_version: 1,
    format_version: STORE_FORMAT_VERSION,
    store_id: randomUUID(),
    created_at: new Date().toISOString(),
  };
  // HEAD goes through @snap/refs (journaled like every ref change).
  const refs = await openSnapRefs(dir, { storeId: config.store_id });
  try {
    if ((await refs.readSymbolic("HEAD")) === undefined) {
      await refs.refs.setSymbolic("HEAD", `refs/heads/${options.defaultPipeline ?? "main"}`, { expect: "absent", reason: "init" });
    }
  } finally {
    await refs.close();
  }
  // Commit point: config.json appearing makes the directory a store.
  const result = await publishFile(configPath, Buffer.from(`${JSON.stringify(config)}\n`), { mode: "no-clobber" });
  if (result === "exists") throw new SnapError("store_exists", `a snap store already exists at ${dir}`, { data: { dir } });
  return config;
}

export async function readStoreConfig(dir: string): Promise<StoreConfig> {
  let raw: Buffer;
  try {
    raw = await nodeFs.readFile(join(dir, "config.json"));
  } catch (err) {
    if (isCode(err, "ENOENT") || isCode(err, "ENOTDIR")) {
      throw new SnapError("store_not_found", `no snap store at ${dir}`, { data: { dir }, hint: "run `snap init` or pass --store" });
    }
    throw err;
  }
  const config = parseVersioned(storeConfigSchema, JSON.parse(raw.toString("utf8")));
  if (config.format_version > STORE_FORMAT_VERSION) {
    throw new SnapError("schema_version_unsupported", `store format ${config.format_version} is newer than this snap reads (${STORE_FORMAT_VERSION})`, {
      data: { found: config.format_version, supported: STORE_FORMAT_VERSION },
    });
  }
  return config;
}

export interface OpenSnapshotStoreOptions {
  dir: string;
  /**
   * Object durability (default "batch": objects are written without fsync and made durable
   * together, by one flush, before any ref names them).
   */
  fsync?: "always" | "batch" | "never";
  /**
   * Pack small objects (default true unless fsync is "always"): the objects of a build are
   * written as one pack file per flush instead of one file each (@snap/object-store
   * FORMAT.md, "Packs"). Every commit flushes before its refs move, so nothing changes for
   * readers; a 10k-file commit creates a few files instead of 20k.
   */
  packObjects?: boolean;
  /** Wraps the object store (tests count reads and writes through this). */
  wrapObjects?: (store: ObjectStore) => ObjectIO;
  /** Journal durability for ref transactions (default "sync": fdatasync before a commit returns). */
  refsDurability?: "sync" | "group" | "none";
  /**
   * The filesystem seam the release path writes through (materializations, their markers,
   * pending.json, target.json, the target symlink; default the real filesystem). Crash tests
   * pass @snap/fs' fault seam. Objects and refs have their own stores and do not use it.
   */
  fs?: FsSeam;
}

/** What every part of the snapshot store shares. */
export interface StoreContext {
  readonly dir: string;
  readonly config: StoreConfig;
  readonly objects: ObjectStore;
  readonly io: ObjectIO;
  readonly refs: SnapRefs;
  /** The snapshots lock path (see the module comment). */
  readonly lockPath: string;
  /** The seam release writes through (OpenSnapshotStoreOptions.fs). */
  readonly fs: FsSeam;
}

export async function openContext(options: OpenSnapshotStoreOptions): Promise<StoreContext> {
  const dir = resolvePath(options.dir);
  const config = await readStoreConfig(dir);
  for (const d of STORE_DIRS) await nodeFs.mkdir(join(dir, d), { recursive: true });
  const fsync = options.fsync ?? "batch";
  const objects = await openObjectStore({ dir: join(dir, "objects"), fsync, pack: fsync !== "always" && options.packObjects !== false });
  const io = options.wrapObjects ? options.wrapObjects(objects) : objects;
  const refsOptions: { storeId: string; durability?: "sync" | "group" | "none" } = { storeId: config.store_id };
  if (options.refsDurability !== undefined) refsOptions.durability = options.refsDurability;
  const refs = await openSnapRefs(dir, refsOptions);
  return { dir, config, objects, io, refs, lockPath: join(dir, "snapshots.lock"), fs: options.fs ?? nodeFs };
}

/** Reads a small JSON record file, or undefined when it does not exist. */
export async function readJsonFile(path: string, fs: FsSeam = nodeFs): Promise<unknown | undefined> {
  try {
    return parseCanonicalLoose((await fs.readFile(path)).toString("utf8"));
  } catch (err) {
    if (isCode(err, "ENOENT") || isCode(err, "ENOTDIR")) return undefined;
    throw err;
  }
}

function parseCanonicalLoose(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return parseCanonical(text);
  }
}
