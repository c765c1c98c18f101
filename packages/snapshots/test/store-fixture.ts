import { openSnapshotStore, initStore, type SnapshotStore, type OpenSnapshotStoreOptions } from "../src/index.js";
import { tempDir } from "./helpers.js";

export interface Fixture {
  root: string;
  dir: string;
  store: SnapshotStore;
  cleanup(): Promise<void>;
}

export async function newStore(options: Partial<OpenSnapshotStoreOptions> = {}): Promise<Fixture> {
  const t = await tempDir();
  const dir = `${t.dir}/.snap`;
  await initStore({ dir });
  const store = await openSnapshotStore({ dir, fsync: "never", ...options });
  return {
    root: t.dir,
    dir,
    store,
    async cleanup() {
      await store.close().catch(() => undefined);
      await t.cleanup();
    },
  };
}

/** One build: label -> text content. */
export async function build(store: SnapshotStore, files: Record<string, string>, options: { pipeline?: string; message?: string; projections?: Record<string, { adapter: string; inputs: string[]; config?: Record<string, unknown> }> } = {}) {
  const txn = await store.begin({ pipeline: options.pipeline ?? "main" });
  for (const [label, content] of Object.entries(files)) await txn.recordArtifact({ label, content });
  for (const [name, p] of Object.entries(options.projections ?? {})) await txn.recordProjection({ name, adapter: p.adapter, inputs: p.inputs, config: p.config ?? {} });
  await txn.assertComplete(Object.keys(files));
  return txn.commit(options.message === undefined ? {} : { message: options.message });
}
