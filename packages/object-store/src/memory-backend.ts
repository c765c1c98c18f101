/**
 * The in-memory backend: a Map from oid to bytes. Used by tests and as a template for other
 * backends; it passes the same contract tests as the fs backend. Nothing survives the
 * process, so every fsync mode means the same thing here.
 */
import { SnapError } from "@snap/schema";
import type { ObjectBackend, ObjectInfo, PublishOutcome, StagedObject, WriteMode } from "./backend.js";

const CHUNK = 64 * 1024;

interface Entry {
  bytes: Buffer;
  mtimeMs: number;
}

export interface MemoryBackend extends ObjectBackend {
  readonly kind: "memory";
  /**
   * Stores `bytes` under `oid` without any check. For tests that need a corrupt object
   * (the fs equivalent is writing the file by hand).
   */
  setRaw(oid: string, bytes: Uint8Array, mtimeMs?: number): void;
  /** Removes an object without going through the store (tests). */
  deleteRaw(oid: string): boolean;
}

export function createMemoryBackend(): MemoryBackend {
  const objects = new Map<string, Entry>();

  function publish(oid: string, bytes: Buffer, mode: WriteMode): PublishOutcome {
    const existed = objects.has(oid);
    if (existed && mode === "no-clobber") return "exists";
    objects.set(oid, { bytes, mtimeMs: Date.now() }); // commit point
    return existed ? "replaced" : "created";
  }

  function get(oid: string): Entry {
    const entry = objects.get(oid);
    if (!entry) throw new SnapError("object_not_found", `no object ${oid}`, { data: { oid } });
    return entry;
  }

  return {
    kind: "memory",
    async write(oid, data, mode) {
      return publish(oid, Buffer.from(data), mode);
    },
    async stage(): Promise<StagedObject> {
      let chunks: Buffer[] | undefined = [];
      return {
        async write(chunk) {
          if (!chunks) throw new SnapError("internal", "staged object already finished");
          chunks.push(Buffer.from(chunk));
        },
        async commit(oid, mode) {
          if (!chunks) throw new SnapError("internal", "staged object already finished");
          const bytes = Buffer.concat(chunks);
          chunks = undefined;
          return publish(oid, bytes, mode);
        },
        async abort() {
          chunks = undefined;
        },
      };
    },
    async read(oid) {
      return Buffer.from(get(oid).bytes);
    },
    async *readChunks(oid) {
      const { bytes } = get(oid);
      for (let off = 0; off < bytes.length; off += CHUNK) {
        yield Buffer.from(bytes.subarray(off, off + CHUNK));
      }
    },
    async stat(oid): Promise<ObjectInfo | undefined> {
      const entry = objects.get(oid);
      return entry ? { size: entry.bytes.length, mtimeMs: entry.mtimeMs } : undefined;
    },
    async freshen(oid) {
      get(oid).mtimeMs = Date.now();
    },
    async *list() {
      for (const oid of [...objects.keys()]) {
        if (objects.has(oid)) yield oid;
      }
    },
    async *listPrefix(prefix) {
      for (const oid of [...objects.keys()]) {
        if (oid.startsWith(prefix) && objects.has(oid)) yield oid;
      }
    },
    async remove(oids) {
      const removed: string[] = [];
      const missing: string[] = [];
      for (const oid of oids) (objects.delete(oid) ? removed : missing).push(oid);
      return { removed, missing };
    },
    async flush() {},
    async cleanTmp() {
      return { removed: 0 };
    },
    async close() {},
    setRaw(oid, bytes, mtimeMs = Date.now()) {
      objects.set(oid, { bytes: Buffer.from(bytes), mtimeMs });
    },
    deleteRaw(oid) {
      return objects.delete(oid);
    },
  };
}
