/**
 * Build transactions (DESIGN.md "Snapshots"): record artifacts and projections, then commit
 * a manifest + snapshot and move `refs/runs/<pipeline>/<run-id>` and `refs/heads/<pipeline>`
 * in ONE refs transaction. A failed or aborted build moves nothing.
 *
 * Commit protocol:
 *   1. (no lock) write the label tree (children first) and the manifest and snapshot objects.
 *   2. take the snapshots lock (GC and releases take it too), then
 *      a. check the branch still points where it pointed at begin (else branch_advanced),
 *         and that its snapshot belongs to this pipeline (else pipeline_mismatch);
 *      b. check every object this commit relies on without having written it (present
 *         subtrees, stat-cache artifacts) still exists: GC cannot remove it while we hold the lock;
 *      c. one refs transaction: run ref expect "absent", branch expect <begin value>. Its
 *         journal append is the commit point.
 *   3. remove the lease.
 */
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { Readable } from "node:stream";
import { isCode, nodeFs, publishFile, selfIdentity, withLock } from "@snap/fs";
import {
  canonicalJson,
  isSnapError,
  oidOf,
  SnapError,
  type Artifact,
  type Manifest,
  type Projection,
  type Snapshot,
} from "@snap/schema";
import { configFingerprint, pipelineFingerprint } from "./fingerprint.js";
import { assertLabel, assertName } from "./label.js";
import type { Lease } from "./schema.js";
import type { StoreContext } from "./store.js";
import { EMPTY_TREE_OID, lookupLabel, updateTree, walkTree } from "./tree.js";
import { checkAborted, ProgressReporter, type LongOperationOptions } from "./progress.js";

export interface CommitOptions extends LongOperationOptions {
  message?: string;
  lockTimeoutMs?: number;
}

export type ArtifactContent = Uint8Array | string | AsyncIterable<Uint8Array> | Readable | { path: string };

export interface RecordArtifactInput {
  label: string;
  content: ArtifactContent;
  artifactType?: string;
  mediaType?: string;
  parents?: string[];
  metadata?: Record<string, unknown>;
  /** When given, must equal the content's sha256 ("<hex>" or "sha256:<hex>"): else artifact_id_mismatch. */
  artifactId?: string;
}

export interface RecordedArtifact {
  label: string;
  artifactOid: string;
  contentOid: string;
  size: number;
}

export interface RecordProjectionInput {
  name: string;
  adapter: string;
  /** Labels of recorded artifacts this projection reads. */
  inputs: string[];
  config?: Record<string, unknown>;
}

export interface BeginOptions {
  pipeline: string;
  runId?: string;
  /** A precomputed pipeline fingerprint (64 hex). */
  fingerprint?: string;
  /** The pipeline definition to fingerprint (secrets and machine-local paths removed). */
  definition?: unknown;
  /**
   * Start from the parent snapshot's labels: recorded labels replace or add, removeArtifact()
   * removes, everything else is kept. Commit then reads and writes O(changes x depth) trees.
   * Default false: the snapshot holds exactly the recorded artifacts.
   */
  inherit?: boolean;
  /**
   * With `inherit`: start from the labels of this tree (a tree oid of this store) instead of
   * the parent snapshot's; the parent link is still the branch head. commitDirectory starts
   * from the tree it last committed for the directory. Commit checks under its lock that the
   * tree still exists (object_not_found otherwise: gc collected it).
   */
  baseTree?: string;
}

export interface CommitResult {
  snapshotOid: string;
  manifestOid: string;
  rootOid: string;
  runRef: string;
  branchRef: string;
  runId: string;
  parentOid: string | null;
  /** Objects this transaction created (blobs, artifacts, trees, manifest, snapshot). */
  newObjects: number;
}

export function newRunId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, "").replace(".", "");
  return `${stamp}-${randomBytes(4).toString("hex")}`;
}

export async function readSnapshot(ctx: StoreContext, oid: string): Promise<Snapshot> {
  const obj = await ctx.io.getObject(oid);
  if (obj.type !== "snapshot") {
    throw new SnapError("rev_not_found", `object ${oid} is a ${obj.type}, not a snapshot`, { data: { oid, type: obj.type } });
  }
  return obj as unknown as Snapshot;
}

export async function readManifest(ctx: StoreContext, oid: string): Promise<Manifest> {
  const obj = await ctx.io.getObject(oid);
  if (obj.type !== "manifest") throw new SnapError("object_invalid", `object ${oid} is a ${obj.type}, not a manifest`, { data: { oid } });
  return obj as unknown as Manifest;
}

