/**
 * Release targets without symlinks (DESIGN.md "Snapshots": "Where symlinks are unavailable,
 * the swap falls back to two renames with a recovery record").
 *
 * In "rename" mode the target T is a real directory: a hard-link copy of the immutable
 * materialization `releases/N/<oid>/` (a byte copy where hard links fail, e.g. across
 * filesystems). Everything the swap touches lives in T's parent directory P, so one fsync of
 * P settles both renames, and a crash can only leave P before, between or after them:
 *
 *   P/.snap-swap-<h>.json         release_target record {name, target}: T is snap's, in rename mode
 *   P/.snap-swap-<h>-new-<oid16>  the staged copy of the snapshot being released
 *   P/.snap-swap-<h>-old-<oid16>  the copy T held, moved out of the way by the first rename
 *   (<h>: 16 hex of sha256(T); <oid16>: the snapshot oid's first 16 hex)
 *
 * Protocol, under the snapshots lock: stage the copy (its directories fsynced, then P) and
 * write the marker -> publish the release intent (releases/N/pending.json: the recovery
 * record, the release's commit point) -> rename(T, old) -> rename(new, T) -> fsync P ->
 * the refs transaction -> remove `old` (deleted only if it still looks like our copy of the
 * previous snapshot; otherwise moved aside, never deleted) -> remove the intent.
 *
 * Recovery with an intent pending, from the state of P (see `recoverRenameSwap`):
 *   T present, staged copy present    -> the renames did not happen: roll back (drop the copy)
 *   T present, staged copy absent     -> both happened: finish (move the ref), drop `old`
 *   T absent, `old` present           -> between the renames: roll back (rename old -> T)
 *   T absent, `old` absent            -> first release of the name, not switched: roll back
 * Between the two renames T does not exist: readers see no target for that instant (the
 * symlink swap has no such gap). That is the price of not having symlinks.
 */
import { createHash } from "node:crypto";
import { basename, dirname, join } from "node:path";
import { type FsSeam, FsyncBatch, fsyncDir, isCode, pathExists, publishFile, removeTree } from "@snap/fs";
import { canonicalJson, parseVersioned, SnapError } from "@snap/schema";
import { releaseTargetDefinition } from "./schema.js";
import { readJsonFile } from "./store.js";

/** How a release switches its target. */
export type ReleaseSwap = "auto" | "symlink" | "rename";

/** symlink(2) failures that mean "no symlinks here": the auto mode falls back to renames. */
const NO_SYMLINK_CODES = new Set(["EPERM", "ENOTSUP", "EOPNOTSUPP", "EINVAL", "ENOSYS", "EACCES"]);

export interface RenamePaths {
  parent: string;
  marker: string;
  staged: (snapshotOid: string) => string;
  old: (snapshotOid: string | null) => string;
}

export function renamePaths(target: string): RenamePaths {
  const parent = dirname(target);
  const h = createHash("sha256").update(target).digest("hex").slice(0, 16);
  const stem = join(parent, `.snap-swap-${h}`);
  return {
    parent,
    marker: `${stem}.json`,
    staged: (oid) => `${stem}-new-${oid.slice(0, 16)}`,
    old: (oid) => `${stem}-old-${oid === null ? "none" : oid.slice(0, 16)}`,
  };
}

