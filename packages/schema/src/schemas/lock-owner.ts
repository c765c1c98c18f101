/**
 * `lock_owner`: who holds the store lock. A holder whose pid is dead on this host (or alive
 * with a different process start time: pid reuse) is taken over at once. `generation`
 * increases with every acquisition and fences stale writers (the journal's `lg`).
 */
import { z } from "zod";
import { timestampSchema } from "./common.js";
import { defineRecord, recordHeader } from "./define.js";

export const lockOwnerDefinition = defineRecord({
  name: "lock_owner",
  version: 1,
  description: "The store lock's holder: pid, host, process start time, generation, acquisition time and token.",
  schema: z.strictObject({
    ...recordHeader("lock_owner", 1),
    pid: z.int().min(1),
    host: z.string().min(1).max(255),
    /**
     * Opaque, platform-specific identity of the holder process beyond its pid, compared for
     * equality only (@snap/fs writes "linux:<boot id>:<start ticks>", "approx:<ISO time>" elsewhere).
     */
    process_start: z.string().min(1).max(128),
    generation: z.int().min(0),
    acquired_at: timestampSchema,
    /** Random per-acquisition token; a holder checks it before trusting that it still owns the lock. */
    token: z.string().regex(/^[A-Za-z0-9_-]{16,128}$/, "expected 16-128 characters of [A-Za-z0-9_-]"),
  }),
  example: {
    type: "lock_owner",
    schema_version: 1,
    pid: 4242,
    host: "build-01",
    process_start: "linux:6f1c2a9e-93b1-4c55-a0d4-8e2f7b3c1d90:183746512",
    generation: 7,
    acquired_at: "2026-11-22T02:31:05.120Z",
    token: "f3c9a1d27be04c5e8a6d0b7e4c2a9f13",
  },
});

export const lockOwnerSchema = lockOwnerDefinition.schema;
export type LockOwner = z.infer<typeof lockOwnerSchema>;