function normalizeArtifactId(id: string): string {
  const hex = id.startsWith("sha256:") ? id.slice(7) : id;
  return hex.toLowerCase();
}

export class BuildTransaction {
  readonly id: string;
  private state: "open" | "committing" | "committed" | "aborted" = "open";
  private readonly labels = new Map<string, RecordedArtifact>();
  private readonly removed = new Set<string>();
  private readonly projections = new Map<string, Projection>();
  /** Artifact oids this transaction put (so they are known to exist). */
  /** Artifact objects this transaction created -> their content oid. */
  private readonly createdArtifacts = new Map<string, string>();
  /** Content blobs this transaction found already stored (freshened, not created). */
  private readonly reusedBlobs = new Set<string>();
  private created = 0;
  private readonly leasePath: string;
  readonly startedAtMs: number;

  private constructor(
    private readonly ctx: StoreContext,
    readonly pipeline: string,
    readonly runId: string,
    readonly parentOid: string | null,
    /** The tree inherited labels come from: the parent's root, or BeginOptions.baseTree. */
    private readonly baseRoot: string | undefined,
    readonly fingerprint: string,
    readonly inherit: boolean,
    /** Set when baseRoot is a baseTree that the parent does not keep reachable. */
    private readonly detachedBase = false,
  ) {
    this.id = `${pipeline}-${runId}`;
    this.leasePath = join(ctx.dir, "leases", `${this.id}.json`);
    this.startedAtMs = Date.now();
  }

  static async begin(ctx: StoreContext, options: BeginOptions): Promise<BuildTransaction> {
    assertName(options.pipeline, "pipeline");
    const runId = options.runId ?? newRunId();
    assertName(runId, "run id");
    let fingerprint: string;
    if (options.fingerprint !== undefined) {
      if (!/^[0-9a-f]{64}$/.test(options.fingerprint)) {
        throw new SnapError("invalid_argument", "fingerprint must be 64 lowercase hex characters", { data: { fingerprint: options.fingerprint } });
      }
      fingerprint = options.fingerprint;
    } else {
      fingerprint = pipelineFingerprint(options.definition ?? { pipeline: options.pipeline });
    }
    if ((await ctx.refs.read(`refs/runs/${options.pipeline}/${runId}`)) !== undefined) {
      throw new SnapError("invalid_argument", `run ${options.pipeline}/${runId} already exists; run refs are never moved`, {
        data: { pipeline: options.pipeline, run_id: runId },
      });
    }
    if (options.baseTree !== undefined && (options.inherit !== true || !/^[0-9a-f]{64}$/.test(options.baseTree))) {
      throw new SnapError("invalid_argument", "baseTree must be a tree oid (64 lowercase hex characters), with inherit: true", { data: { baseTree: options.baseTree } });
    }
    const parentOid = (await ctx.refs.read(`refs/heads/${options.pipeline}`)) ?? null;
    let parentRoot: string | undefined;
    if (parentOid !== null) {
      const parent = await readSnapshot(ctx, parentOid);
      assertSamePipeline(parent, parentOid, options.pipeline);
      parentRoot = (await readManifest(ctx, parent.manifest_oid)).root;
    }
    const base = options.baseTree ?? parentRoot;
    const txn = new BuildTransaction(ctx, options.pipeline, runId, parentOid, base, fingerprint, options.inherit === true, base !== parentRoot);
    await txn.writeLease();
    return txn;
  }

  private async writeLease(): Promise<void> {
    const me = selfIdentity();
    const lease: Lease = {
      type: "snapshot_lease",
      schema_version: 1,
      txn_id: this.id,
      pipeline: this.pipeline,
      run_id: this.runId,
      base_snapshot_oid: this.parentOid,
      started_at: new Date(this.startedAtMs).toISOString(),
      // One second of slack for filesystems with coarse mtimes.
      started_at_ms: Math.max(0, this.startedAtMs - 1000),
      pid: me.pid,
      host: me.host,
      process_start: me.process_start,
    };
    // Published whole (rename) so gc never reads half of one, but not fsynced: a lease only
    // matters while its process lives, and after a crash the transaction is gone anyway
    // (its objects are unreferenced garbage). gc removes the lease of a dead process, and an
    // unreadable one (crash residue) once it is older than the grace period.
    await publishFile(this.leasePath, Buffer.from(`${canonicalJson(lease)}\n`), { mode: "replace", durability: "never" });
  }