/** The release name whose rename-mode target `target` is, if its marker says so. */
export async function renameModeOwner(fs: FsSeam, target: string): Promise<string | undefined> {
  const raw = await readJsonFile(renamePaths(target).marker, fs).catch(() => undefined);
  if (raw === undefined) return undefined;
  try {
    const rec = parseVersioned(releaseTargetDefinition.schema, raw);
    return rec.target === target ? rec.name : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether symlinks can be made next to `target` (auto mode): a throwaway link is created and
 * removed. Only the "no symlinks here" errors answer false; anything else is rethrown.
 */
export async function symlinksWork(fs: FsSeam, target: string): Promise<boolean> {
  const probe = join(dirname(target), `.snap-tmp-link-probe-${process.pid}-${Date.now().toString(36)}`);
  try {
    await fs.symlink(".", probe);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === "string" && NO_SYMLINK_CODES.has(code)) return false;
    throw err;
  }
  await fs.unlink(probe).catch(() => undefined);
  return true;
}

/**
 * Copies the tree `src` to the new directory `dst`: directories created, files hard-linked
 * (copied through publishFile where linking is refused), every directory added to `batch`.
 * A materialization holds only directories and files; anything else is refused.
 */
async function linkTree(fs: FsSeam, src: string, dst: string, batch: FsyncBatch): Promise<void> {
  await fs.mkdir(dst);
  batch.addDir(dst);
  for (const name of await fs.readdir(src)) {
    const from = join(src, name);
    const to = join(dst, name);
    const st = await fs.lstat(from);
    if (st.isDirectory()) await linkTree(fs, from, to, batch);
    else if (st.isFile()) {
      try {
        await fs.link(from, to);
      } catch (err) {
        if (!isCode(err, "EXDEV") && !isCode(err, "EPERM") && !isCode(err, "ENOTSUP") && !isCode(err, "EMLINK")) throw err;
        await publishFile(to, await fs.readFile(from), { fs, mode: "no-clobber", durability: "batch", batch });
      }
    } else {
      throw new SnapError("target_unsafe", `${from} in a materialization is neither a file nor a directory`, { data: { path: from } });
    }
  }
}

/**
 * Before the intent: the marker and a durable staged copy of `materialization` beside the
 * target. Leftovers under our own names (from an interrupted earlier attempt) are removed first.
 */
export async function stageRenameSwap(fs: FsSeam, name: string, target: string, snapshotOid: string, previousSnapshotOid: string | null, materialization: string): Promise<void> {
  const p = renamePaths(target);
  if ((await renameModeOwner(fs, target)) !== name) {
    await publishFile(p.marker, Buffer.from(`${canonicalJson({ type: "release_target", schema_version: 1, name, target })}\n`), { fs, mode: "replace" });
  }
  for (const leftover of [p.staged(snapshotOid), p.old(previousSnapshotOid)]) await removeTree(leftover, { fs, durability: "never" });
  const batch = new FsyncBatch({ fs });
  await linkTree(fs, materialization, p.staged(snapshotOid), batch);
  await batch.flush();
  await fsyncDir(p.parent, fs); // the staged copy's name is durable before the intent names it
}

/**
 * The two renames (after the intent): the current target (if any) out of the way, the staged
 * copy into place, then one fsync of the parent directory that holds all three names.
 */
export async function renameSwap(fs: FsSeam, target: string, snapshotOid: string, previousSnapshotOid: string | null): Promise<void> {
  const p = renamePaths(target);
  if (await pathExists(target, fs)) await fs.rename(target, p.old(previousSnapshotOid));
  await fs.rename(p.staged(snapshotOid), target); // from here the target serves the new snapshot
  await fsyncDir(p.parent, fs);
}

/**
 * Removes the copy the target held before the swap: deleted when it is our link or still has
 * the top-level names of the previous materialization; otherwise moved aside (never
 * deleted) and its new path returned.
 */
export async function dropOldCopy(fs: FsSeam, target: string, previousSnapshotOid: string | null, previousMaterialization: string | null): Promise<string | undefined> {
  const old = renamePaths(target).old(previousSnapshotOid);
  let st;
  try {
    st = await fs.lstat(old);
  } catch (err) {
    if (isCode(err, "ENOENT")) return undefined;
    throw err;
  }
  let ours = st.isSymbolicLink(); // the symlink of an earlier symlink-mode release (checked as ours before the swap)
  if (!ours && st.isDirectory() && previousMaterialization !== null) {
    const want = await fs.readdir(previousMaterialization).catch(() => undefined);
    const have = await fs.readdir(old);
    ours = want !== undefined && want.sort().join("\0") === have.sort().join("\0");
  }
  if (ours) {
    await removeTree(old, { fs, durability: "never" }); // debris once the ref has moved
    return undefined;
  }
  const aside = `${target}.snap-aside-${new Date().toISOString().replace(/[:.]/g, "")}-${basename(old).slice(-6)}`;
  await fs.rename(old, aside);
  await fsyncDir(dirname(target), fs);
  return aside;
}

/**
 * With no release intent pending (under the snapshots lock): removes the staged copies a crash
 * before the intent left beside a rename-mode target. They were never served and nothing names
 * them. Returns how many were removed.
 */
export async function dropStagedLeftovers(fs: FsSeam, name: string, target: string): Promise<number> {
  if ((await renameModeOwner(fs, target)) !== name) return 0;
  const p = renamePaths(target);
  const prefix = basename(p.staged("")); // ".snap-swap-<h>-new-"
  let names: string[];
  try {
    names = await fs.readdir(p.parent);
  } catch (err) {
    if (isCode(err, "ENOENT")) return 0;
    throw err;
  }
  let removed = 0;
  for (const n of names) {
    if (!n.startsWith(prefix)) continue;
    await removeTree(join(p.parent, n), { fs, durability: "never" });
    removed++;
  }
  return removed;
}

export type RenameRecovery = "not-rename" | "switched" | "not-switched";

/**
 * Classifies a pending release whose target may be in rename mode, and rolls back what must
 * be rolled back (the caller finishes a "switched" one by moving the ref, then drops `old`).
 * "not-rename": the target is a symlink, or none of rename mode's names exist: the symlink
 * recovery applies.
 */
export async function recoverRenameSwap(fs: FsSeam, target: string, snapshotOid: string, previousSnapshotOid: string | null): Promise<RenameRecovery> {
  const p = renamePaths(target);
  const staged = p.staged(snapshotOid);
  const old = p.old(previousSnapshotOid);
  const targetStat = await fs.lstat(target).catch((err: unknown) => {
    if (isCode(err, "ENOENT")) return undefined;
    throw err;
  });
  const hasStaged = await pathExists(staged, fs);
  const hasOld = await pathExists(old, fs);
  if (targetStat?.isSymbolicLink() && !hasStaged && !hasOld) return "not-rename";
  if (targetStat === undefined && !hasStaged && !hasOld) return "not-rename";
  if (targetStat !== undefined) {
    if (hasStaged) {
      await removeTree(staged, { fs, durability: "never" }); // never switched: drop the copy
      return "not-switched";
    }
    return "switched";
  }
  // The target is absent: between the two renames (or before the first release's only one).
  if (hasOld) {
    await fs.rename(old, target); // roll back: the previous copy serves again
    await fsyncDir(p.parent, fs);
  }
  if (hasStaged) await removeTree(staged, { fs, durability: "never" });
  return "not-switched";
}
