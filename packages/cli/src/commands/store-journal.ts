/**
 * Opening the store's own journal (`<store>/journal`) the way @snap/snapshots opens it: under
 * the store lock `<store>/lock` and stamped with the store's id (from config.json), so an
 * append from `snap journal` serializes with ref transactions and a foreign segment is
 * refused. Opened directly rather than through openSnapshotStore so that inspecting a damaged
 * journal (`--recovery`) does not first run the refs' roll-forward.
 */
import { join } from "node:path";
import { openJournal, type Journal, type RecoveryMode } from "@snap/journal";
import { readStoreConfig } from "@snap/snapshots";

export async function openStoreJournal(storeDir: string, recovery: RecoveryMode = "tolerate-tail"): Promise<Journal> {
  const config = await readStoreConfig(storeDir);
  return openJournal({ dir: join(storeDir, "journal"), lockPath: join(storeDir, "lock"), storeId: config.store_id, recovery });
}