  private async removeLease(): Promise<void> {
    await nodeFs.unlink(this.leasePath).catch((err: unknown) => {
      if (!isCode(err, "ENOENT")) throw err;
    });
  }

  private assertOpen(): void {
    if (this.state !== "open") {
      throw new SnapError("txn_closed", `build transaction ${this.id} is ${this.state}`, { data: { txn: this.id, state: this.state } });
    }
  }

  /** Labels recorded so far (not including inherited ones). */
  recordedLabels(): string[] {
    return [...this.labels.keys()];
  }

  async recordArtifact(input: RecordArtifactInput): Promise<RecordedArtifact> {
    this.assertOpen();
    assertLabel(input.label);
    const parents = input.parents ?? [];
    for (const p of parents) assertLabel(p);
    const artifactType = input.artifactType ?? "file";
    if (typeof artifactType !== "string" || artifactType.length === 0 || artifactType.length > 255) {
      throw new SnapError("invalid_argument", "artifactType must be a non-empty string of at most 255 characters");
    }
    const metadata = input.metadata ?? {};
    canonicalJson(metadata); // refuse non-JSON metadata before writing anything
    const expected = input.artifactId === undefined ? undefined : normalizeArtifactId(input.artifactId);
    const content = input.content;
    let contentOid: string;
    let size: number;
    let created: boolean;
    if (typeof content === "string" || content instanceof Uint8Array) {
      const bytes = typeof content === "string" ? Buffer.from(content, "utf8") : content;
      if (expected !== undefined) {
        const actual = oidOf(bytes);
        if (actual !== expected) throw idMismatch(input.label, expected, actual);
      }
      const r = await this.ctx.io.putBytes(bytes);
      if (!r.created) this.reusedBlobs.add(r.oid);
      contentOid = r.oid;
      size = bytes.byteLength;
      created = r.created;
    } else {
      const opts = expected === undefined ? {} : { expectOid: expected };
      try {
        let r;
        if (typeof content === "object" && content !== null && "path" in content && typeof (content as { path: unknown }).path === "string") {
          r = await this.ctx.io.putFile((content as { path: string }).path, opts);
        } else if (content !== null && typeof content === "object" && (Symbol.asyncIterator in content || Symbol.iterator in content)) {
          r = await this.ctx.io.putStream(content as AsyncIterable<Uint8Array>, opts);
        } else {
          throw new SnapError("invalid_argument", `artifact ${input.label}: content must be bytes, a string, a stream or {path}`, { data: { label: input.label } });
        }
        contentOid = r.oid;
        if (!r.created) this.reusedBlobs.add(r.oid);
        size = r.size;
        created = r.created;
      } catch (err) {
        if (isSnapError(err, "oid_mismatch")) throw idMismatch(input.label, expected as string, String(err.data.actual));
        throw err;
      }
    }
    if (created) this.created++;
    const artifact: Artifact = {
      type: "artifact",
      schema_version: 1,
      label: input.label,
      artifact_type: artifactType,
      content_oid: contentOid,
      size,
      parent_labels: parents,
      metadata: metadata as Artifact["metadata"],
    };
    if (input.mediaType !== undefined) artifact.media_type = input.mediaType;
    const put = await this.ctx.io.putObject(artifact);
    if (put.created) {
      this.created++;
      this.createdArtifacts.set(put.oid, contentOid);
    }
    this.assertOpen();
    const rec: RecordedArtifact = { label: input.label, artifactOid: put.oid, contentOid, size };
    this.labels.set(input.label, rec);
    this.removed.delete(input.label);
    return rec;
  }

  /** With `inherit`: drops an inherited (or recorded) label from the snapshot. */
  removeArtifact(label: string): void {
    this.assertOpen();
    assertLabel(label);
    this.labels.delete(label);
    if (this.inherit) this.removed.add(label);
  }

  private async hasLabel(label: string): Promise<boolean> {
    if (this.labels.has(label)) return true;
    if (!this.inherit || this.removed.has(label) || this.baseRoot === undefined) return false;
    const e = await lookupLabel(this.ctx.io, this.baseRoot, label);
    return e?.kind === "artifact";
  }

