/** The public face of a `.snap` store: `openSnapshotStore({ dir })`. */
import { diffManifests, type SnapshotDiff } from "./diff.js";
import { commitDirectory, type CommitDirectoryOptions, type CommitDirectoryResult } from "./commit-directory.js";
import { resolveRev, type ResolvedRev } from "./resolve.js";
import { openContext, type OpenSnapshotStoreOptions, type StoreContext } from "./store.js";
import { BuildTransaction, readManifest, readSnapshot, type BeginOptions } from "./transaction.js";
import { listRuns, logFrom, openView, type LogEntry, type RunEntry, type SnapshotView } from "./view.js";
import { gc, type GcOptions } from "./gc.js";
import { fsck, type FsckOptions, type FsckResult } from "./fsck.js";
import {
  listReleases,
  recoverReleases,
  release,
  revert,
  type ReleaseInfo,
  type ReleaseOptions,
  type ReleaseResult,
  type RevertOptions,
} from "./release.js";
import { AdapterRegistry, type ReleaseAdapter } from "./adapters.js";
import type { GcReport } from "./schema.js";

export interface SnapshotStore {
  readonly dir: string;
  readonly storeId: string;
  /** Internals for the CLI and benchmarks (object store, refs). */
  readonly context: StoreContext;
  begin(options: BeginOptions): Promise<BuildTransaction>;
  commitDirectory(options: CommitDirectoryOptions): Promise<CommitDirectoryResult>;
  resolve(rev: string): Promise<string>;
  resolveRev(rev: string): Promise<ResolvedRev>;
  view(rev: string): Promise<SnapshotView>;
  diff(a: string | null, b: string): Promise<SnapshotDiff>;
  log(rev?: string, options?: { limit?: number }): Promise<LogEntry[]>;
  runs(options?: { pipeline?: string }): Promise<RunEntry[]>;
  release(options: ReleaseOptions): Promise<ReleaseResult>;
  revert(options: RevertOptions): Promise<ReleaseResult>;
  releases(): Promise<ReleaseInfo[]>;
  /** Finishes or rolls back releases a crash left pending (also done by every release). */
  recover(): Promise<{ finished: string[]; rolledBack: string[] }>;
  registerAdapter(adapter: ReleaseAdapter): void;
  gc(options?: GcOptions): Promise<GcReport>;
  fsck(options?: FsckOptions): Promise<FsckResult>;
  close(): Promise<void>;
}

export async function openSnapshotStore(options: OpenSnapshotStoreOptions): Promise<SnapshotStore> {
  const ctx = await openContext(options);
  const adapters = new AdapterRegistry();
  let closed = false;
  const store: SnapshotStore = {
    dir: ctx.dir,
    storeId: ctx.config.store_id,
    context: ctx,
    begin: (o) => BuildTransaction.begin(ctx, o),
    commitDirectory: (o) => commitDirectory(ctx, o),
    async resolve(rev) {
      return (await resolveRev(ctx, rev)).oid;
    },
    resolveRev: (rev) => resolveRev(ctx, rev),
    async view(rev) {
      return openView(ctx, (await resolveRev(ctx, rev)).oid);
    },
    async diff(a, b) {
      const from = a === null ? null : (await resolveRev(ctx, a)).oid;
      const to = (await resolveRev(ctx, b)).oid;
      const ma = from === null ? undefined : await readManifest(ctx, (await readSnapshot(ctx, from)).manifest_oid);
      const mb = await readManifest(ctx, (await readSnapshot(ctx, to)).manifest_oid);
      return { from, to, ...(await diffManifests(ctx.io, ma, mb)) };
    },
    async log(rev = "HEAD", o = {}) {
      return logFrom(ctx, (await resolveRev(ctx, rev)).oid, o.limit);
    },
    runs: (o) => listRuns(ctx, o),
    release: (o) => release(ctx, adapters, o),
    revert: (o) => revert(ctx, adapters, o),
    releases: () => listReleases(ctx),
    recover: () => recoverReleases(ctx),
    registerAdapter: (a) => adapters.register(a),
    gc: (o) => gc(ctx, o),
    fsck: (o) => fsck(ctx, o),
    async close() {
      if (closed) return;
      closed = true;
      await ctx.refs.close();
      await ctx.objects.close();
    },
  };
  return store;
}
