/** `store_config`: `.snap/config.json`, written once by `snap init`. */
import { z } from "zod";
import { timestampSchema } from "./common.js";
import { defineRecord, recordHeader } from "./define.js";

/** The on-disk layout version of a `.snap/` store this package understands. */
export const STORE_FORMAT_VERSION = 1;

export const storeConfigDefinition = defineRecord({
  name: "store_config",
  version: 1,
  description: "A store's config.json: on-disk format version, store id (uuid) and creation time.",
  schema: z.strictObject({
    ...recordHeader("store_config", 1),
    format_version: z.int().min(1),
    store_id: z.uuid(),
    created_at: timestampSchema,
  }),
  example: {
    type: "store_config",
    schema_version: 1,
    format_version: 1,
    store_id: "0b6f4a3e-8d5c-4e1a-9f27-3c2d1b0a9e8f",
    created_at: "2026-11-22T02:30:00.000Z",
  },
});

export const storeConfigSchema = storeConfigDefinition.schema;
export type StoreConfig = z.infer<typeof storeConfigSchema>;