  async recordProjection(input: RecordProjectionInput): Promise<Projection> {
    this.assertOpen();
    if (typeof input.name !== "string" || !/^[A-Za-z0-9_][A-Za-z0-9._-]{0,254}$/.test(input.name)) {
      throw new SnapError("invalid_argument", `projection name ${JSON.stringify(input.name)} is invalid: use [A-Za-z0-9._-]`, { data: { name: input.name } });
    }
    if (typeof input.adapter !== "string" || input.adapter.length === 0) throw new SnapError("invalid_argument", "projection adapter must be a name");
    const config = input.config ?? {};
    canonicalJson(config);
    const inputs = [...new Set(input.inputs)].sort();
    const missing: string[] = [];
    for (const l of inputs) {
      assertLabel(l);
      if (!(await this.hasLabel(l))) missing.push(l);
    }
    if (missing.length > 0) {
      throw new SnapError("incomplete_closure", `projection ${input.name} reads labels that were not recorded: ${missing.slice(0, 5).join(", ")}`, {
        data: { projection: input.name, missing: missing.slice(0, 100) },
      });
    }
    const projection: Projection = { adapter: input.adapter, input_artifacts: inputs, config: config as Projection["config"], config_fingerprint: configFingerprint(config) };
    this.projections.set(input.name, projection);
    return projection;
  }

  /** The labels the snapshot will hold. */
  async currentLabels(): Promise<Set<string>> {
    const out = new Set<string>();
    if (this.inherit && this.baseRoot !== undefined) {
      for await (const [label] of walkTree(this.ctx.io, this.baseRoot)) if (!this.removed.has(label)) out.add(label);
    }
    for (const l of this.labels.keys()) out.add(l);
    return out;
  }

  /** Fails closed (incomplete_closure) unless the snapshot holds exactly `expected`. */
  async assertComplete(expected: Iterable<string>): Promise<void> {
    this.assertOpen();
    const want = new Set(expected);
    const have = await this.currentLabels();
    const missing = [...want].filter((l) => !have.has(l)).sort();
    const unexpected = [...have].filter((l) => !want.has(l)).sort();
    if (missing.length > 0 || unexpected.length > 0) {
      throw new SnapError(
        "incomplete_closure",
        `snapshot closure mismatch: missing=[${missing.slice(0, 5).join(", ")}] unexpected=[${unexpected.slice(0, 5).join(", ")}]`,
        { data: { missing: missing.slice(0, 100), unexpected: unexpected.slice(0, 100), missing_count: missing.length, unexpected_count: unexpected.length } },
      );
    }
  }

  /**
   * Writes the trees, manifest and snapshot and moves the run ref and the branch in one refs
   * transaction (its journal append is the commit point). `signal` aborted before that point:
   * SnapError `interrupted`, no ref moved, the transaction still open (retry or abort()).
   * Progress phases: "tree" (objects written), "commit" (1 of 1 once the refs moved).
   */
  async commit(options: CommitOptions = {}): Promise<CommitResult> {
    this.assertOpen();
    this.state = "committing";
    try {
      const result = await this.doCommit(options);
      this.state = "committed";
      await this.removeLease();
      return result;
    } catch (err) {
      this.state = "open";
      throw err;
    }
  }

