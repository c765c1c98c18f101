/** Opening the `.snap` store a command works on, through @snap/snapshots' public API. */
import { openSnapshotStore, type SnapshotStore } from "@snap/snapshots";
import type { CommandContext } from "../context.js";

export async function withStore<T>(ctx: CommandContext, fn: (store: SnapshotStore) => Promise<T>): Promise<T> {
  const store = await openSnapshotStore({ dir: ctx.store().dir });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}
