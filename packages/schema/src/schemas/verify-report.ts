/** `verify_report`: the result of re-hashing objects in an object store. */
import { z } from "zod";
import { oidSchema } from "./common.js";
import { defineRecord, recordHeader } from "./define.js";

export const corruptObjectSchema = z.object({
  oid: oidSchema,
  /** What the bytes actually hash to; null when they could not be read. */
  actual_oid: oidSchema.nullable(),
  /** Store-relative location, when the backend has one. */
  path: z.string().optional(),
});
export type CorruptObject = z.infer<typeof corruptObjectSchema>;

export const verifyReportDefinition = defineRecord({
  name: "verify_report",
  version: 1,
  description: "Object-store verification: objects and bytes re-hashed, and every object whose bytes do not match its oid.",
  schema: z
    .object({
      ...recordHeader("verify_report", 1),
      ok: z.boolean(),
      objects_checked: z.int().min(0),
      bytes_checked: z.int().min(0),
      corrupt: z.array(corruptObjectSchema),
      /**
       * Containers the backend could not read (fs backend: packs whose header, footer or
       * index is damaged; their objects could not be listed or checked). Present only when
       * there are some.
       */
      damaged_packs: z.array(z.object({ pack: z.string().min(1), reason: z.string() })).optional(),
    })
    .superRefine((report, ctx) => {
      if (report.ok !== (report.corrupt.length === 0 && (report.damaged_packs ?? []).length === 0)) {
        ctx.addIssue({ code: "custom", path: ["ok"], message: "ok must be true exactly when nothing is corrupt or damaged" });
      }
    }),
  example: {
    type: "verify_report",
    schema_version: 1,
    ok: false,
    objects_checked: 3,
    bytes_checked: 1024,
    corrupt: [{ oid: "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb", actual_oid: "3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d", path: "objects/ca/978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb" }],
  },
});

export const verifyReportSchema = verifyReportDefinition.schema;
export type VerifyReport = z.infer<typeof verifyReportSchema>;
