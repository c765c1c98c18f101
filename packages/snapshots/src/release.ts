/**
 * Release and revert (DESIGN.md "Snapshots"; synix #97 closed).
 *
 * On disk, per release name N (validated: one path segment):
 *   releases/N/<snapshot-oid>/       immutable materialization (built in releases/N/.tmp-*,
 *                                    renamed into place only after every adapter verified)
 *   releases/N/<snapshot-oid>.json   release_materialization record: marks it complete
 *   releases/N/pending.json          release_intent: a release between switch and ref move
 *   releases/N/target.json           release_target: the path N switches
 *   releases/N/current               the default target (a symlink)
 *   <target>                         a symlink to releases/N/<snapshot-oid>, switched by
 *                                    @snap/fs swapSymlink: symlink(tmp) + rename(tmp,
 *                                    target) (one atomic swap) + fsync of its directory
 *
 * Protocol, all under the snapshots lock (so releases of one name, and of all names, are
 * serialized): recover pending intents -> resolve -> check the target (refuse one snap did
 * not make unless `force`) -> materialize (or reuse) -> move a foreign target aside (`force`;
 * never delete it) -> put the release object -> publish pending.json (commit point: after
 * it the release finishes, or recovery finishes or rolls it back; `signal` is ignored) -> swap the target (commit point of what is
 * served) -> one refs transaction moves refs/releases/N (commit point of the record) ->
 * remove pending.json.
 *
 * Durability (power loss): every write goes through the store's seam (ctx.fs) and each step
 * is durable before the next starts: materialization files (publishFile, durability
 * "batch", one FsyncBatch flushed, staging directories included) -> rename of the staging
 * directory into releases/N/<oid>/ + fsync of releases/N/ -> marker <oid>.json (durable
 * publish) -> release object (objects flush) -> target.json, pending.json (durable
 * publishes) -> target swapped and its directory fsynced -> refs transaction (journal
 * commit). So a durable ref or a durable target never names an incomplete materialization. A failure before the swap leaves the previous release serving and
 * moves no ref. Recovery: target already on the new materialization -> move the ref
 * (finish); otherwise -> put the previous one back if the target is gone (roll back).
 */
import { randomBytes } from "node:crypto";
import { basename, dirname, isAbsolute, join, relative, resolve as resolvePath, sep } from "node:path";
import { type FsSeam, FsyncBatch, fsyncDir, isCode, publishFile, removeTree, swapSymlink, withLock } from "@snap/fs";
import { canonicalJson, isOid, isSnapError, parseVersioned, SnapError, type Manifest, type Projection, type Release } from "@snap/schema";
import { AdapterRegistry, type AdapterContext } from "./adapters.js";
import { configFingerprint } from "./fingerprint.js";
import { assertName } from "./label.js";
import { resolveRev } from "./resolve.js";
import { materializationDefinition, releaseIntentDefinition, releaseTargetDefinition, type Materialization, type ReleaseIntent } from "./schema.js";
import { readJsonFile, type StoreContext } from "./store.js";
import { readManifest, readSnapshot } from "./transaction.js";
import { openView } from "./view.js";
import { checkAborted } from "./progress.js";
import { dropOldCopy, dropStagedLeftovers, recoverRenameSwap, renameModeOwner, renameSwap, stageRenameSwap, symlinksWork, type ReleaseSwap } from "./release-rename.js";

export type { ReleaseSwap } from "./release-rename.js";

export interface ReleaseOptions {
  /** Revision to release (default "HEAD"). */
  rev?: string;
  name: string;
  /** The path to switch (default: the name's recorded target, else releases/<name>/current). */
  target?: string;
  /** Move an existing target snap did not make aside (to `<target>.snap-aside-<time>`), never delete it. */
  force?: boolean;
  /** Lock wait (default 120 s). */
  lockTimeoutMs?: number;
  /** Test hook: called at named points of the protocol (crash tests). */
  onStep?: (step: ReleaseStep) => void | Promise<void>;
  /**
   * Aborting before the commit point (the publish of the release intent, just before the
   * target is switched) ends the release with SnapError `interrupted`: the previous release
   * keeps serving, no ref moves, nothing is moved aside. A complete materialization already
   * built stays (immutable; a later release of that snapshot reuses it). After the intent the
   * release finishes and the signal is ignored.
   */
  signal?: AbortSignal;
  /**
   * How the target is switched: "symlink" (an atomic symlink swap), "rename" (the target is a
   * real directory, switched by two renames with the release intent as recovery record; see
   * release-rename.ts), or "auto" (default): symlink, unless the target is already in rename
   * mode or symlink(2) fails here with EPERM/ENOTSUP/EINVAL/ENOSYS/EACCES.
   */
  swap?: ReleaseSwap;
}

