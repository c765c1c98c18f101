/**
 * Release adapters: the public interface a projection is materialized through
 * (`plan -> apply -> verify`), and the built-ins `files` and `concat`.
 *
 * An adapter writes only inside `outDir`, a fresh staging directory snap created (no
 * symlinks in it). Paths it derives from labels or config go through `safeJoin`, which
 * refuses anything that would land outside `outDir` (target_unsafe). Adapters must be
 * idempotent: applying the same plan to an empty `outDir` gives the same files.
 */
import { join, resolve as resolvePath, sep } from "node:path";
import { type FsSeam, FsyncBatch, publishFile } from "@snap/fs";
import { isSnapError, oidOf, SnapError, type Manifest, type Projection } from "@snap/schema";
import { assertLabel } from "./label.js";
import type { SnapshotView } from "./view.js";

export interface AdapterContext {
  /** The release name. */
  releaseName: string;
  projectionName: string;
  projection: Projection;
  snapshotOid: string;
  manifest: Manifest;
  /** Read access to the snapshot being released (labels, artifacts, content). */
  view: SnapshotView;
  /** The materialization directory to write into (staging; becomes immutable after verify). */
  outDir: string;
  /**
   * Batch fsync: add every file and directory written (publishFile with durability "batch"
   * does it); snap flushes it before the staging directory is renamed into place.
   */
  batch: FsyncBatch;
  /** The filesystem seam to read and write through (@snap/fs; never node:fs directly). */
  fs: FsSeam;
  /** This projection's receipt in the release currently serving, if any. */
  previousReceipt: Record<string, unknown> | undefined;
  /**
   * The release's abort signal, if any. A long apply may stop early once it is aborted
   * (throw anything: the staging directory is removed and the release ends with
   * `interrupted`, nothing switched); the built-in adapters check it between files.
   */
  signal?: AbortSignal;
}

export interface AdapterPlan {
  action: "rebuild" | "update" | "noop";
  summary: string;
  details: Record<string, unknown>;
}

export interface ReleaseAdapter {
  readonly name: string;
  plan(ctx: AdapterContext): Promise<AdapterPlan>;
  /** Writes the projection into ctx.outDir; returns the receipt (JSON) recorded in the release. */
  apply(plan: AdapterPlan, ctx: AdapterContext): Promise<Record<string, unknown>>;
  /** Checks what apply wrote; false or a throw fails the release (nothing is switched). */
  verify(receipt: Record<string, unknown>, ctx: AdapterContext): Promise<boolean>;
}

/** `outDir` joined with a relative `/`-path; refuses escapes with target_unsafe. */
export function safeJoin(outDir: string, rel: string): string {
  try {
    assertLabel(rel);
  } catch (err) {
    if (isSnapError(err, "label_invalid")) {
      throw new SnapError("target_unsafe", `path ${JSON.stringify(rel)} would escape the release directory: ${String(err.data.reason)}`, {
        data: { path: rel, reason: err.data.reason },
      });
    }
    throw err;
  }
  const root = resolvePath(outDir);
  const p = resolvePath(root, ...rel.split("/"));
  if (!p.startsWith(root + sep)) throw new SnapError("target_unsafe", `path ${JSON.stringify(rel)} escapes the release directory`, { data: { path: rel } });
  return p;
}

/** Creates the parent directories of `file` under `root`, refusing any symlink on the way. */
async function mkdirsUnder(fs: FsSeam, root: string, file: string, batch: FsyncBatch, made: Set<string>): Promise<void> {
  const rel = file.slice(root.length + 1).split(sep);
  let cur = root;
  for (let i = 0; i < rel.length - 1; i++) {
    const next = join(cur, rel[i] as string);
    if (!made.has(next)) {
      try {
        await fs.mkdir(next);
        batch.addDir(cur);
      } catch (err) {
        if ((err as { code?: string }).code !== "EEXIST") throw err;
        const st = await fs.lstat(next);
        if (!st.isDirectory()) throw new SnapError("target_unsafe", `${next} exists and is not a directory (a symlink?)`, { data: { path: next } });
      }
      made.add(next);
    }
    cur = next;
  }
}

/** Publishes a new file (@snap/fs publishFile, durability "batch": durable at the batch's flush). */
async function writeNew(fs: FsSeam, path: string, data: Uint8Array, batch: FsyncBatch): Promise<void> {
  const result = await publishFile(path, data, { fs, durability: "batch", batch });
  if (result === "exists") {
    throw new SnapError("release_failed", `two projections write the same path ${path}`, { data: { path } });
  }
}

function prefixOf(config: Record<string, unknown>): string {
  const p = config.prefix;
  if (p === undefined || p === "" || p === null) return "";
  if (typeof p !== "string") throw new SnapError("invalid_argument", "files adapter: config.prefix must be a string");
  return p;
}

