/**
 * How a versioned record schema is declared, and how any of them is parsed.
 * Every persisted record and every --json document carries a literal `type` and an integer
 * `schema_version`. Readers accept versions up to the current one and refuse newer ones.
 */
import { z } from "zod";
import { SnapError } from "../errors.js";

export interface RecordDefinition<Name extends string = string, S extends z.ZodType = z.ZodType> {
  /** Registry name; always equal to the record's `type`. */
  readonly name: Name;
  /** The newest schema_version this package reads and writes. */
  readonly version: number;
  readonly description: string;
  readonly schema: S;
  /** A valid instance, used by tests and the docs. */
  readonly example: z.input<S>;
}

const definitionsBySchema = new WeakMap<z.ZodType, RecordDefinition>();

/** The `type` and `schema_version` fields every record starts with. */
export function recordHeader<Name extends string>(type: Name, version: number) {
  return {
    type: z.literal(type),
    schema_version: z.int().min(1).max(version),
  };
}

/**
 * Declare a versioned record: `schema` must be an object schema built on `recordHeader(name,
 * version)`. The definition is remembered so `parseVersioned(schema, value)` knows its
 * name and current version.
 */
export function defineRecord<const Name extends string, S extends z.ZodType>(
  definition: RecordDefinition<Name, S>,
): RecordDefinition<Name, S> {
  const schema = definition.schema.meta({ title: definition.name, description: definition.description }) as S;
  const out = { ...definition, schema };
  definitionsBySchema.set(schema, out as RecordDefinition);
  return out;
}

/** The definition a registered schema was declared with, or undefined. */
export function definitionOf(schema: z.ZodType): RecordDefinition | undefined {
  return definitionsBySchema.get(schema);
}

const MAX_ISSUES = 20;

/** zod issues as plain JSON for SnapError data: `{path: "a.b.0", code, message}`. */
export function summarizeIssues(issues: readonly z.core.$ZodIssue[]): { path: string; code: string; message: string }[] {
  return issues.slice(0, MAX_ISSUES).map((issue) => ({
    path: issue.path.map((p) => String(p)).join("."),
    code: issue.code,
    message: issue.message,
  }));
}

/**
 * Parse `value` with a registered record schema. Throws SnapError
 * `schema_version_unsupported` (data: type, found, supported) when the record was written by
 * a newer snap, and `schema_invalid` (data: type, issues) when it is malformed.
 */
export function parseVersioned<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const definition = definitionsBySchema.get(schema);
  if (definition === undefined) {
    throw new SnapError("internal", "parseVersioned() was given a schema that was not declared with defineRecord()");
  }
  const found = typeof value === "object" && value !== null ? (value as { schema_version?: unknown }).schema_version : undefined;
  if (typeof found === "number" && Number.isInteger(found) && found > definition.version) {
    throw new SnapError(
      "schema_version_unsupported",
      `${definition.name} has schema_version ${found}; this snap reads up to ${definition.version}`,
      {
        data: { type: definition.name, found, supported: definition.version },
        hint: "upgrade snap to read records written by a newer version",
      },
    );
  }
  const result = schema.safeParse(value);
  if (!result.success) {
    const issues = summarizeIssues(result.error.issues);
    const first = issues[0];
    throw new SnapError(
      "schema_invalid",
      `invalid ${definition.name}: ${first === undefined ? "no details" : `${first.path === "" ? "(root)" : first.path}: ${first.message}`}` +
        (result.error.issues.length > 1 ? ` (+${result.error.issues.length - 1} more)` : ""),
      { data: { type: definition.name, issues, issue_count: result.error.issues.length }, cause: result.error },
    );
  }
  return result.data;
}