export type ReleaseStep = "resolved" | "materialized" | "object-written" | "intent-written" | "switched" | "ref-moved" | "done";

export interface RevertOptions {
  name: string;
  /** Revision to go back to (default: the snapshot of the previous release of `name`). */
  rev?: string;
  target?: string;
  force?: boolean;
  lockTimeoutMs?: number;
  /** As ReleaseOptions.signal. */
  signal?: AbortSignal;
  /** As ReleaseOptions.swap. */
  swap?: ReleaseSwap;
}

export interface ReleaseResult {
  name: string;
  releaseOid: string;
  snapshotOid: string;
  previousReleaseOid: string | null;
  target: string;
  materialization: string;
  /** True when an existing materialization was reused (a pointer swap, no rebuild). */
  reused: boolean;
  release: Release;
  movedAside?: string;
}

export interface ReleaseInfo {
  name: string;
  releaseOid: string;
  release: Release;
  target: string | null;
  pending: boolean;
}

const DEFAULT_LOCK_MS = 120_000;

function relDir(ctx: StoreContext, name: string): string {
  return join(ctx.dir, "releases", name);
}

/** Creates `dir` if absent; a new directory is made durable by fsyncing its parent. */
async function ensureDurableDir(fs: FsSeam, dir: string): Promise<void> {
  try {
    await fs.lstat(dir);
    return;
  } catch (err) {
    if (!isCode(err, "ENOENT")) throw err;
  }
  await fs.mkdir(dir, { recursive: true });
  await fsyncDir(dirname(dir), fs);
}

async function ensureRelDir(ctx: StoreContext, name: string): Promise<string> {
  const dir = relDir(ctx, name);
  await ensureDurableDir(ctx.fs, dir);
  const st = await ctx.fs.lstat(dir);
  if (!st.isDirectory()) {
    throw new SnapError("target_unsafe", `${dir} is not a plain directory (a symlink?); refusing to materialize through it`, { data: { path: dir } });
  }
  return dir;
}

type TargetState = { state: "absent" } | { state: "ours"; snapshotOid: string | null; mode: "symlink" | "rename" } | { state: "foreign"; why: string };

/**
 * What the target is: absent; ours (a snap-made link into releases/N, or a rename-mode
 * directory whose marker names release N); or foreign (anything else).
 */
async function inspectTarget(ctx: StoreContext, name: string, target: string): Promise<TargetState> {
  let st;
  try {
    st = await ctx.fs.lstat(target);
  } catch (err) {
    if (isCode(err, "ENOENT")) return { state: "absent" };
    throw err;
  }
  if (st.isDirectory()) {
    const owner = await renameModeOwner(ctx.fs, target);
    if (owner === name) return { state: "ours", snapshotOid: null, mode: "rename" };
    return { state: "foreign", why: owner === undefined ? "a directory" : `the rename-mode target of release ${owner}` };
  }
  if (!st.isSymbolicLink()) return { state: "foreign", why: "a file" };
  const text = await ctx.fs.readlink(target);
  const points = resolvePath(dirname(target), text);
  const base = relDir(ctx, name);
  if (dirname(points) === base) {
    const leaf = basename(points);
    return { state: "ours", snapshotOid: isOid(leaf) ? leaf : null, mode: "symlink" };
  }
  const releasesRoot = join(ctx.dir, "releases");
  if (points.startsWith(releasesRoot + sep)) return { state: "foreign", why: `a link of another release (${relative(releasesRoot, points).split(sep)[0]})` };
  return { state: "foreign", why: `a symlink to ${text}` };
}

