/** The object graph: which oids an object names (for gc's mark phase and fsck's link check). */
import type { ObjectIO } from "./tree.js";

export type Kind = "snapshot" | "manifest" | "tree" | "artifact" | "release" | "blob" | "unknown";

/** The oids a structured object links to, each with the kind it must be. */
export function linksOf(obj: { type: string; [k: string]: unknown }): [string, Kind][] {
  switch (obj.type) {
    case "snapshot":
      return [[obj.manifest_oid as string, "manifest"], ...((obj.parent_snapshot_oids as string[]) ?? []).map((o) => [o, "snapshot"] as [string, Kind])];
    case "manifest":
      return [[obj.root as string, "tree"]];
    case "tree":
      return ((obj.entries as { kind: string; oid: string }[]) ?? []).map((e) => [e.oid, e.kind === "tree" ? "tree" : "artifact"] as [string, Kind]);
    case "artifact":
      return [[obj.content_oid as string, "blob"]];
    case "release": {
      const out: [string, Kind][] = [[obj.snapshot_oid as string, "snapshot"]];
      if (typeof obj.previous_release_oid === "string") out.push([obj.previous_release_oid, "release"]);
      return out;
    }
    default:
      return [];
  }
}

export interface WalkIssue {
  oid: string;
  referencedBy: string;
  problem: "missing" | "unreadable" | "wrong_type";
  detail?: string;
}

/**
 * Marks everything reachable from `roots` (oid -> the kind expected, "unknown" to sniff).
 * Blobs are never read. Returns the marked set and the links that did not resolve.
 */
export async function markReachable(
  io: ObjectIO,
  roots: Iterable<[oid: string, kind: Kind, from: string]>,
  options: { exists?: (oid: string) => boolean } = {},
): Promise<{ marked: Set<string>; issues: WalkIssue[] }> {
  const marked = new Set<string>();
  const issues: WalkIssue[] = [];
  const stack: [string, Kind, string][] = [...roots];
  while (stack.length > 0) {
    const [oid, kind, from] = stack.pop() as [string, Kind, string];
    if (marked.has(oid)) continue;
    const present = options.exists ? options.exists(oid) : await io.has(oid);
    if (!present) {
      issues.push({ oid, referencedBy: from, problem: "missing" });
      continue;
    }
    marked.add(oid);
    if (kind === "blob") continue;
    let obj: { type: string; [k: string]: unknown };
    try {
      if (kind === "unknown") {
        const st = await io.stat(oid);
        if (st === undefined || st.size > 4 * 1024 * 1024) continue;
        const bytes = await io.getBytes(oid);
        if (bytes[0] !== 0x7b) continue; // not JSON: a blob
        try {
          obj = JSON.parse(bytes.toString("utf8")) as typeof obj;
        } catch {
          continue;
        }
        if (typeof obj !== "object" || obj === null || typeof obj.type !== "string") continue;
      } else {
        obj = (await io.getObject(oid)) as typeof obj;
      }
    } catch (err) {
      issues.push({ oid, referencedBy: from, problem: "unreadable", detail: (err as Error).message });
      continue;
    }
    if (kind !== "unknown" && obj.type !== kind) {
      issues.push({ oid, referencedBy: from, problem: "wrong_type", detail: `expected ${kind}, found ${obj.type}` });
    }
    for (const [child, childKind] of linksOf(obj)) if (!marked.has(child)) stack.push([child, childKind, oid]);
  }
  return { marked, issues };
}
