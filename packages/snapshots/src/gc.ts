/**
 * Garbage collection: mark and sweep under the snapshots lock (commits re-check what they
 * rely on under the same lock, so a sweep never races a commit's final check).
 *
 * Live (never removed):
 *   - everything reachable from every ref (heads, runs kept by the retention policy, tags,
 *     releases and their previous_release chain, HEAD) and from pending release intents;
 *   - everything reachable from a live lease's base snapshot, and every object written or
 *     freshened since the oldest live lease started (in-flight transactions);
 *   - every object younger than `graceMs` (by mtime: puts freshen existing objects), and
 *     everything reachable from those (so a tree written just now keeps its subtree).
 * Refs kept in @snap/refs' journal checkpoints are refs, so they are covered by the first rule.
 * Retention: a run ref is removed only when it is older than `keepDays` AND beyond the newest
 * `keepRuns` of its pipeline (either alone when only one is given); the run a branch points
 * at is always kept. A dead process's lease (holder dead on this host) is removed.
 * `dryRun` computes exactly the same plan and removes nothing.
 */
import { join } from "node:path";
import { isDeadOnThisHost, isCode, nodeFs, removeTree, withLock } from "@snap/fs";
import { parseVersioned, SnapError } from "@snap/schema";
import { markReachable, type Kind } from "./reachability.js";
import { leaseDefinition, releaseIntentDefinition, type GcReport, type Lease } from "./schema.js";
import { readJsonFile, type StoreContext } from "./store.js";
import { readSnapshot } from "./transaction.js";
import { checkAborted, ProgressReporter, type LongOperationOptions } from "./progress.js";

/**
 * `onProgress` phases: "scan" (objects listed), "mark" (objects found reachable or young),
 * "sweep" (candidates removed or, in a dry run, counted; total known). `signal`: the sweep's
 * start is gc's commit point; aborted before it -> SnapError `interrupted`, nothing removed;
 * once the sweep has started, gc finishes and ignores the signal (a dry run can be
 * interrupted until it returns).
 */
export interface GcOptions extends LongOperationOptions {
  dryRun?: boolean;
  /** Objects younger than this are kept (default 1 h). */
  graceMs?: number;
  keepRuns?: number;
  keepDays?: number;
  /** Materializations kept per release name besides the serving one (default 1: the previous). */
  keepMaterializations?: number;
  /** The clock (tests). */
  now?: number;
  lockTimeoutMs?: number;
}

const HOUR = 3_600_000;
/** Objects re-checked between two progress reports. */
const SWEEP_CHUNK = 512;

export async function gc(ctx: StoreContext, options: GcOptions = {}): Promise<GcReport> {
  const graceMs = options.graceMs ?? HOUR;
  if (!(graceMs >= 0)) throw new SnapError("invalid_argument", "graceMs must be >= 0");
  if (options.keepRuns !== undefined && !(Number.isInteger(options.keepRuns) && options.keepRuns >= 0)) throw new SnapError("invalid_argument", "keepRuns must be an integer >= 0");
  if (options.keepDays !== undefined && !(options.keepDays >= 0)) throw new SnapError("invalid_argument", "keepDays must be >= 0");
  checkAborted(options.signal, "gc");
  return withLock(ctx.lockPath, () => gcLocked(ctx, options, graceMs), { timeoutMs: options.lockTimeoutMs ?? 120_000 });
}