function targetFor(ctx: StoreContext, name: string, given: string | undefined, recorded: string | undefined): string {
  const t = given !== undefined ? resolvePath(given) : (recorded ?? join(relDir(ctx, name), "current"));
  if (!isAbsolute(t)) throw new SnapError("internal", "target must be absolute");
  const store = ctx.dir;
  if (t === store || store.startsWith(t + sep) || (t.startsWith(store + sep) && t !== join(relDir(ctx, name), "current"))) {
    throw new SnapError("target_unsafe", `target ${t} is inside (or contains) the store ${store}`, { data: { target: t, store } });
  }
  return t;
}

async function readTarget(ctx: StoreContext, name: string): Promise<string | undefined> {
  const raw = await readJsonFile(join(relDir(ctx, name), "target.json"), ctx.fs);
  if (raw === undefined) return undefined;
  return parseVersioned(releaseTargetDefinition.schema, raw).target;
}

async function readMaterialization(ctx: StoreContext, name: string, snapshotOid: string): Promise<Materialization | undefined> {
  const dir = join(relDir(ctx, name), snapshotOid);
  const marker = await readJsonFile(`${dir}.json`, ctx.fs);
  if (marker === undefined) return undefined;
  try {
    const st = await ctx.fs.lstat(dir);
    if (!st.isDirectory()) return undefined;
  } catch {
    return undefined;
  }
  return parseVersioned(materializationDefinition.schema, marker);
}

/**
 * Atomically and durably points `target` at `dest` (@snap/fs swapSymlink: symlink to a
 * temporary name, rename over the target, fsync the directory). The temporary name is
 * ours (`.snap-tmp-link-*`), so recovery can sweep it from a directory snap does not own.
 */
async function swapLink(fs: FsSeam, target: string, dest: string): Promise<void> {
  const parent = dirname(target);
  await ensureDurableDir(fs, parent);
  const tmpPath = join(parent, `.snap-tmp-link-${process.pid}-${randomBytes(6).toString("hex")}`);
  await swapSymlink(target, dest, { fs, durability: "always", tmpPath });
}

/** Removes our own temporary links next to a target (debris of a crash mid-swap). */
async function cleanLinkDebris(fs: FsSeam, target: string): Promise<void> {
  const parent = dirname(target);
  let names: string[];
  try {
    names = await fs.readdir(parent);
  } catch {
    return;
  }
  for (const n of names) {
    if (n.startsWith(".snap-tmp-link-")) {
      const p = join(parent, n);
      const st = await fs.lstat(p).catch(() => undefined);
      if (st?.isSymbolicLink()) await fs.unlink(p).catch(() => undefined);
    }
  }
}

/**
 * Removes a tree snap made itself under releases/N (staging debris `.tmp-*`, a moved-aside
 * incomplete materialization): never a target, never user data. Not durable (debris), and
 * done by @snap/fs removeTree (no symlink followed).
 */
async function removeOwnTree(fs: FsSeam, path: string): Promise<void> {
  await removeTree(path, { fs, durability: "never" });
}

function projectionsOf(manifest: Manifest, allLabels: () => Promise<string[]>): Promise<[string, Projection][]> {
  const names = Object.keys(manifest.projections).sort();
  if (names.length > 0) return Promise.resolve(names.map((n) => [n, manifest.projections[n] as Projection]));
  // No projection recorded: release the whole tree as files (implicit projection "files").
  return allLabels().then((labels) => [["files", { adapter: "files", input_artifacts: labels, config: {}, config_fingerprint: configFingerprint({}) }]]);
}

