/** `artifact`: one recorded build output and its provenance (DESIGN.md, Snapshots). */
import { z } from "zod";
import { jsonObjectSchema, labelSchema, mediaTypeSchema, oidSchema } from "./common.js";
import { defineRecord, recordHeader } from "./define.js";

export const artifactDefinition = defineRecord({
  name: "artifact",
  version: 1,
  description: "A recorded build output: its label, type, content blob oid, size and provenance.",
  schema: z.strictObject({
    ...recordHeader("artifact", 1),
    label: labelSchema,
    artifact_type: z.string().min(1).max(255),
    content_oid: oidSchema,
    size: z.int().min(0),
    media_type: mediaTypeSchema.optional(),
    parent_labels: z.array(labelSchema),
    metadata: jsonObjectSchema,
  }),
  example: {
    type: "artifact",
    schema_version: 1,
    label: "episodes/2026-11-21.md",
    artifact_type: "episode",
    content_oid: "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb",
    size: 1,
    media_type: "text/markdown",
    parent_labels: ["transcripts/2026-11-21.txt"],
    metadata: { model: "small", tokens: 412 },
  },
});

export const artifactSchema = artifactDefinition.schema;
export type Artifact = z.infer<typeof artifactSchema>;
