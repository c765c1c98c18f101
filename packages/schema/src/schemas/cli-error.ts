/**
 * `cli_error`: the one document `snap … --json` prints on failure. `code` is a string rather
 * than an enum of today's codes so that an older reader can still read a newer snap's errors.
 */
import { z } from "zod";
import { isSnapError, type SnapErrorJSON } from "../errors.js";
import { defineRecord, recordHeader } from "./define.js";

export const cliErrorDefinition = defineRecord({
  name: "cli_error",
  version: 1,
  description: "The --json error envelope: ok false and the error's code, message, hint and data.",
  schema: z.object({
    ...recordHeader("cli_error", 1),
    ok: z.literal(false),
    error: z.object({
      code: z.string().regex(/^[a-z][a-z0-9_]*$/, "expected a snake_case error code"),
      message: z.string(),
      hint: z.string().optional(),
      data: z.record(z.string(), z.unknown()).optional(),
    }),
  }),
  example: {
    type: "cli_error",
    schema_version: 1,
    ok: false,
    error: {
      code: "ref_expect_mismatch",
      message: "refs/heads/main moved (expected 1a2b…, found 3c4d…)",
      hint: "re-run the build on top of the new head",
      data: { ref: "refs/heads/main" },
    },
  },
});

export const cliErrorSchema = cliErrorDefinition.schema;
export type CliError = z.infer<typeof cliErrorSchema>;

/**
 * The --json envelope for anything thrown: a SnapError keeps its code, message, hint and
 * data; anything else becomes `internal` (its message kept, never a stack).
 */
export function cliErrorOf(err: unknown): CliError {
  let error: SnapErrorJSON;
  if (isSnapError(err)) {
    error = err.toJSON();
  } else {
    error = { code: "internal", message: err instanceof Error ? err.message : String(err) };
  }
  return { type: "cli_error", schema_version: 1, ok: false, error };
}