async function materialize(
  ctx: StoreContext,
  adapters: AdapterRegistry,
  name: string,
  snapshotOid: string,
  serving: string | null,
  previousReceipts: Record<string, Record<string, unknown>>,
  signal?: AbortSignal,
): Promise<{ dir: string; receipts: Record<string, Record<string, unknown>>; reused: boolean }> {
  const base = relDir(ctx, name);
  const dir = join(base, snapshotOid);
  const view = await openView(ctx, snapshotOid);
  const projections = await projectionsOf(view.manifest, () => view.labels());
  const ctxFor = (projectionName: string, projection: Projection, outDir: string, batch: FsyncBatch): AdapterContext => ({
    ...(signal === undefined ? {} : { signal }),
    releaseName: name,
    projectionName,
    projection,
    snapshotOid,
    manifest: view.manifest,
    view,
    outDir,
    batch,
    fs: ctx.fs,
    previousReceipt: previousReceipts[projectionName],
  });
  const existing = await readMaterialization(ctx, name, snapshotOid).catch(() => undefined);
  if (existing) {
    let ok = true;
    for (const [pname, projection] of projections) {
      const receipt = existing.adapters[pname];
      if (receipt === undefined) {
        ok = false;
        break;
      }
      const adapter = adapters.get(projection.adapter);
      if (!(await adapter.verify(receipt as Record<string, unknown>, ctxFor(pname, projection, dir, new FsyncBatch({ fs: ctx.fs }))).catch(() => false))) {
        ok = false;
        break;
      }
    }
    if (ok) return { dir, receipts: existing.adapters as Record<string, Record<string, unknown>>, reused: true };
    if (serving === snapshotOid) {
      throw new SnapError("release_failed", `the serving materialization ${dir} no longer verifies; refusing to touch it`, {
        data: { path: dir },
        hint: "inspect it, then release another snapshot",
      });
    }
  }
  // Incomplete or damaged leftovers (never the serving one): move aside and delete our own debris.
  for (const leftover of [dir, `${dir}.json`]) {
    const st = await ctx.fs.lstat(leftover).catch(() => undefined);
    if (st) {
      const aside = join(base, `.tmp-old-${randomBytes(6).toString("hex")}`);
      await ctx.fs.rename(leftover, aside);
      await removeOwnTree(ctx.fs, aside);
    }
  }
  const staging = join(base, `.tmp-mat-${process.pid}-${randomBytes(6).toString("hex")}`);
  await ctx.fs.mkdir(staging);
  const receipts: Record<string, Record<string, unknown>> = {};
  const batch = new FsyncBatch({ fs: ctx.fs });
  try {
    for (const [pname, projection] of projections) {
      checkAborted(signal, "release");
      const adapter = adapters.get(projection.adapter);
      const actx = ctxFor(pname, projection, staging, batch);
      const plan = await adapter.plan(actx);
      const receipt = await adapter.apply(plan, actx);
      canonicalJson(receipt);
      if (!(await adapter.verify(receipt, actx))) {
        throw new SnapError("release_failed", `adapter ${projection.adapter} failed verification for projection ${pname}; release aborted`, {
          data: { adapter: projection.adapter, projection: pname },
        });
      }
      receipts[pname] = receipt;
    }
    batch.addDir(staging);
    await batch.flush(); // every file and directory of the materialization durable, before its name
    await ctx.fs.rename(staging, dir); // the materialization is complete and immutable from here
    await fsyncDir(base, ctx.fs); // ...and its name survives power loss
  } catch (err) {
    await removeOwnTree(ctx.fs, staging).catch(() => undefined);
    checkAborted(signal, "release"); // an adapter stopped because of the signal: report the interruption
    if (isSnapError(err) && (err.code === "release_failed" || err.code === "adapter_unknown" || err.code === "target_unsafe")) throw err;
    throw new SnapError("release_failed", `release ${name} failed while materializing: ${(err as Error).message}`, {
      data: { name, snapshot: snapshotOid },
      cause: err,
      hint: "the previous release still serves; fix the cause and release again",
    });
  }
  const marker: Materialization = { type: "release_materialization", schema_version: 1, name, snapshot_oid: snapshotOid, adapters: receipts as Materialization["adapters"], created_at: new Date().toISOString() };
  await publishFile(`${dir}.json`, Buffer.from(`${canonicalJson(marker)}\n`), { fs: ctx.fs, mode: "replace" });
  return { dir, receipts, reused: false };
}

async function readReleaseObject(ctx: StoreContext, oid: string): Promise<Release> {
  const obj = await ctx.io.getObject(oid);
  if (obj.type !== "release") throw new SnapError("object_invalid", `object ${oid} is a ${obj.type}, not a release`, { data: { oid } });
  return obj as unknown as Release;
}

