/**
 * `tree`: one directory level of a manifest's label space. Entries are sorted by name
 * (UTF-16 code units, the order canonical JSON uses for keys) with no duplicates, so a
 * manifest with a million labels and one change writes O(depth) new trees.
 */
import { z } from "zod";
import { entryNameSchema, oidSchema } from "./common.js";
import { defineRecord, recordHeader } from "./define.js";

export const treeEntrySchema = z.strictObject({
  name: entryNameSchema,
  kind: z.enum(["artifact", "tree"]),
  oid: oidSchema,
});
export type TreeEntry = z.infer<typeof treeEntrySchema>;

export const treeDefinition = defineRecord({
  name: "tree",
  version: 1,
  description: "One level of the label tree: entries sorted by name, each an artifact or a subtree.",
  schema: z
    .strictObject({
      ...recordHeader("tree", 1),
      entries: z.array(treeEntrySchema),
    })
    .superRefine((tree, ctx) => {
      for (let i = 1; i < tree.entries.length; i++) {
        const prev = tree.entries[i - 1]!.name;
        const name = tree.entries[i]!.name;
        if (!(prev < name)) {
          ctx.addIssue({
            code: "custom",
            path: ["entries", i, "name"],
            message: prev === name ? `duplicate entry name "${name}"` : `entries are not sorted: "${prev}" before "${name}"`,
          });
        }
      }
    }),
  example: {
    type: "tree",
    schema_version: 1,
    entries: [
      { name: "episodes", kind: "tree", oid: "3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d" },
      { name: "index.json", kind: "artifact", oid: "2e7d2c03a9507ae265ecf5b5356885a53393a2029d241394997265a1a25aefc6" },
    ],
  },
});

export const treeSchema = treeDefinition.schema;
export type Tree = z.infer<typeof treeSchema>;
