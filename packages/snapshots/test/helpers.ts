import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openObjectStore, type ObjectStore } from "@snap/object-store";
import type { ObjectIO } from "../src/index.js";

export interface Counted extends ObjectIO {
  reads: number;
  created: number;
  puts: number;
  hasCalls: number;
  reset(): void;
}

/** Wraps an object store and counts object reads, puts and newly created objects. */
export function counting(store: ObjectStore): Counted {
  const c: Counted = {
    reads: 0,
    created: 0,
    puts: 0,
    hasCalls: 0,
    reset() {
      c.reads = 0;
      c.created = 0;
      c.puts = 0;
      c.hasCalls = 0;
    },
    async putBytes(d) {
      c.puts++;
      const r = await store.putBytes(d);
      if (r.created) c.created++;
      return r;
    },
    async putStream(s, o) {
      c.puts++;
      const r = await store.putStream(s, o);
      if (r.created) c.created++;
      return r;
    },
    async putFile(p, o) {
      c.puts++;
      const r = await store.putFile(p, o);
      if (r.created) c.created++;
      return r;
    },
    async putObject(v) {
      c.puts++;
      const r = await store.putObject(v);
      if (r.created) c.created++;
      return r;
    },
    async getBytes(oid) {
      c.reads++;
      return store.getBytes(oid);
    },
    async getStream(oid) {
      c.reads++;
      return store.getStream(oid);
    },
    async getObject(oid) {
      c.reads++;
      return store.getObject(oid);
    },
    async has(oid) {
      c.hasCalls++;
      return store.has(oid);
    },
    stat: (oid) => store.stat(oid),
    list: () => store.list(),
  } as Counted;
  return c;
}

export async function tempDir(prefix = "snap-snapshots-"): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export async function memoryStore(): Promise<ObjectStore> {
  return openObjectStore({ backend: "memory" });
}
