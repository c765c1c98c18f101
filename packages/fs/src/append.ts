/**
 * Durable append: one write(2) of one buffer to a file opened for append, then fdatasync.
 * The journal frames each record as one buffer so a crash leaves at most one torn record
 * at the tail, never two interleaved halves.
 */
import type { SeamFile } from "./seam.js";

export interface AppendOptions {
  /** "data" (default): fdatasync before resolving. "none": leave it to a later sync. */
  sync?: "data" | "none";
}

export async function appendDurable(file: SeamFile, record: Uint8Array, options: AppendOptions = {}): Promise<void> {
  await file.write(record); // one buffer, one write (the seam loops only on a short write)
  if ((options.sync ?? "data") === "data") await file.datasync(); // commit point
}