interface InternalReleaseOptions extends ReleaseOptions {
  sourceRef?: string;
}

async function releaseLocked(ctx: StoreContext, adapters: AdapterRegistry, options: InternalReleaseOptions): Promise<ReleaseResult> {
  const name = options.name;
  const step = options.onStep ?? (() => undefined);
  const signal = options.signal;
  checkAborted(signal, "release");
  await recoverLocked(ctx);
  checkAborted(signal, "release");
  const rev = options.rev ?? "HEAD";
  const resolved = await resolveRev(ctx, rev);
  const snapshotOid = resolved.oid;
  await readSnapshot(ctx, snapshotOid);
  const refName = `refs/releases/${name}`;
  const previousOid = (await ctx.refs.read(refName)) ?? null;
  const previous = previousOid === null ? null : await readReleaseObject(ctx, previousOid);
  const base = await ensureRelDir(ctx, name);
  const recorded = await readTarget(ctx, name);
  const target = targetFor(ctx, name, options.target, recorded);
  await step("resolved");
  // Refuse a target snap did not make before doing any work (it is moved aside, with
  // `force`, only once the materialization is built and the signal checked).
  const seen = await inspectTarget(ctx, name, target);
  if (seen.state === "foreign" && !options.force) throw foreignTarget(name, target, seen.why);
  const serving = seen.state === "ours" ? seen.snapshotOid : null;
  const mat = await materialize(ctx, adapters, name, snapshotOid, serving, (previous?.adapters ?? {}) as Record<string, Record<string, unknown>>, signal);
  await step("materialized");
  checkAborted(signal, "release");
  let movedAside: string | undefined;
  const now = await inspectTarget(ctx, name, target);
  if (now.state === "foreign") {
    if (!options.force) throw foreignTarget(name, target, now.why);
    movedAside = `${target}.snap-aside-${new Date().toISOString().replace(/[:.]/g, "")}-${randomBytes(3).toString("hex")}`;
    await ctx.fs.rename(target, movedAside);
    await fsyncDir(dirname(target), ctx.fs);
  }
  const release: Release = {
    type: "release",
    schema_version: 1,
    name,
    snapshot_oid: snapshotOid,
    previous_release_oid: previousOid,
    source_ref: options.sourceRef ?? rev,
    resolved_ref: resolved.ref !== null && !/[~^]/.test(rev) ? resolved.ref : snapshotOid,
    released_at: new Date().toISOString(),
    adapters: Object.fromEntries(Object.entries(mat.receipts).map(([k, v]) => [k, { ...v, materialization: relative(ctx.dir, mat.dir), target }])) as Release["adapters"],
  };
  const put = await ctx.io.putObject(release);
  await ctx.objects.flush(); // durable before the intent or the ref names it
  await step("object-written");
  checkAborted(signal, "release"); // last chance: the intent below is the commit point
  const previousSnapshotOid = previous?.snapshot_oid ?? null;
  const mode = await chooseSwap(ctx, options.swap ?? "auto", target, now);
  if (mode === "rename") {
    try {
      await stageRenameSwap(ctx.fs, name, target, snapshotOid, previousSnapshotOid, mat.dir);
    } catch (err) {
      throw new SnapError("release_failed", `release ${name}: staging the copy beside ${target} failed: ${(err as Error).message}`, {
        data: { name, target },
        cause: err,
        hint: "the previous release still serves; fix the cause and release again",
      });
    }
  }
  if (recorded !== target) {
    await publishFile(join(base, "target.json"), Buffer.from(`${canonicalJson({ type: "release_target", schema_version: 1, name, target })}\n`), { fs: ctx.fs, mode: "replace" });
  }
  const intent: ReleaseIntent = {
    type: "release_intent",
    schema_version: 1,
    name,
    snapshot_oid: snapshotOid,
    release_oid: put.oid,
    previous_release_oid: previousOid,
    previous_snapshot_oid: previousSnapshotOid,
    target,
    started_at: release.released_at,
  };
  // Commit point of the release as a whole: with the intent published, recovery finishes or
  // rolls back, and this call no longer listens to the signal.
  await publishFile(join(base, "pending.json"), Buffer.from(`${canonicalJson(intent)}\n`), { fs: ctx.fs, mode: "replace" });
  await step("intent-written");
  if (mode === "symlink") await swapLink(ctx.fs, target, mat.dir);
  else await renameSwap(ctx.fs, target, snapshotOid, previousSnapshotOid);
  await step("switched");
  await ctx.refs.transaction([{ ref: refName, expect: previousOid ?? "absent", set: put.oid }], { reason: `release ${name} ${snapshotOid}` });
  await step("ref-moved");
  if (mode === "rename") {
    const aside = await dropOldCopy(ctx.fs, target, previousSnapshotOid, previousSnapshotOid === null ? null : join(base, previousSnapshotOid));
    movedAside ??= aside;
  }
  await ctx.fs.unlink(join(base, "pending.json"));
  await fsyncDir(base, ctx.fs);
  await step("done");
  const result: ReleaseResult = { name, releaseOid: put.oid, snapshotOid, previousReleaseOid: previousOid, target, materialization: mat.dir, reused: mat.reused, release };
  if (movedAside !== undefined) result.movedAside = movedAside;
  return result;
}