/** `files`: each input artifact as a file at its label (under config.prefix, if set). */
export const filesAdapter: ReleaseAdapter = {
  name: "files",
  async plan(ctx) {
    const prefix = prefixOf(ctx.projection.config);
    for (const label of ctx.projection.input_artifacts) safeJoin(ctx.outDir, prefix === "" ? label : `${prefix}/${label}`);
    return { action: "rebuild", summary: `${ctx.projection.input_artifacts.length} file(s)`, details: { prefix } };
  },
  async apply(plan, ctx) {
    const prefix = String(plan.details.prefix ?? "");
    const made = new Set<string>();
    const root = resolvePath(ctx.outDir);
    let bytes = 0;
    for (const label of ctx.projection.input_artifacts) {
      ctx.signal?.throwIfAborted();
      const path = safeJoin(root, prefix === "" ? label : `${prefix}/${label}`);
      await mkdirsUnder(ctx.fs, root, path, ctx.batch, made);
      const data = await ctx.view.content(label);
      await writeNew(ctx.fs, path, data, ctx.batch);
      bytes += data.byteLength;
    }
    return { adapter: "files", projection: ctx.projectionName, files: ctx.projection.input_artifacts.length, bytes, prefix, status: "success", applied_at: new Date().toISOString() };
  },
  async verify(receipt, ctx) {
    const prefix = String(receipt.prefix ?? "");
    let bytes = 0;
    for (const label of ctx.projection.input_artifacts) {
      const path = safeJoin(ctx.outDir, prefix === "" ? label : `${prefix}/${label}`);
      const st = await ctx.fs.lstat(path).catch(() => undefined);
      if (!st?.isFile()) return false;
      bytes += st.size;
    }
    return bytes === receipt.bytes;
  },
};

/** `concat`: the input artifacts (in label order) joined by config.separator into config.output. */
export const concatAdapter: ReleaseAdapter = {
  name: "concat",
  async plan(ctx) {
    const output = typeof ctx.projection.config.output === "string" ? ctx.projection.config.output : `${ctx.projectionName}.txt`;
    safeJoin(ctx.outDir, output);
    const separator = typeof ctx.projection.config.separator === "string" ? ctx.projection.config.separator : "\n";
    return { action: "rebuild", summary: `${ctx.projection.input_artifacts.length} artifact(s) -> ${output}`, details: { output, separator } };
  },
  async apply(plan, ctx) {
    const output = String(plan.details.output);
    const sepBytes = Buffer.from(String(plan.details.separator), "utf8");
    const parts: Buffer[] = [];
    ctx.projection.input_artifacts.forEach(() => undefined);
    for (let i = 0; i < ctx.projection.input_artifacts.length; i++) {
      if (i > 0) parts.push(sepBytes);
      parts.push(await ctx.view.content(ctx.projection.input_artifacts[i] as string));
    }
    const data = Buffer.concat(parts);
    const root = resolvePath(ctx.outDir);
    const path = safeJoin(root, output);
    await mkdirsUnder(ctx.fs, root, path, ctx.batch, new Set());
    await writeNew(ctx.fs, path, data, ctx.batch);
    return { adapter: "concat", projection: ctx.projectionName, output, artifacts: ctx.projection.input_artifacts.length, bytes: data.byteLength, sha256: oidOf(data), status: "success", applied_at: new Date().toISOString() };
  },
  async verify(receipt, ctx) {
    const path = safeJoin(ctx.outDir, String(receipt.output));
    try {
      const data = await ctx.fs.readFile(path);
      return oidOf(data) === receipt.sha256;
    } catch {
      return false;
    }
  },
};

export class AdapterRegistry {
  private readonly adapters = new Map<string, ReleaseAdapter>([
    ["files", filesAdapter],
    ["concat", concatAdapter],
  ]);

  register(adapter: ReleaseAdapter): void {
    if (!adapter || typeof adapter.name !== "string" || typeof adapter.plan !== "function" || typeof adapter.apply !== "function" || typeof adapter.verify !== "function") {
      throw new SnapError("invalid_argument", "an adapter needs a name and plan/apply/verify functions");
    }
    this.adapters.set(adapter.name, adapter);
  }

  get(name: string): ReleaseAdapter {
    const a = this.adapters.get(name);
    if (a === undefined) {
      throw new SnapError("adapter_unknown", `unknown adapter ${JSON.stringify(name)}; available: ${[...this.adapters.keys()].sort().join(", ")}`, {
        data: { adapter: name, available: [...this.adapters.keys()].sort() },
      });
    }
    return a;
  }

  names(): string[] {
    return [...this.adapters.keys()].sort();
  }
}
