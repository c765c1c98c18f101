/** `manifest`: what one build produced: the label tree root and the projections. */
import { z } from "zod";
import { jsonObjectSchema, labelSchema, oidSchema, refSegmentSchema, sha256HexSchema } from "./common.js";
import { defineRecord, recordHeader } from "./define.js";

export const projectionSchema = z.strictObject({
  adapter: z.string().min(1).max(255),
  input_artifacts: z.array(labelSchema),
  config: jsonObjectSchema,
  config_fingerprint: sha256HexSchema,
});
export type Projection = z.infer<typeof projectionSchema>;

export const manifestDefinition = defineRecord({
  name: "manifest",
  version: 1,
  description: "A build's content: pipeline, pipeline fingerprint, root tree oid and projections.",
  schema: z.strictObject({
    ...recordHeader("manifest", 1),
    pipeline: refSegmentSchema,
    pipeline_fingerprint: sha256HexSchema,
    root: oidSchema,
    projections: z.record(z.string().min(1).max(255), projectionSchema),
  }),
  example: {
    type: "manifest",
    schema_version: 1,
    pipeline: "main",
    pipeline_fingerprint: "18ac3e7343f016890c510e93f935261169d9e3f565436429830faf0934f4f8e4",
    root: "3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d",
    projections: {
      site: {
        adapter: "files",
        input_artifacts: ["episodes/2026-11-21.md"],
        config: { base: "/" },
        config_fingerprint: "2e7d2c03a9507ae265ecf5b5356885a53393a2029d241394997265a1a25aefc6",
      },
    },
  },
});

export const manifestSchema = manifestDefinition.schema;
export type Manifest = z.infer<typeof manifestSchema>;