async function gcLocked(ctx: StoreContext, options: GcOptions, graceMs: number): Promise<GcReport> {
  const dryRun = options.dryRun === true;
  const now = options.now ?? Date.now();
  const signal = options.signal;
  const progress = new ProgressReporter(options.onProgress);
  checkAborted(signal, "gc");
  // 1. Run-ref retention.
  const refs = await ctx.refs.list("refs/");
  const heads = new Set(refs.filter((r) => r.ref.startsWith("refs/heads/")).map((r) => r.oid));
  const runRefsRemoved: { ref: string; oid: string }[] = [];
  if (options.keepRuns !== undefined || options.keepDays !== undefined) {
    const byPipeline = new Map<string, { ref: string; oid: string; created: number }[]>();
    for (const r of refs) {
      if (!r.ref.startsWith("refs/runs/")) continue;
      const pipeline = r.ref.split("/")[2] as string;
      let created = 0;
      try {
        created = Date.parse((await readSnapshot(ctx, r.oid)).created_at);
      } catch {
        created = 0;
      }
      const list = byPipeline.get(pipeline) ?? [];
      list.push({ ...r, created });
      byPipeline.set(pipeline, list);
    }
    for (const list of byPipeline.values()) {
      list.sort((a, b) => b.created - a.created || (a.ref < b.ref ? 1 : -1));
      list.forEach((r, i) => {
        const beyondCount = options.keepRuns === undefined ? true : i >= options.keepRuns;
        const tooOld = options.keepDays === undefined ? true : r.created < now - options.keepDays * 86_400_000;
        if (beyondCount && tooOld && !heads.has(r.oid)) runRefsRemoved.push({ ref: r.ref, oid: r.oid });
      });
    }
  }
  const removedRefs = new Set(runRefsRemoved.map((r) => r.ref));
  // 2. Every object with its time.
  const times = new Map<string, { mtimeMs: number; size: number }>();
  for await (const oid of ctx.objects.list()) {
    checkAborted(signal, "gc");
    const st = await ctx.objects.stat(oid);
    if (st) times.set(oid, { mtimeMs: st.mtimeMs, size: st.size });
    progress.update("scan", times.size, undefined, "objects");
  }
  progress.end("scan", times.size, undefined, "objects");
  // 3. Leases (read after the listing: a lease that appears now still protects what its txn freshens).
  const leases: Lease[] = [];
  const staleLeases: string[] = [];
  const leaseDir = join(ctx.dir, "leases");
  for (const name of await nodeFs.readdir(leaseDir).catch(() => [] as string[])) {
    if (!name.endsWith(".json") || name.startsWith(".tmp-")) continue;
    try {
      const lease = parseVersioned(leaseDefinition.schema, await readJsonFile(join(leaseDir, name)));
      if (isDeadOnThisHost({ pid: lease.pid, host: lease.host, process_start: lease.process_start })) staleLeases.push(name);
      else leases.push(lease);
    } catch {
      // An unreadable lease. Leases are published whole (rename), so a live transaction's is
      // always readable: this is crash residue (a lease is not fsynced, see transaction.ts)
      // or damage. A young one is kept and treated as live from the epoch (conservative); one
      // older than the grace period is removed, so that one torn file cannot stop gc forever.
      const st = await nodeFs.stat(join(leaseDir, name)).catch(() => undefined);
      if (st !== undefined && st.mtimeMs < now - graceMs) staleLeases.push(name);
      else leases.push({ started_at_ms: 0 } as Lease);
    }
  }
  const leaseFloor = leases.length === 0 ? Number.POSITIVE_INFINITY : Math.min(...leases.map((l) => l.started_at_ms));
  const youngCut = now - graceMs;
  const isYoung = (t: { mtimeMs: number }): boolean => t.mtimeMs >= youngCut || t.mtimeMs >= leaseFloor;
  // 4. Mark.
  const roots: [string, Kind, string][] = [];
  for (const r of refs) if (!removedRefs.has(r.ref)) roots.push([r.oid, r.ref.startsWith("refs/releases/") ? "release" : "unknown", r.ref]);
  for (const l of leases) if (l.base_snapshot_oid) roots.push([l.base_snapshot_oid, "snapshot", `lease ${l.txn_id}`]);
  for (const name of await nodeFs.readdir(join(ctx.dir, "releases")).catch(() => [] as string[])) {
    const raw = await readJsonFile(join(ctx.dir, "releases", name, "pending.json")).catch(() => undefined);
    if (raw === undefined) continue;
    try {
      const intent = parseVersioned(releaseIntentDefinition.schema, raw);
      roots.push([intent.release_oid, "release", `pending release ${name}`]);
      if (intent.previous_release_oid) roots.push([intent.previous_release_oid, "release", `pending release ${name}`]);
    } catch {
      // unreadable intent: recovery reports it
    }
  }
  let young = 0;
  for (const [oid, t] of times) {
    if (isYoung(t)) {
      young++;
      roots.push([oid, "unknown", "young object"]);
    }
  }
  checkAborted(signal, "gc");
  const { marked } = await markReachable(ctx.io, roots, { exists: (oid) => times.has(oid) });
  progress.end("mark", marked.size, undefined, "objects");
  // 5. Sweep plan.
  // Parents before children (release, snapshot, manifest, tree, artifact, then blobs), so a gc
  // killed mid-sweep never leaves an object whose children are gone: "present implies
  // complete subtree" keeps holding for commits that reuse what they find.
  const unmarked = [...times.keys()].filter((oid) => !marked.has(oid)).sort();
  const rank = new Map<string, number>();
  for (const oid of unmarked) {
    checkAborted(signal, "gc");
    rank.set(oid, await sweepRank(ctx, oid, (times.get(oid) as { size: number }).size));
  }
  const candidates = unmarked.sort((a, b) => (rank.get(a) as number) - (rank.get(b) as number) || (a < b ? -1 : 1));
  const removed: string[] = [];
  let bytes = 0;
  // Commit point: from here on gc finishes whatever the signal says (a dry run removes
  // nothing, so it stays interruptible).
  checkAborted(signal, "gc");
  if (!dryRun && runRefsRemoved.length > 0) {
    // Before the sweep: a crash between the two leaves garbage, never a ref to a removed object.
    await ctx.refs.transaction(
      runRefsRemoved.map((r) => ({ ref: r.ref, expect: r.oid, set: "delete" })),
      { reason: `gc: retention removed ${runRefsRemoved.length} run ref(s)` },
    );
  }
  let swept = 0;
  // Re-check each object's time right before the removal (a put may have freshened it since
  // the scan), then remove everything in one deleteMany (@snap/object-store: loose objects
  // unlinked, then one fsync per fan-out directory; each pack that holds garbage rewritten
  // once, however many of its objects go: chunked calls would rewrite a big pack per chunk).
  const doomed: string[] = [];
  for (let at = 0; at < candidates.length; at += SWEEP_CHUNK) {
    const chunk = candidates.slice(at, at + SWEEP_CHUNK);
    if (dryRun) doomed.push(...chunk);
    else {
      for (const oid of chunk) {
        const st = await ctx.objects.stat(oid);
        if (st !== undefined && !isYoung(st)) doomed.push(oid);
      }
    }
    swept += chunk.length;
    if (swept < candidates.length) progress.update("sweep", swept, candidates.length, "objects");
  }
  const gone = dryRun ? new Set(doomed) : new Set((await ctx.objects.deleteMany(doomed)).removed);
  for (const oid of doomed) {
    if (!gone.has(oid)) continue;
    removed.push(oid);
    bytes += (times.get(oid) as { size: number }).size;
  }
  progress.end("sweep", candidates.length, candidates.length, "objects");
  if (dryRun) checkAborted(signal, "gc");
  if (!dryRun) {
    for (const name of staleLeases) await nodeFs.unlink(join(leaseDir, name)).catch(() => undefined);
    for (const d of [leaseDir, join(ctx.dir, "cache")]) await removePublishDebris(d, graceMs, now);
    await ctx.objects.cleanTmp({ olderThanMs: Math.max(graceMs, 60_000) }).catch(() => undefined);
  }
  // 6. Old materializations.
  const releaseDirsRemoved = await pruneMaterializations(ctx, options.keepMaterializations ?? 1, dryRun);
  return {
    type: "gc_report",
    schema_version: 1,
    dry_run: dryRun,
    grace_ms: graceMs,
    objects_total: times.size,
    objects_reachable: marked.size,
    objects_kept_young: young,
    objects_removed: removed,
    bytes_removed: bytes,
    run_refs_removed: runRefsRemoved.map((r) => r.ref),
    release_dirs_removed: releaseDirsRemoved,
    leases: leases.length,
    stale_leases_removed: staleLeases,
  };
}

