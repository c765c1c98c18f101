/**
 * Entity state and checkpoints. State is the latest post-image per (item_type, item_id);
 * tombstones are kept internally (deleted: true) so entity_rev never resets. A checkpoint
 * is that map at a head seq, written as NDJSON lines plus a footer (FORMAT.md "Checkpoint files").
 */
import { createHash } from "node:crypto";
import type { FsSeam } from "@snap/fs";
import { frameWindows, type DecodedRecord } from "./decode.js";
import { checkpointEntityRecord, checkpointFooterRecord, frameRecord } from "./format.js";
import { listCheckpoints, readWhole, type CheckpointEntry, type JournalPaths } from "./files.js";

export interface EntityState {
  item_type: string;
  item_id: string;
  entity_rev: number;
  /** Seq of the record that produced this post-image. */
  seq: number;
  deleted: boolean;
  payload?: unknown;
  payload_ref?: { sha256: string; bytes: number };
}

export type EntityMap = Map<string, EntityState>;

export function entityKey(itemType: string, itemId: string): string {
  return `${itemType}\u0000${itemId}`;
}

/** Applies one journal_event record to the map (other record types are ignored). */
export function applyRecord(map: EntityMap, rec: DecodedRecord): void {
  if (rec.type !== "journal_event") return;
  const itemType = rec.item_type as string;
  const itemId = rec.item_id as string;
  const e: EntityState = {
    item_type: itemType,
    item_id: itemId,
    entity_rev: rec.entity_rev as number,
    seq: rec.seq as number,
    deleted: rec.action === "delete",
  };
  if (!e.deleted) {
    if (rec.payload_ref !== undefined) e.payload_ref = rec.payload_ref as { sha256: string; bytes: number };
    else if (rec.payload !== undefined) e.payload = rec.payload;
  }
  map.set(entityKey(itemType, itemId), e);
}

export function sortedEntities(map: EntityMap): EntityState[] {
  return [...map.values()].sort((a, b) =>
    a.item_type < b.item_type ? -1 : a.item_type > b.item_type ? 1 : a.item_id < b.item_id ? -1 : a.item_id > b.item_id ? 1 : 0,
  );
}

export function encodeCheckpoint(map: EntityMap, footer: { store_id: string; head_seq: number; head_chain: string; created_at: string }): Buffer {
  const parts: Buffer[] = [];
  const hash = createHash("sha256");
  let count = 0;
  for (const e of sortedEntities(map)) {
    const { bytes } = frameRecord(checkpointEntityRecord(e));
    parts.push(bytes);
    hash.update(bytes);
    count++;
  }
  parts.push(frameRecord(checkpointFooterRecord({ ...footer, count, sha256: hash.digest("hex") })).bytes);
  return Buffer.concat(parts);
}

export interface ParsedCheckpoint {
  ok: boolean;
  problems: string[];
  footer: DecodedRecord | undefined;
  entities: EntityMap;
  headSeq: number;
}

/** Full re-parse of a checkpoint file: every line, the count and the sha256. */
export function parseCheckpoint(buf: Buffer): ParsedCheckpoint {
  const out: ParsedCheckpoint = { ok: false, problems: [], footer: undefined, entities: new Map(), headSeq: 0 };
  let footerStart = -1;
  for (const frames of frameWindows(buf)) for (const fr of frames) {
    if (fr.kind !== "ok") {
      out.problems.push(`${fr.kind} bytes ${fr.start}-${fr.end}`);
      continue;
    }
    const r = fr.record;
    if (out.footer !== undefined) {
      out.problems.push(`record after the footer at ${fr.start}`);
      continue;
    }
    if (r.type === "journal_checkpoint_entity") {
      const e: EntityState = {
        item_type: r.item_type as string,
        item_id: r.item_id as string,
        entity_rev: r.entity_rev as number,
        seq: r.seq as number,
        deleted: r.deleted === true,
      };
      if (r.payload_ref !== undefined) e.payload_ref = r.payload_ref as { sha256: string; bytes: number };
      else if (r.payload !== undefined) e.payload = r.payload;
      out.entities.set(entityKey(e.item_type, e.item_id), e);
    } else if (r.type === "journal_checkpoint_footer") {
      out.footer = r;
      footerStart = fr.start - 1;
    } else out.problems.push(`unexpected ${r.type} at ${fr.start}`);
  }
  if (out.footer === undefined) out.problems.push("no footer");
  else {
    if (out.footer.count !== out.entities.size) out.problems.push(`footer count ${String(out.footer.count)} but ${out.entities.size} entities`);
    const sha = createHash("sha256").update(buf.subarray(0, footerStart)).digest("hex");
    if (sha !== out.footer.sha256) out.problems.push("footer sha256 does not match the entity lines");
    out.headSeq = out.footer.head_seq as number;
  }
  out.ok = out.problems.length === 0;
  return out;
}

export interface LoadedCheckpoint {
  entry: CheckpointEntry;
  parsed: ParsedCheckpoint;
}

/** The newest checkpoint that re-parses cleanly (older ones are tried when a newer one is bad). */
export async function loadNewestCheckpoint(fs: FsSeam, paths: JournalPaths, storeId: string | undefined): Promise<LoadedCheckpoint | undefined> {
  for (const entry of await listCheckpoints(fs, paths.checkpoints)) {
    let parsed: ParsedCheckpoint;
    try {
      parsed = parseCheckpoint(await readWhole(fs, entry.path));
    } catch {
      continue;
    }
    if (!parsed.ok || parsed.headSeq !== entry.headSeq) continue;
    if (storeId !== undefined && parsed.footer?.store_id !== storeId) continue;
    return { entry, parsed };
  }
  return undefined;
}