/** The swap a release uses (see ReleaseOptions.swap). A rename-mode target stays in rename mode. */
async function chooseSwap(ctx: StoreContext, swap: ReleaseSwap, target: string, seen: TargetState): Promise<"symlink" | "rename"> {
  if (swap !== "auto" && swap !== "symlink" && swap !== "rename") {
    throw new SnapError("invalid_argument", `swap must be "auto", "symlink" or "rename", not ${JSON.stringify(swap)}`);
  }
  if (swap === "rename" || (seen.state === "ours" && seen.mode === "rename")) return "rename";
  if (swap === "symlink") return "symlink";
  await ensureDurableDir(ctx.fs, dirname(target));
  return (await symlinksWork(ctx.fs, target)) ? "symlink" : "rename";
}

function foreignTarget(name: string, target: string, why: string): SnapError {
  return new SnapError("target_unsafe", `target ${target} exists and was not made by snap for release ${name} (it is ${why}); refusing to replace it`, {
    data: { target, found: why },
    hint: "choose another target, or pass --force to move it aside (it is never deleted)",
  });
}

export async function release(ctx: StoreContext, adapters: AdapterRegistry, options: InternalReleaseOptions): Promise<ReleaseResult> {
  assertName(options.name, "release name");
  checkAborted(options.signal, "release");
  return withLock(ctx.lockPath, () => releaseLocked(ctx, adapters, options), { timeoutMs: options.lockTimeoutMs ?? DEFAULT_LOCK_MS });
}

export async function revert(ctx: StoreContext, adapters: AdapterRegistry, options: RevertOptions): Promise<ReleaseResult> {
  assertName(options.name, "release name");
  checkAborted(options.signal, "revert");
  return withLock(
    ctx.lockPath,
    async () => {
      await recoverLocked(ctx);
      let rev = options.rev;
      let sourceRef = options.rev;
      if (rev === undefined) {
        const current = await ctx.refs.read(`refs/releases/${options.name}`);
        if (current === undefined) throw new SnapError("release_not_found", `no release named ${options.name}`, { data: { name: options.name } });
        const cur = await readReleaseObject(ctx, current);
        if (cur.previous_release_oid === null) {
          throw new SnapError("release_not_found", `release ${options.name} has no previous release to revert to`, { data: { name: options.name } });
        }
        rev = (await readReleaseObject(ctx, cur.previous_release_oid)).snapshot_oid;
        sourceRef = `${options.name}@{previous}`;
      }
      const o: InternalReleaseOptions = { name: options.name, rev, sourceRef: sourceRef as string };
      if (options.target !== undefined) o.target = options.target;
      if (options.force !== undefined) o.force = options.force;
      if (options.signal !== undefined) o.signal = options.signal;
      if (options.swap !== undefined) o.swap = options.swap;
      return releaseLocked(ctx, adapters, o);
    },
    { timeoutMs: options.lockTimeoutMs ?? DEFAULT_LOCK_MS },
  );
}