/**
 * Removes `.tmp-*` publish debris (@snap/fs tmpNameIn: `.tmp-<hint>-<pid>-<process nonce>-<n>`) left by a
 * writer that died: its pid is gone, or it is older than max(graceMs, 1 min).
 */
async function removePublishDebris(dir: string, graceMs: number, now: number): Promise<void> {
  for (const name of await nodeFs.readdir(dir).catch(() => [] as string[])) {
    if (!name.startsWith(".tmp-")) continue;
    const parts = name.split("-");
    const pid = Number(parts[parts.length - 3]);
    let dead = false;
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid) {
      try {
        process.kill(pid, 0);
      } catch (err) {
        dead = isCode(err, "ESRCH");
      }
    }
    const st = await nodeFs.lstat(join(dir, name)).catch(() => undefined);
    if (st === undefined) continue;
    if (dead || st.mtimeMs < now - Math.max(graceMs, 60_000)) await nodeFs.unlink(join(dir, name)).catch(() => undefined);
  }
}

const RANK: Record<string, number> = { release: 0, snapshot: 1, manifest: 2, tree: 3, artifact: 4 };

async function sweepRank(ctx: StoreContext, oid: string, size: number): Promise<number> {
  if (size > 4 * 1024 * 1024) return 5;
  try {
    const bytes = await ctx.objects.getBytes(oid);
    if (bytes[0] !== 0x7b) return 5;
    const type = (JSON.parse(bytes.toString("utf8")) as { type?: unknown }).type;
    return typeof type === "string" && type in RANK ? (RANK[type] as number) : 5;
  } catch {
    return 5;
  }
}

