/**
 * `bench_results`: what `pnpm bench` writes. Each row is a measurement, the anchor it is
 * compared against (measured in the same run), their ratio, and the target ratio.
 */
import { z } from "zod";
import { timestampSchema } from "./common.js";
import { defineRecord, recordHeader } from "./define.js";

export const benchTargetSchema = z.object({
  /** `<=`: ratio must not exceed `ratio` (cost); `>=`: must reach it (throughput). */
  op: z.enum(["<=", ">="]),
  ratio: z.number().positive(),
});

export const benchRowSchema = z.object({
  name: z.string().min(1),
  value: z.number(),
  unit: z.string().min(1),
  /** Name of the anchor row or measurement this one is compared to; null for anchors themselves. */
  anchor: z.string().min(1).nullable(),
  ratio: z.number().nullable(),
  target: benchTargetSchema.nullable(),
  /** null when there is no target. */
  pass: z.boolean().nullable(),
});
export type BenchRow = z.infer<typeof benchRowSchema>;

export const benchResultsDefinition = defineRecord({
  name: "bench_results",
  version: 1,
  description: "Benchmark results: rows of value, unit, anchor, ratio to the anchor, target ratio and pass.",
  schema: z.object({
    ...recordHeader("bench_results", 1),
    created_at: timestampSchema,
    environment: z
      .object({ node: z.string(), platform: z.string(), arch: z.string(), cpus: z.int().min(0) })
      .partial()
      .optional(),
    rows: z.array(benchRowSchema),
  }),
  example: {
    type: "bench_results",
    schema_version: 1,
    created_at: "2026-11-22T03:00:00.000Z",
    environment: { node: "v20.20.2", platform: "linux", arch: "x64", cpus: 2 },
    rows: [
      { name: "sha256 anchor", value: 870, unit: "MB/s", anchor: null, ratio: null, target: null, pass: null },
      {
        name: "object put 64 MiB",
        value: 610,
        unit: "MB/s",
        anchor: "sha256 anchor",
        ratio: 0.7,
        target: { op: ">=", ratio: 0.5 },
        pass: true,
      },
    ],
  },
});

export const benchResultsSchema = benchResultsDefinition.schema;
export type BenchResults = z.infer<typeof benchResultsSchema>;
