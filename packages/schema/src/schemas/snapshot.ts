/** `snapshot`: one committed build: its manifest, parents and run. */
import { z } from "zod";
import { oidSchema, refSegmentSchema, timestampSchema } from "./common.js";
import { defineRecord, recordHeader } from "./define.js";

export const snapshotDefinition = defineRecord({
  name: "snapshot",
  version: 1,
  description: "A committed build: manifest oid, parent snapshots, pipeline, run id and time.",
  schema: z.strictObject({
    ...recordHeader("snapshot", 1),
    manifest_oid: oidSchema,
    parent_snapshot_oids: z.array(oidSchema),
    created_at: timestampSchema,
    pipeline: refSegmentSchema,
    run_id: refSegmentSchema,
    message: z.string().max(65536).optional(),
  }),
  example: {
    type: "snapshot",
    schema_version: 1,
    manifest_oid: "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb",
    parent_snapshot_oids: ["3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d"],
    created_at: "2026-11-22T02:31:00.000Z",
    pipeline: "main",
    run_id: "2026-11-22T02-31-00Z-7f3a",
    message: "nightly build",
  },
});

export const snapshotSchema = snapshotDefinition.schema;
export type Snapshot = z.infer<typeof snapshotSchema>;
