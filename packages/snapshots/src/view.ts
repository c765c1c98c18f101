/** Read side: a snapshot's labels, artifacts, content and lineage; history (log, runs). */
import type { Readable } from "node:stream";
import { SnapError, type Artifact, type Manifest, type Snapshot } from "@snap/schema";
import type { StoreContext } from "./store.js";
import { readManifest, readSnapshot } from "./transaction.js";
import { lookupLabel, walkTree } from "./tree.js";

export interface ArtifactView extends Artifact {
  /** The artifact object's oid. */
  oid: string;
}

export interface SnapshotView {
  oid: string;
  snapshot: Snapshot;
  manifestOid: string;
  manifest: Manifest;
  /** Every label, sorted by path segment. */
  labels(): Promise<string[]>;
  /** label -> artifact object oid. */
  entries(): AsyncGenerator<[string, string]>;
  /** The artifact recorded under `label` (rev_not_found-style `invalid_argument` when absent). */
  artifact(label: string): Promise<ArtifactView>;
  has(label: string): Promise<boolean>;
  /** The content bytes (verified). */
  content(label: string): Promise<Buffer>;
  contentStream(label: string): Promise<Readable>;
  text(label: string): Promise<string>;
  /** The label and its ancestors through parent_labels, breadth first; missing parents listed, not expanded. */
  lineage(label: string): Promise<{ label: string; depth: number; missing: boolean }[]>;
}

export async function openView(ctx: StoreContext, oid: string): Promise<SnapshotView> {
  const snapshot = await readSnapshot(ctx, oid);
  const manifest = await readManifest(ctx, snapshot.manifest_oid);
  const io = ctx.io;
  const artifactAt = async (label: string): Promise<ArtifactView | undefined> => {
    const e = await lookupLabel(io, manifest.root, label);
    if (e === undefined || e.kind !== "artifact") return undefined;
    const obj = (await io.getObject(e.oid)) as unknown as Artifact;
    if (obj.type !== "artifact") throw new SnapError("object_invalid", `object ${e.oid} under ${label} is not an artifact`, { data: { oid: e.oid } });
    return { ...obj, oid: e.oid };
  };
  const artifact = async (label: string): Promise<ArtifactView> => {
    const a = await artifactAt(label);
    if (a === undefined) {
      throw new SnapError("invalid_argument", `snapshot ${oid.slice(0, 12)} has no artifact ${JSON.stringify(label)}`, { data: { snapshot: oid, label } });
    }
    return a;
  };
  return {
    oid,
    snapshot,
    manifestOid: snapshot.manifest_oid,
    manifest,
    async labels() {
      const out: string[] = [];
      for await (const [l] of walkTree(io, manifest.root)) out.push(l);
      return out;
    },
    entries: () => walkTree(io, manifest.root),
    artifact,
    async has(label) {
      return (await artifactAt(label)) !== undefined;
    },
    async content(label) {
      return io.getBytes((await artifact(label)).content_oid);
    },
    async contentStream(label) {
      return io.getStream((await artifact(label)).content_oid);
    },
    async text(label) {
      return (await io.getBytes((await artifact(label)).content_oid)).toString("utf8");
    },
    async lineage(label) {
      const out: { label: string; depth: number; missing: boolean }[] = [];
      const seen = new Set<string>([label]);
      const queue: { label: string; depth: number }[] = [{ label, depth: 0 }];
      for (let head = 0; head < queue.length; head++) {
        const item = queue[head] as { label: string; depth: number };
        const a = await artifactAt(item.label);
        out.push({ label: item.label, depth: item.depth, missing: a === undefined });
        if (a === undefined) {
          if (item.depth === 0) await artifact(label);
          continue;
        }
        for (const p of a.parent_labels) {
          if (!seen.has(p)) {
            seen.add(p);
            queue.push({ label: p, depth: item.depth + 1 });
          }
        }
      }
      return out;
    },
  };
}

export interface LogEntry {
  oid: string;
  snapshot: Snapshot;
}

/** First-parent history from `oid`, newest first. */
export async function logFrom(ctx: StoreContext, oid: string, limit = Number.POSITIVE_INFINITY): Promise<LogEntry[]> {
  const out: LogEntry[] = [];
  let cur: string | undefined = oid;
  const seen = new Set<string>();
  while (cur !== undefined && out.length < limit && !seen.has(cur)) {
    seen.add(cur);
    const snapshot = await readSnapshot(ctx, cur);
    out.push({ oid: cur, snapshot });
    cur = snapshot.parent_snapshot_oids[0];
  }
  return out;
}

export interface RunEntry {
  ref: string;
  pipeline: string;
  run_id: string;
  snapshot_oid: string;
  created_at: string;
  message?: string;
}

/** Every run ref (optionally of one pipeline), oldest first (run ids are time-prefixed). */
export async function listRuns(ctx: StoreContext, options: { pipeline?: string } = {}): Promise<RunEntry[]> {
  const prefix = options.pipeline === undefined ? "refs/runs/" : `refs/runs/${options.pipeline}/`;
  const rows = await ctx.refs.list(prefix);
  const out: RunEntry[] = [];
  for (const r of rows) {
    const parts = r.ref.split("/");
    let snap: Snapshot | undefined;
    try {
      snap = await readSnapshot(ctx, r.oid);
    } catch {
      snap = undefined;
    }
    const entry: RunEntry = {
      ref: r.ref,
      pipeline: parts[2] as string,
      run_id: parts.slice(3).join("/"),
      snapshot_oid: r.oid,
      created_at: snap?.created_at ?? "",
    };
    if (snap?.message !== undefined) entry.message = snap.message;
    out.push(entry);
  }
  return out.sort((a, b) => (a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : a.ref < b.ref ? -1 : 1));
}
