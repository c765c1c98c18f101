/**
 * Revision expressions, git-style:
 *   HEAD | refs/<full> | <short name> | <pipeline>/<run-id> | <oid> | <unique oid prefix, >= 4 hex>
 *   followed by any number of `~N` (N first parents; `~` = `~1`) and `^` / `^1` (first parent).
 * Short names are tried as refs/heads/, refs/releases/, refs/tags/, refs/runs/ in that order.
 * A release object resolves to its snapshot. Errors: rev_invalid, rev_not_found, rev_ambiguous.
 */
import { SnapError, type Snapshot } from "@snap/schema";
import type { StoreContext } from "./store.js";

export interface ResolvedRev {
  /** The snapshot oid. */
  oid: string;
  /** The full ref name the base of the expression named (null for an oid or prefix). */
  ref: string | null;
}

const SHORT_PREFIXES = ["refs/heads/", "refs/releases/", "refs/tags/", "refs/runs/"];

export async function resolveRev(ctx: StoreContext, rev: string): Promise<ResolvedRev> {
  if (typeof rev !== "string" || rev.length === 0 || rev.length > 1024) {
    throw new SnapError("rev_invalid", `invalid revision ${JSON.stringify(rev)}`, { data: { rev } });
  }
  const m = /^(.*?)((?:~\d*|\^\d*)*)$/.exec(rev);
  const base = m?.[1] ?? "";
  const suffix = m?.[2] ?? "";
  if (base === "") throw new SnapError("rev_invalid", `invalid revision ${JSON.stringify(rev)}: no base`, { data: { rev } });
  let { oid, ref } = await resolveBase(ctx, base, rev);
  const steps = suffix.match(/~\d*|\^\d*/g) ?? [];
  for (const step of steps) {
    let n: number;
    if (step.startsWith("~")) n = step.length === 1 ? 1 : Number(step.slice(1));
    else {
      const which = step.length === 1 ? 1 : Number(step.slice(1));
      if (which === 0) continue;
      if (which !== 1) throw new SnapError("rev_not_found", `${rev}: snapshots have at most one parent`, { data: { rev } });
      n = 1;
    }
    for (let i = 0; i < n; i++) {
      const snap = await snapshotAt(ctx, oid, rev);
      const parent = snap.parent_snapshot_oids[0];
      if (parent === undefined) throw new SnapError("rev_not_found", `${rev}: ${oid.slice(0, 12)} has no parent`, { data: { rev, oid } });
      oid = parent;
    }
  }
  await snapshotAt(ctx, oid, rev);
  return { oid, ref };
}

async function snapshotAt(ctx: StoreContext, oid: string, rev: string): Promise<Snapshot> {
  let obj;
  try {
    obj = await ctx.io.getObject(oid);
  } catch (err) {
    throw new SnapError("rev_not_found", `${rev}: object ${oid} cannot be read (${(err as Error).message})`, { data: { rev, oid }, cause: err });
  }
  if (obj.type !== "snapshot") throw new SnapError("rev_not_found", `${rev}: ${oid} is a ${obj.type}, not a snapshot`, { data: { rev, oid } });
  return obj as unknown as Snapshot;
}

/** A ref's value as a snapshot oid: release objects are dereferenced. */
async function derefToSnapshot(ctx: StoreContext, oid: string): Promise<string> {
  const obj = await ctx.io.getObject(oid);
  if (obj.type === "release") return (obj as unknown as { snapshot_oid: string }).snapshot_oid;
  return oid;
}

async function resolveBase(ctx: StoreContext, base: string, rev: string): Promise<ResolvedRev> {
  const candidates: string[] = [];
  if (base === "HEAD") candidates.push("HEAD");
  else if (base.startsWith("refs/")) candidates.push(base);
  else for (const p of SHORT_PREFIXES) candidates.push(p + base);
  for (const name of candidates) {
    let value: string | undefined;
    try {
      value = await ctx.refs.read(name);
    } catch (err) {
      if ((err as { code?: string }).code === "ref_name_invalid") continue;
      throw err;
    }
    if (value !== undefined) {
      const ref = name === "HEAD" ? ((await ctx.refs.readSymbolic("HEAD")) ?? "HEAD") : name;
      return { oid: await derefToSnapshot(ctx, value), ref };
    }
  }
  if (/^[0-9a-f]{4,64}$/.test(base)) {
    const matches = await objectsWithPrefix(ctx, base);
    const snapshots: string[] = [];
    for (const oid of matches) {
      try {
        const obj = await ctx.io.getObject(oid);
        if (obj.type === "snapshot") snapshots.push(oid);
        else if (obj.type === "release" && base.length === 64) snapshots.push((obj as unknown as { snapshot_oid: string }).snapshot_oid);
      } catch {
        // a blob (not JSON) or unreadable object: not a snapshot
      }
    }
    if (snapshots.length === 1) return { oid: snapshots[0] as string, ref: null };
    if (snapshots.length > 1) {
      throw new SnapError("rev_ambiguous", `${rev}: prefix ${base} matches ${snapshots.length} snapshots`, {
        data: { rev, prefix: base, candidates: snapshots.slice(0, 10) },
        hint: "give more characters of the oid",
      });
    }
  }
  if (base === "HEAD") throw new SnapError("rev_not_found", `HEAD does not point at a snapshot yet (no commits on its branch)`, { data: { rev } });
  throw new SnapError("rev_not_found", `${rev}: no ref, oid or unique oid prefix named ${base}`, { data: { rev } });
}

/** Object oids starting with `prefix` (the object store reads one fan-out directory, not the whole store). */
async function objectsWithPrefix(ctx: StoreContext, prefix: string): Promise<string[]> {
  if (prefix.length === 64) return (await ctx.io.has(prefix)) ? [prefix] : [];
  const out: string[] = [];
  for await (const oid of ctx.objects.list({ prefix })) out.push(oid);
  return out;
}