  private async doCommit(options: CommitOptions): Promise<CommitResult> {
    const ctx = this.ctx;
    const signal = options.signal;
    const progress = new ProgressReporter(options.onProgress);
    checkAborted(signal, "commit");
    // 1. Trees, manifest, snapshot (no lock).
    // Every label here was checked by recordArtifact or removeArtifact.
    const tree = this.inherit
      ? await updateTree(
          ctx.io,
          this.baseRoot,
          [...[...this.removed].map((l) => [l, null] as const), ...[...this.labels.values()].map((r) => [r.label, r.artifactOid] as const)],
          { labelsChecked: true },
        )
      : await updateTree(ctx.io, undefined, [...this.labels.values()].map((r) => [r.label, r.artifactOid] as const), { labelsChecked: true });
    this.created += tree.written.length;
    progress.end("tree", tree.written.length, undefined, "objects");
    checkAborted(signal, "commit");
    const projections: Record<string, Projection> = {};
    for (const name of [...this.projections.keys()].sort()) projections[name] = this.projections.get(name) as Projection;
    const manifest: Manifest = {
      type: "manifest",
      schema_version: 1,
      pipeline: this.pipeline,
      pipeline_fingerprint: this.fingerprint,
      root: tree.root,
      projections,
    };
    const m = await ctx.io.putObject(manifest);
    if (m.created) this.created++;
    const snapshot: Snapshot = {
      type: "snapshot",
      schema_version: 1,
      manifest_oid: m.oid,
      parent_snapshot_oids: this.parentOid === null ? [] : [this.parentOid],
      created_at: new Date().toISOString(),
      pipeline: this.pipeline,
      run_id: this.runId,
    };
    if (options.message !== undefined) snapshot.message = options.message;
    const s = await ctx.io.putObject(snapshot);
    if (s.created) this.created++;
    const runRef = `refs/runs/${this.pipeline}/${this.runId}`;
    const branchRef = `refs/heads/${this.pipeline}`;
    // 2. Under the snapshots lock.
    checkAborted(signal, "commit");
    await withLock(ctx.lockPath, async () => {
      checkAborted(signal, "commit");
      const head = (await ctx.refs.read(branchRef)) ?? null;
      if (head !== this.parentOid) throw branchAdvanced(branchRef, this.parentOid, head);
      if (head !== null) assertSamePipeline(await readSnapshot(ctx, head), head, this.pipeline);
      // What this snapshot names but this transaction did not create may have been collected
      // since it was seen. Objects are written children first and gc keeps what young objects
      // name, so a present object implies its whole subtree: checking the roots of what we
      // reused is enough (present subtrees, artifacts placed in new trees, reused blobs of new
      // artifacts, a reused manifest).
      const mustExist = new Set<string>(tree.present);
      // A base tree the parent does not name: present implies its whole subtree is (trees
      // are written children first, gc removes parents first), which the new trees reuse.
      if (this.detachedBase && this.baseRoot !== undefined && this.baseRoot !== EMPTY_TREE_OID) mustExist.add(this.baseRoot);
      for (const oid of tree.artifactsInWritten) if (!this.createdArtifacts.has(oid)) mustExist.add(oid);
      for (const blob of this.createdArtifacts.values()) if (this.reusedBlobs.has(blob)) mustExist.add(blob);
      if (!m.created) mustExist.add(m.oid);
      for (const oid of mustExist) {
        if (!(await ctx.io.has(oid))) {
          throw new SnapError("object_not_found", `object ${oid} this commit relies on is gone (removed by gc?); record the build again`, { data: { oid } });
        }
      }
      // Batch durability: every object must be durable before a ref names it.
      await ctx.objects.flush();
      checkAborted(signal, "commit"); // the last chance: the journal append below is the commit point
      try {
        await ctx.refs.transaction(
          [
            { ref: runRef, expect: "absent", set: s.oid },
            { ref: branchRef, expect: this.parentOid ?? "absent", set: s.oid },
          ],
          { reason: `commit ${this.pipeline} run ${this.runId}` },
        );
      } catch (err) {
        if (isSnapError(err, "ref_expect_mismatch") && err.data.ref === branchRef) {
          throw branchAdvanced(branchRef, this.parentOid, (err.data.found as string | null) ?? null);
        }
        throw err;
      }
    }, { timeoutMs: options.lockTimeoutMs ?? 120_000 });
    progress.end("commit", 1, 1);
    return {
      snapshotOid: s.oid,
      manifestOid: m.oid,
      rootOid: tree.root,
      runRef,
      branchRef,
      runId: this.runId,
      parentOid: this.parentOid,
      newObjects: this.created,
    };
  }

  /** Ends the transaction without moving any ref. Objects it wrote become garbage for gc. */
  async abort(): Promise<void> {
    if (this.state === "aborted") return;
    this.assertOpen();
    this.state = "aborted";
    await this.removeLease();
  }

  get status(): string {
    return this.state;
  }
}

function idMismatch(label: string, expected: string, actual: string): SnapError {
  return new SnapError("artifact_id_mismatch", `artifact ${label}: artifact id sha256:${expected} does not match its content (sha256:${actual})`, {
    data: { label, expected, actual },
  });
}

function branchAdvanced(ref: string, expected: string | null, found: string | null): SnapError {
  return new SnapError("branch_advanced", `branch advanced during build: ${ref} moved (expected ${expected ?? "absent"}, found ${found ?? "absent"})`, {
    data: { ref, expected, found },
    hint: "another build committed to this pipeline meanwhile; rebuild on top of it",
  });
}

function assertSamePipeline(parent: Snapshot, oid: string, pipeline: string): void {
  if (parent.pipeline !== pipeline) {
    throw new SnapError("pipeline_mismatch", `refs/heads/${pipeline} points at snapshot ${oid} of pipeline ${parent.pipeline}; a commit never takes a parent from another pipeline`, {
      data: { pipeline, parent: oid, parent_pipeline: parent.pipeline },
    });
  }
}