export async function listReleases(ctx: StoreContext): Promise<ReleaseInfo[]> {
  const out: ReleaseInfo[] = [];
  for (const { ref, oid } of await ctx.refs.list("refs/releases/")) {
    const name = ref.slice("refs/releases/".length);
    const rel = await readReleaseObject(ctx, oid);
    const pending = (await ctx.fs.lstat(join(relDir(ctx, name), "pending.json")).catch(() => undefined)) !== undefined;
    out.push({ name, releaseOid: oid, release: rel, target: (await readTarget(ctx, name).catch(() => undefined)) ?? null, pending });
  }
  return out;
}

/** Finishes or rolls back every pending release. Caller holds the snapshots lock. */
async function recoverLocked(ctx: StoreContext): Promise<{ finished: string[]; rolledBack: string[] }> {
  const finished: string[] = [];
  const rolledBack: string[] = [];
  let names: string[];
  try {
    names = await ctx.fs.readdir(join(ctx.dir, "releases"));
  } catch {
    return { finished, rolledBack };
  }
  for (const name of names.sort()) {
    const base = relDir(ctx, name);
    // Staging debris of an interrupted materialization: ours, never served.
    const entries = await ctx.fs.readdir(base).catch(() => [] as string[]);
    for (const e of entries) if (e.startsWith(".tmp-")) await removeOwnTree(ctx.fs, join(base, e)).catch(() => undefined);
    const raw = await readJsonFile(join(base, "pending.json"), ctx.fs).catch(() => undefined);
    if (raw === undefined) {
      // Rename mode: a copy staged by a release that died before its intent (never served).
      const target = (await readTarget(ctx, name).catch(() => undefined)) ?? join(base, "current");
      await dropStagedLeftovers(ctx.fs, name, target);
      continue;
    }
    const intent = parseVersioned(releaseIntentDefinition.schema, raw);
    await cleanLinkDebris(ctx.fs, intent.target);
    const refName = `refs/releases/${intent.name}`;
    const current = (await ctx.refs.read(refName)) ?? null;
    const previousMaterialization = intent.previous_snapshot_oid === null ? null : join(base, intent.previous_snapshot_oid);
    const finish = async (how: string): Promise<void> => {
      await ctx.refs.transaction([{ ref: refName, expect: intent.previous_release_oid ?? "absent", set: intent.release_oid }], {
        reason: `recover release ${intent.name}: ${how}`,
      });
    };
    const renamed = current === intent.release_oid ? "not-rename" : await recoverRenameSwap(ctx.fs, intent.target, intent.snapshot_oid, intent.previous_snapshot_oid);
    if (current === intent.release_oid) {
      finished.push(name);
    } else if (renamed === "switched") {
      await finish("finish (rename mode)");
      finished.push(name);
    } else if (renamed === "not-switched") {
      rolledBack.push(name);
    } else {
      const seen = await inspectTarget(ctx, intent.name, intent.target);
      if (seen.state === "ours" && seen.snapshotOid === intent.snapshot_oid) {
        // The switch happened: finish by recording it.
        await finish("finish");
        finished.push(name);
      } else {
        // The switch did not happen: the previous release still serves. Restore its link if a crash left none.
        if (seen.state === "absent" && intent.previous_snapshot_oid !== null) {
          const prevDir = join(base, intent.previous_snapshot_oid);
          if ((await ctx.fs.lstat(prevDir).catch(() => undefined))?.isDirectory()) {
            await ensureDurableDir(ctx.fs, dirname(intent.target));
            if (await symlinksWork(ctx.fs, intent.target)) await swapLink(ctx.fs, intent.target, prevDir);
          }
        }
        rolledBack.push(name);
      }
    }
    // A finished rename-mode release may still hold the previous copy beside its target.
    if (finished.includes(name)) await dropOldCopy(ctx.fs, intent.target, intent.previous_snapshot_oid, previousMaterialization);
    await ctx.fs.unlink(join(base, "pending.json"));
    await fsyncDir(base, ctx.fs);
  }
  return { finished, rolledBack };
}

export async function recoverReleases(ctx: StoreContext): Promise<{ finished: string[]; rolledBack: string[] }> {
  return withLock(ctx.lockPath, () => recoverLocked(ctx), { timeoutMs: DEFAULT_LOCK_MS });
}
