/**
 * Diff of two label trees, and of two snapshots. Equal subtree oids are skipped without
 * reading them, so the work is O(changes x depth) object reads, not O(labels).
 */
import { SnapError, type Artifact, type Manifest, type TreeEntry } from "@snap/schema";
import { compareNames, readTree, type ObjectIO } from "./tree.js";

export interface TreeChange {
  label: string;
  status: "added" | "removed" | "changed";
  /** Artifact object oid before (undefined when added). */
  before?: string;
  /** Artifact object oid after (undefined when removed). */
  after?: string;
}

/** Artifact-level differences between two roots (`undefined` stands for the empty tree). */
export async function diffTrees(store: ObjectIO, a: string | undefined, b: string | undefined): Promise<TreeChange[]> {
  const out: TreeChange[] = [];
  await diffLevel(store, a, b, "", out);
  return out;
}

async function entriesOf(store: ObjectIO, oid: string | undefined): Promise<readonly TreeEntry[]> {
  return oid === undefined ? [] : (await readTree(store, oid)).entries;
}

async function diffLevel(store: ObjectIO, a: string | undefined, b: string | undefined, prefix: string, out: TreeChange[]): Promise<void> {
  if (a === b) return;
  const [ea, eb] = await Promise.all([entriesOf(store, a), entriesOf(store, b)]);
  let i = 0;
  let j = 0;
  while (i < ea.length || j < eb.length) {
    const x = ea[i];
    const y = eb[j];
    const order = x === undefined ? 1 : y === undefined ? -1 : compareNames(x.name, y.name);
    if (order < 0) {
      await emitSide(store, x as TreeEntry, prefix, "removed", out);
      i++;
    } else if (order > 0) {
      await emitSide(store, y as TreeEntry, prefix, "added", out);
      j++;
    } else {
      const ex = x as TreeEntry;
      const ey = y as TreeEntry;
      i++;
      j++;
      if (ex.oid === ey.oid && ex.kind === ey.kind) continue;
      const label = join(prefix, ex.name);
      if (ex.kind === "artifact" && ey.kind === "artifact") {
        out.push({ label, status: "changed", before: ex.oid, after: ey.oid });
      } else if (ex.kind === "tree" && ey.kind === "tree") {
        await diffLevel(store, ex.oid, ey.oid, label, out);
      } else {
        await emitSide(store, ex, prefix, "removed", out);
        await emitSide(store, ey, prefix, "added", out);
      }
    }
  }
}

async function emitSide(store: ObjectIO, e: TreeEntry, prefix: string, status: "added" | "removed", out: TreeChange[]): Promise<void> {
  const label = join(prefix, e.name);
  if (e.kind === "artifact") {
    out.push(status === "added" ? { label, status, after: e.oid } : { label, status, before: e.oid });
    return;
  }
  for (const child of (await readTree(store, e.oid)).entries) await emitSide(store, child, label, status, out);
}

function join(prefix: string, name: string): string {
  return prefix === "" ? name : `${prefix}/${name}`;
}

export interface ArtifactChange extends TreeChange {
  /** Content blob oids (the "by content" comparison). */
  content_before?: string;
  content_after?: string;
  /** True when the content differs; false when only metadata, type or parents changed. */
  content_changed: boolean;
}

export interface ProjectionChange {
  name: string;
  status: "added" | "removed" | "changed";
  /** Which parts changed: adapter, inputs, config. */
  fields: ("adapter" | "input_artifacts" | "config")[];
}

export interface SnapshotDiff {
  from: string | null;
  to: string;
  added: ArtifactChange[];
  removed: ArtifactChange[];
  changed: ArtifactChange[];
  projections: ProjectionChange[];
  fingerprint: { changed: boolean; before: string | null; after: string };
  pipeline: { before: string | null; after: string };
}

async function artifactOf(store: ObjectIO, oid: string): Promise<Artifact> {
  const obj = await store.getObject(oid);
  if (obj.type !== "artifact") throw new SnapError("object_invalid", `object ${oid} is a ${obj.type}, not an artifact`, { data: { oid } });
  return obj as unknown as Artifact;
}

/** Diff of two manifests: artifacts by content, projections, pipeline fingerprint. */
export async function diffManifests(store: ObjectIO, a: Manifest | undefined, b: Manifest): Promise<Omit<SnapshotDiff, "from" | "to">> {
  const changes = await diffTrees(store, a?.root, b.root);
  const added: ArtifactChange[] = [];
  const removed: ArtifactChange[] = [];
  const changed: ArtifactChange[] = [];
  for (const c of changes) {
    if (c.status === "added") {
      const art = await artifactOf(store, c.after as string);
      added.push({ ...c, content_after: art.content_oid, content_changed: true });
    } else if (c.status === "removed") {
      const art = await artifactOf(store, c.before as string);
      removed.push({ ...c, content_before: art.content_oid, content_changed: true });
    } else {
      const [x, y] = await Promise.all([artifactOf(store, c.before as string), artifactOf(store, c.after as string)]);
      changed.push({ ...c, content_before: x.content_oid, content_after: y.content_oid, content_changed: x.content_oid !== y.content_oid });
    }
  }
  const projections: ProjectionChange[] = [];
  const pa = a?.projections ?? {};
  const pb = b.projections;
  for (const name of [...new Set([...Object.keys(pa), ...Object.keys(pb)])].sort(compareNames)) {
    const x = pa[name];
    const y = pb[name];
    if (x === undefined) projections.push({ name, status: "added", fields: ["adapter", "input_artifacts", "config"] });
    else if (y === undefined) projections.push({ name, status: "removed", fields: ["adapter", "input_artifacts", "config"] });
    else {
      const fields: ProjectionChange["fields"] = [];
      if (x.adapter !== y.adapter) fields.push("adapter");
      if (JSON.stringify(x.input_artifacts) !== JSON.stringify(y.input_artifacts)) fields.push("input_artifacts");
      if (x.config_fingerprint !== y.config_fingerprint) fields.push("config");
      if (fields.length > 0) projections.push({ name, status: "changed", fields });
    }
  }
  return {
    added,
    removed,
    changed,
    projections,
    fingerprint: {
      changed: a === undefined ? true : a.pipeline_fingerprint !== b.pipeline_fingerprint,
      before: a?.pipeline_fingerprint ?? null,
      after: b.pipeline_fingerprint,
    },
    pipeline: { before: a?.pipeline ?? null, after: b.pipeline },
  };
}
