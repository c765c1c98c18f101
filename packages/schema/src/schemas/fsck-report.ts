/** `fsck_report`: `snap fsck --json`: every object hash, every reachable link, every ref. */
import { z } from "zod";
import { oidSchema } from "./common.js";
import { defineRecord, recordHeader } from "./define.js";
import { corruptObjectSchema } from "./verify-report.js";

export const missingObjectSchema = z.object({
  oid: oidSchema,
  /** The object or ref that points at the missing object. */
  referenced_by: z.string().min(1),
});

export const danglingRefSchema = z.object({
  ref: z.string().min(1),
  /** The value the ref holds (an oid, or the raw text when it is not one). */
  target: z.string(),
  reason: z.enum(["missing_object", "invalid_value", "wrong_type", "broken_symref"]),
});

export const fsckReportDefinition = defineRecord({
  name: "fsck_report",
  version: 1,
  description: "snap fsck --json: objects checked, corrupt and missing objects, and refs that point nowhere valid.",
  schema: z
    .object({
      ...recordHeader("fsck_report", 1),
      ok: z.boolean(),
      objects_checked: z.int().min(0),
      corrupt: z.array(corruptObjectSchema),
      missing: z.array(missingObjectSchema),
      dangling_refs: z.array(danglingRefSchema),
    })
    .superRefine((report, ctx) => {
      const clean = report.corrupt.length === 0 && report.missing.length === 0 && report.dangling_refs.length === 0;
      if (report.ok !== clean) {
        ctx.addIssue({ code: "custom", path: ["ok"], message: "ok must be true exactly when nothing is corrupt, missing or dangling" });
      }
    }),
  example: {
    type: "fsck_report",
    schema_version: 1,
    ok: false,
    objects_checked: 120,
    corrupt: [],
    missing: [{ oid: "2e7d2c03a9507ae265ecf5b5356885a53393a2029d241394997265a1a25aefc6", referenced_by: "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb" }],
    dangling_refs: [{ ref: "refs/tags/v1", target: "3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d", reason: "missing_object" }],
  },
});

export const fsckReportSchema = fsckReportDefinition.schema;
export type FsckReport = z.infer<typeof fsckReportSchema>;
