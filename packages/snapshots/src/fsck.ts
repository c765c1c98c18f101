/**
 * fsck: every object's hash, every link reachable from every ref, every ref's value.
 * Reports (never repairs); the CLI exits 4 when `report.ok` is false.
 */
import { SnapError, type FsckReport } from "@snap/schema";
import { markReachable, type Kind } from "./reachability.js";
import type { StoreContext } from "./store.js";
import { checkAborted, ProgressReporter, type LongOperationOptions } from "./progress.js";

/**
 * `onProgress` phases: "verify" (objects re-hashed), "links" (objects reached from refs),
 * "refs" (ref files checked against the journal). fsck only reads: an aborted `signal`
 * stops it at any point with SnapError `interrupted`.
 */
export type FsckOptions = LongOperationOptions;

export interface FsckResult {
  report: FsckReport;
  ok: boolean;
  /** Objects reachable from refs. */
  reachable: number;
  /** Human-readable problems, one per line. */
  problems: string[];
  /** @snap/refs' verify report (ref files rebuilt from the journal and compared), or null if it failed. */
  refs: import("@snap/refs").RefsVerifyReport | null;
}

function kindForRef(ref: string): Kind {
  if (ref.startsWith("refs/releases/")) return "release";
  if (ref.startsWith("refs/heads/") || ref.startsWith("refs/runs/") || ref.startsWith("refs/tags/")) return "snapshot";
  return "unknown";
}

export async function fsck(ctx: StoreContext, options: FsckOptions = {}): Promise<FsckResult> {
  const signal = options.signal;
  const progress = new ProgressReporter(options.onProgress);
  checkAborted(signal, "fsck");
  const verifyOptions: Parameters<StoreContext["objects"]["verify"]>[0] = {};
  if (signal !== undefined) verifyOptions.signal = signal;
  if (progress.enabled) verifyOptions.onProgress = (p) => progress.update("verify", p.checked, undefined, "objects");
  const verify = await ctx.objects.verify(verifyOptions);
  progress.end("verify", verify.checked, verify.checked, "objects");
  checkAborted(signal, "fsck");
  const corrupt = new Set(verify.corrupt);
  const problems: string[] = [];
  const dangling: FsckReport["dangling_refs"] = [];
  const missing: FsckReport["missing"] = [];
  const roots: [string, Kind, string][] = [];
  for (const { ref, oid } of await ctx.refs.list("refs/")) {
    if (!/^[0-9a-f]{64}$/.test(oid)) {
      dangling.push({ ref, target: oid, reason: "invalid_value" });
      continue;
    }
    if (!(await ctx.io.has(oid))) {
      dangling.push({ ref, target: oid, reason: "missing_object" });
      continue;
    }
    if (!corrupt.has(oid)) {
      try {
        const obj = await ctx.io.getObject(oid);
        const want = kindForRef(ref);
        if (want !== "unknown" && obj.type !== want) {
          dangling.push({ ref, target: oid, reason: "wrong_type" });
          continue;
        }
      } catch {
        // unreadable: reported as corrupt or invalid below
      }
    }
    roots.push([oid, kindForRef(ref), ref]);
  }
  const head = await ctx.refs.readSymbolic("HEAD").catch(() => undefined);
  if (head !== undefined && !/^refs\/heads\/[A-Za-z0-9_][A-Za-z0-9._-]*$/.test(head)) dangling.push({ ref: "HEAD", target: head, reason: "broken_symref" });
  checkAborted(signal, "fsck");
  const { marked, issues } = await markReachable(ctx.io, roots);
  progress.end("links", marked.size, undefined, "objects");
  checkAborted(signal, "fsck");
  for (const i of issues) {
    if (i.problem === "missing") missing.push({ oid: i.oid, referenced_by: i.referencedBy });
    else if (!corrupt.has(i.oid)) problems.push(`${i.oid} (referenced by ${i.referencedBy}): ${i.problem}${i.detail ? `: ${i.detail}` : ""}`);
  }
  // Ref files against the journal they are a view of (@snap/refs verify; read-only).
  let refsReport: FsckResult["refs"] = null;
  try {
    const r = await ctx.refs.refs.verify({ rollForward: false });
    refsReport = r;
    for (const m of r.mismatches) problems.push(`ref ${m.ref} is ${m.found ?? "absent"} but the journal says ${m.expected ?? "absent"}`);
    for (const u of r.unreadable) problems.push(`unreadable ref file ${u.path}: ${u.reason}`);
  } catch (err) {
    problems.push(`refs verify failed: ${(err as Error).message}`);
  }
  progress.end("refs", refsReport?.refs_checked ?? 0, undefined, "refs");
  for (const c of verify.corruptObjects) problems.push(`corrupt object ${c.oid} (hashes to ${c.actual_oid})`);
  for (const d of verify.damaged) problems.push(`damaged ${d.name}: ${d.reason} (its objects could not be read)`);
  for (const m of missing) problems.push(`missing object ${m.oid} (referenced by ${m.referenced_by})`);
  for (const d of dangling) problems.push(`dangling ref ${d.ref} -> ${d.target} (${d.reason})`);
  const report: FsckReport = {
    type: "fsck_report",
    schema_version: 1,
    ok: verify.corruptObjects.length === 0 && missing.length === 0 && dangling.length === 0,
    objects_checked: verify.checked,
    corrupt: verify.corruptObjects.map((c) => ({ oid: c.oid, actual_oid: c.actual_oid })),
    missing,
    dangling_refs: dangling,
  };
  const ok = report.ok && problems.length === 0;
  return { report, ok, reachable: marked.size, problems, refs: refsReport };
}

/** Throws corruption_found unless the result is clean (for callers that want an exception). */
export function assertFsckClean(result: FsckResult): void {
  if (!result.ok) {
    throw new SnapError("corruption_found", `fsck found ${result.problems.length} problem(s): ${result.problems.slice(0, 3).join("; ")}`, {
      data: { problems: result.problems.slice(0, 100) },
    });
  }
}