/** Removes materializations that neither serve nor belong to the last `keep` previous releases. */
async function pruneMaterializations(ctx: StoreContext, keep: number, dryRun: boolean): Promise<string[]> {
  const out: string[] = [];
  const root = join(ctx.dir, "releases");
  for (const name of (await nodeFs.readdir(root).catch(() => [] as string[])).sort()) {
    const base = join(root, name);
    if ((await readJsonFile(join(base, "pending.json")).catch(() => "x")) !== undefined) continue; // pending: recovery first
    const keepOids = new Set<string>();
    let cur = await ctx.refs.read(`refs/releases/${name}`);
    for (let i = 0; cur !== undefined && i <= keep; i++) {
      try {
        const rel = (await ctx.io.getObject(cur)) as unknown as { snapshot_oid: string; previous_release_oid: string | null };
        keepOids.add(rel.snapshot_oid);
        cur = rel.previous_release_oid ?? undefined;
      } catch {
        break;
      }
    }
    if (keepOids.size === 0) continue;
    for (const entry of await nodeFs.readdir(base).catch(() => [] as string[])) {
      const oid = entry.endsWith(".json") ? entry.slice(0, -5) : entry;
      if (!/^[0-9a-f]{64}$/.test(oid) || keepOids.has(oid)) continue;
      out.push(`releases/${name}/${entry}`);
      // @snap/fs removeTree: the materialization is renamed aside (it disappears whole; a crash
      // leaves `.tmp-*` debris that release recovery removes), its parent fsynced, then deleted.
      if (!dryRun) await removeTree(join(base, entry), { fs: ctx.fs });
    }
  }
  return out.sort();
}
