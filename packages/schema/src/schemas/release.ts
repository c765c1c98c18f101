/** `release`: one release of a snapshot to a named target, chained to the previous one. */
import { z } from "zod";
import { jsonObjectSchema, oidSchema, refSegmentSchema, timestampSchema } from "./common.js";
import { defineRecord, recordHeader } from "./define.js";

export const releaseDefinition = defineRecord({
  name: "release",
  version: 1,
  description:
    "A release: name, snapshot, previous release (null for the first), the ref asked for and what it resolved to, time, and one adapter receipt per projection.",
  schema: z.strictObject({
    ...recordHeader("release", 1),
    name: refSegmentSchema,
    snapshot_oid: oidSchema,
    previous_release_oid: oidSchema.nullable(),
    source_ref: z.string().min(1).max(1024),
    resolved_ref: z.string().min(1).max(1024),
    released_at: timestampSchema,
    adapters: z.record(z.string().min(1).max(255), jsonObjectSchema),
  }),
  example: {
    type: "release",
    schema_version: 1,
    name: "prod",
    snapshot_oid: "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb",
    previous_release_oid: null,
    source_ref: "HEAD",
    resolved_ref: "refs/heads/main",
    released_at: "2026-11-22T02:40:00.000Z",
    adapters: { site: { adapter: "files", files: 12, bytes: 48211 } },
  },
});

export const releaseSchema = releaseDefinition.schema;
export type Release = z.infer<typeof releaseSchema>;
